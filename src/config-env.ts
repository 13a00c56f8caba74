/**
 * Reading typed settings from the environment, shared by `config.ts` and the feature configs it
 * assembles (`metrics/metrics-config.ts`, `export/export-config.ts`), so none of them imports `config.ts`.
 */

/** A configuration error: printed at start-up, the process exits without serving. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** An integer setting within [min, max]; unset or empty gives the fallback. */
export function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  }
  return value;
}

/** A `true`/`false` setting; unset or empty gives the fallback. */
export function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${name} must be true or false, got '${raw}'`);
  return raw === 'true';
}

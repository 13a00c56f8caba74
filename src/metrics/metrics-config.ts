import { bool, ConfigError } from '../config-env.js';

/** Where `/metrics` is served and who may read it (README "Metrics"). */
export interface MetricsConfig {
  enabled: boolean;
  /** Static Bearer token for the scraper (at least 32 characters); on the main port an admin access token works too. */
  token?: string;
  /** A port of its own for `/metrics` (then not served on the main port); unset: the main port, protected. */
  port?: number;
  /** Address the metrics port binds to (default 127.0.0.1). */
  host: string;
}

/** METRICS_ENABLED, METRICS_TOKEN, METRICS_PORT, METRICS_HOST (called by `loadConfig`). */
export function loadMetricsConfig(env: NodeJS.ProcessEnv): MetricsConfig {
  const token = env.METRICS_TOKEN || undefined;
  // A guessable token would expose the volumes the metrics show; 32 characters is e.g. `openssl rand -hex 16`.
  if (token !== undefined && !/^[A-Za-z0-9\-._~+/]{32,}=*$/.test(token)) throw new ConfigError('METRICS_TOKEN must be at least 32 characters of A-Z a-z 0-9 - . _ ~ + / (e.g. openssl rand -hex 32)');
  const port = env.METRICS_PORT ? portOf(env.METRICS_PORT) : undefined;
  return { enabled: bool(env, 'METRICS_ENABLED', true), ...(token ? { token } : {}), ...(port !== undefined ? { port } : {}), host: env.METRICS_HOST || '127.0.0.1' };
}

function portOf(raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`METRICS_PORT must be an integer between 1 and 65535, got '${raw}'`);
  return port;
}

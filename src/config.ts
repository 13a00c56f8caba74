import path from 'node:path';

/** Everything FhirGate can be configured with; built from the environment once, in `main.ts`. */
export interface Config {
  port: number;
  /** Origin clients see, without trailing slash (e.g. https://fhir.example.org). */
  publicUrl: string;
  /** `publicUrl` + `/fhir`: the FHIR base URL. */
  fhirBaseUrl: string;
  /** Folder of the embedded store. */
  dataDir: string;
  /** MongoDB connection string; unset selects the embedded store. */
  mongodbUri?: string;
  logLevel: string;
  /** Largest accepted request body in bytes (413 above). */
  maxBodyBytes: number;
  /** Default and maximum page size of history (and later search) bundles. */
  defaultPageSize: number;
  maxPageSize: number;
  /** Folders of the shipped profiles and terminology. */
  profilesDir: string;
  terminologyDir: string;
}

/** A configuration error: printed at start-up, the process exits without serving. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  }
  return value;
}

/**
 * Reads and validates the configuration. All errors are reported at once, with the variable's name.
 * @param env the environment (the process's in production, a plain object in tests)
 * @param rootDir the project root, for the default `profiles/` and `terminology/` folders
 */
export function loadConfig(env: NodeJS.ProcessEnv, rootDir: string): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const publicUrl = (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(publicUrl);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an absolute http(s) URL, got '${publicUrl}'`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.search || parsed.hash) {
    throw new ConfigError(`PUBLIC_URL must be an http(s) origin (optionally with a path), got '${publicUrl}'`);
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  }
  const mongodbUri = env.MONGODB_URI || undefined;
  if (mongodbUri && !/^mongodb(\+srv)?:\/\//.test(mongodbUri)) {
    throw new ConfigError(`MONGODB_URI must start with mongodb:// or mongodb+srv://`);
  }
  const defaultPageSize = int(env, 'FHIR_DEFAULT_PAGE_SIZE', 20, 1, 1000);
  const maxPageSize = int(env, 'FHIR_MAX_PAGE_SIZE', 1000, defaultPageSize, 10000);
  return {
    port,
    publicUrl,
    fhirBaseUrl: `${publicUrl}/fhir`,
    dataDir: path.resolve(rootDir, env.DATA_DIR || 'data'),
    mongodbUri,
    logLevel,
    maxBodyBytes: int(env, 'FHIR_MAX_BODY_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    defaultPageSize,
    maxPageSize,
    profilesDir: path.resolve(rootDir, env.PROFILES_DIR || 'profiles'),
    terminologyDir: path.resolve(rootDir, env.TERMINOLOGY_DIR || 'terminology'),
  };
}

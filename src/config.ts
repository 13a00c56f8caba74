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
  /** SMART on FHIR authorization (issue 7). */
  auth: AuthConfig;
}

/** Which issuers' access tokens the FHIR API accepts, and how they are read. */
export interface AuthConfig {
  /** Folder of the embedded authorization server's keys, accounts, clients and sessions (`DATA_DIR/auth`). */
  dir: string;
  /** Whether the embedded authorization server runs (AUTH_EMBEDDED; default: when no AUTH_ISSUER is set). */
  embedded: boolean;
  /** Issuer URL of the embedded server (`PUBLIC_URL/auth`). */
  embeddedIssuer: string;
  /** A trusted external OpenID provider (AUTH_ISSUER, AUTH_JWKS_URL). */
  external?: { issuer: string; jwksUrl: string };
  /** Token claim carrying the role (AUTH_ROLE_CLAIM, default `role`; dotted paths reach into objects). */
  roleClaim: string;
  /** Tolerated clock difference for `exp`/`nbf` (AUTH_CLOCK_SKEW_SECONDS, default 30). */
  clockSkewSeconds: number;
  /** Least time between two JWKS fetches for unknown `kid`s (AUTH_JWKS_COOLDOWN_SECONDS, default 30). */
  jwksCooldownSeconds: number;
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
  const dataDir = path.resolve(rootDir, env.DATA_DIR || 'data');
  const defaultPageSize = int(env, 'FHIR_DEFAULT_PAGE_SIZE', 20, 1, 1000);
  const maxPageSize = int(env, 'FHIR_MAX_PAGE_SIZE', 1000, defaultPageSize, 10000);
  return {
    port,
    publicUrl,
    fhirBaseUrl: `${publicUrl}/fhir`,
    dataDir,
    mongodbUri,
    logLevel,
    maxBodyBytes: int(env, 'FHIR_MAX_BODY_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    defaultPageSize,
    maxPageSize,
    profilesDir: path.resolve(rootDir, env.PROFILES_DIR || 'profiles'),
    terminologyDir: path.resolve(rootDir, env.TERMINOLOGY_DIR || 'terminology'),
    auth: loadAuthConfig(env, publicUrl, dataDir),
  };
}

function httpUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  try {
    if (['http:', 'https:'].includes(new URL(raw).protocol)) return raw;
  } catch {
    // reported below
  }
  throw new ConfigError(`${name} must be an absolute http(s) URL, got '${raw}'`);
}

function loadAuthConfig(env: NodeJS.ProcessEnv, publicUrl: string, dataDir: string): AuthConfig {
  const issuer = httpUrl(env, 'AUTH_ISSUER');
  const jwksUrl = httpUrl(env, 'AUTH_JWKS_URL');
  if (Boolean(issuer) !== Boolean(jwksUrl)) throw new ConfigError('AUTH_ISSUER and AUTH_JWKS_URL must be set together');
  const embeddedRaw = env.AUTH_EMBEDDED || (issuer ? 'false' : 'true');
  if (!['true', 'false'].includes(embeddedRaw)) throw new ConfigError(`AUTH_EMBEDDED must be true or false, got '${embeddedRaw}'`);
  if (embeddedRaw === 'false' && !issuer) throw new ConfigError('AUTH_EMBEDDED=false needs AUTH_ISSUER and AUTH_JWKS_URL: some issuer must be trusted');
  const roleClaim = env.AUTH_ROLE_CLAIM || 'role';
  if (!/^[A-Za-z0-9_:\/.-]{1,200}$/.test(roleClaim)) throw new ConfigError(`AUTH_ROLE_CLAIM must be a claim name, got '${roleClaim}'`);
  return {
    dir: path.join(dataDir, 'auth'),
    embedded: embeddedRaw === 'true',
    embeddedIssuer: `${publicUrl}/auth`,
    ...(issuer && jwksUrl ? { external: { issuer, jwksUrl } } : {}),
    roleClaim,
    clockSkewSeconds: int(env, 'AUTH_CLOCK_SKEW_SECONDS', 30, 0, 300),
    jwksCooldownSeconds: int(env, 'AUTH_JWKS_COOLDOWN_SECONDS', 30, 0, 3600),
  };
}

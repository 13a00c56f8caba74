import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { ConsentSettings } from './consent/gate.js';
import type { ExportSettings } from './export/deps.js';
import type { CryptoSettings } from './crypto/index.js';
import { bool, ConfigError, int } from './config-env.js';
import { MAX_RESPONSE_CHARS } from './fhir/limits.js';
import { loadExportConfig } from './export/export-config.js';
import { loadMetricsConfig, type MetricsConfig } from './metrics/metrics-config.js';

export { ConfigError };
import { loadSubscriptionSettings, type SubscriptionSettings } from './subscriptions/settings.js';

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
  /** Settings of the MongoDB adapter (used when `mongodbUri` is set; issue 5). */
  mongodb: MongoConfig;
  logLevel: string;
  /** Largest accepted request body in bytes (413 above). */
  maxBodyBytes: number;
  /** Most entries of a batch or transaction Bundle (FHIR_MAX_BUNDLE_ENTRIES; more is a 413 before any entry runs). */
  maxBundleEntries: number;
  /** Whether a conditional delete matching several resources deletes them all (true) or is refused with 412 (FHIR_CONDITIONAL_DELETE_MULTIPLE). */
  conditionalDeleteMultiple: boolean;
  /** Which R4 resource types are served besides the core ones (FHIR_RESOURCE_TYPES: `all`, the default, `core`, or a comma-separated list; issue 17). */
  resourceTypes: 'all' | 'core' | readonly string[];
  /** Whether the clinical workflow rules (dispensing, scheduling; issue 17) run on the write path (FHIR_WORKFLOW_RULES, default true). */
  workflowRules: boolean;
  /** Default and maximum page size of history (and later search) bundles. */
  defaultPageSize: number;
  maxPageSize: number;
  /** The most JSON one response (search page, batch-response) may carry before it is a 413 (FHIR_MAX_RESPONSE_BYTES, default 64 MiB). */
  maxResponseBytes: number;
  /** Folders of the shipped profiles and terminology. */
  profilesDir: string;
  /** FHIR_VALIDATION_STRICT: unknown `meta.profile`s and References to disallowed types are rejected, not warned about (issue 20). */
  validationStrict: boolean;
  terminologyDir: string;
  /** SMART on FHIR authorization (issue 7). */
  auth: AuthConfig;
  /** HL7 v2 adapter: MLLP listener, message handling (issue 6). */
  hl7: Hl7Config;
  /** Encryption at rest and encrypted exchange (issue 9; FHIRGATE_KEYS_FILE, FHIRGATE_KEYS, FHIRGATE_ENCRYPTED_ELEMENTS). */
  crypto: CryptoSettings;
  /** Consent gate (issue 8; CONSENT_DEFAULT, CONSENT_DENIED_READ_STATUS, CONSENT_APPLIES_TO_SYSTEM, CONSENT_BREAK_GLASS). */
  consent: ConsentSettings;
  /** Bulk Data $export (issue 18; EXPORT_FILE_TTL_SECONDS, EXPORT_MAX_CONCURRENT, EXPORT_FILE_MAX_RESOURCES). */
  bulkExport: ExportSettings;
  /** Where audit records go (AUDIT_SINK): `store`, hash-chained AuditEvents committed with the data (default), or `log` lines only. */
  auditSink: 'store' | 'log';
  /** Prometheus metrics (issue 18; METRICS_ENABLED, METRICS_TOKEN, METRICS_PORT, METRICS_HOST). */
  metrics: MetricsConfig;
  /** Subscriptions (issue 18; SUBSCRIPTION_ENDPOINTS, SUBSCRIPTION_RETRY_*, SUBSCRIPTION_ERROR_AFTER, SUBSCRIPTION_OFF_AFTER, SUBSCRIPTION_TIMEOUT_MS). */
  subscriptions: SubscriptionSettings;
}

/** Which issuers' access tokens the FHIR API accepts, and how they are read. */
export interface AuthConfig {
  /** Folder of the embedded authorization server's keys, accounts, clients and sessions (`DATA_DIR/auth`). */
  dir: string;
  /** Whether the embedded authorization server runs (AUTH_EMBEDDED; default: when no AUTH_ISSUER is set). */
  embedded: boolean;
  /** Issuer URL of the embedded server (`PUBLIC_URL/auth`). */
  embeddedIssuer: string;
  /** The patient portal (`PUBLIC_URL/portal/`), a SMART app served by FhirGate (issue 21). */
  portalUrl: string;
  /** A trusted external OpenID provider (AUTH_ISSUER, AUTH_JWKS_URL). */
  external?: { issuer: string; jwksUrl: string };
  /** Token claim carrying the role (AUTH_ROLE_CLAIM, default `role`; dotted paths reach into objects). */
  roleClaim: string;
  /** Tolerated clock difference for `exp`/`nbf` (AUTH_CLOCK_SKEW_SECONDS, default 30). */
  clockSkewSeconds: number;
  /** Least time between two JWKS fetches for unknown `kid`s (AUTH_JWKS_COOLDOWN_SECONDS, default 30). */
  jwksCooldownSeconds: number;
  /**
   * Origins whose browser apps may call `/fhir` and the token endpoint (CORS_ALLOWED_ORIGINS: a
   * comma-separated list of origins, or `*`); unset: the origins of the registered clients' redirect URIs.
   */
  corsOrigins?: string[] | '*';
}

/** Read preferences a search may use (MONGODB_SEARCH_READ_PREFERENCE). */
export const READ_PREFERENCES = ['primary', 'primaryPreferred', 'secondary', 'secondaryPreferred', 'nearest'] as const;
export type ReadPreferenceMode = (typeof READ_PREFERENCES)[number];

/** The MongoDB adapter's settings beyond the connection string (TLS and auth options stay in the URI). */
export interface MongoConfig {
  /** Database holding FhirGate's collections (MONGODB_DB, default `fhirgate`). */
  db: string;
  /** TCP connect timeout (MONGODB_CONNECT_TIMEOUT_MS, default 10000). */
  connectTimeoutMs: number;
  /** How long an operation waits for a usable server, e.g. during a failover (MONGODB_SERVER_SELECTION_TIMEOUT_MS, default 10000). */
  serverSelectionTimeoutMs: number;
  /** Where searches read from (MONGODB_SEARCH_READ_PREFERENCE, default `primary`); reads by id and history always use the primary. */
  searchReadPreference: ReadPreferenceMode;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

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
    maxBundleEntries: int(env, 'FHIR_MAX_BUNDLE_ENTRIES', 1000, 1, 100_000),
    conditionalDeleteMultiple: bool(env, 'FHIR_CONDITIONAL_DELETE_MULTIPLE', false),
    workflowRules: bool(env, 'FHIR_WORKFLOW_RULES', true),
    resourceTypes: resourceTypesSetting(env.FHIR_RESOURCE_TYPES),
    defaultPageSize,
    maxPageSize,
    maxResponseBytes: int(env, 'FHIR_MAX_RESPONSE_BYTES', MAX_RESPONSE_CHARS, 65_536, 1024 * 1024 * 1024),
    profilesDir: path.resolve(rootDir, env.PROFILES_DIR || 'profiles'),
    validationStrict: bool(env, 'FHIR_VALIDATION_STRICT', false),
    terminologyDir: path.resolve(rootDir, env.TERMINOLOGY_DIR || 'terminology'),
    auth: loadAuthConfig(env, publicUrl, dataDir),
    hl7: loadHl7Config(env),
    crypto: loadCryptoConfig(env, rootDir, dataDir),
    mongodb: loadMongoConfig(env),
    consent: loadConsentConfig(env),
    auditSink: auditSinkOf(env),
    bulkExport: loadExportConfig(env, dataDir),
    metrics: loadMetricsConfig(env),
    subscriptions: loadSubscriptionSettings(env, (message) => new ConfigError(message)),
  };
}


function auditSinkOf(env: NodeJS.ProcessEnv): 'store' | 'log' {
  // `store` by default: issue 8 asks for a durable, tamper-evident trail; `log` is for deployments that ship audit elsewhere.
  const sink = env.AUDIT_SINK || 'store';
  if (sink !== 'store' && sink !== 'log') throw new ConfigError(`AUDIT_SINK must be store or log, not '${sink}'`);
  return sink;
}

function loadConsentConfig(env: NodeJS.ProcessEnv): ConsentSettings {
  const defaultPolicy = env.CONSENT_DEFAULT || 'opt-out';
  if (defaultPolicy !== 'opt-out' && defaultPolicy !== 'opt-in') throw new ConfigError(`CONSENT_DEFAULT must be opt-out or opt-in, not '${defaultPolicy}'`);
  const status = env.CONSENT_DENIED_READ_STATUS || '404';
  if (status !== '403' && status !== '404') throw new ConfigError(`CONSENT_DENIED_READ_STATUS must be 403 or 404, not '${status}'`);
  return {
    defaultPolicy,
    deniedReadStatus: status === '403' ? 403 : 404,
    appliesToSystem: bool(env, 'CONSENT_APPLIES_TO_SYSTEM', false),
    breakGlass: bool(env, 'CONSENT_BREAK_GLASS', true),
  };
}

function loadMongoConfig(env: NodeJS.ProcessEnv): MongoConfig {
  const db = env.MONGODB_DB || 'fhirgate';
  // https://www.mongodb.com/docs/manual/reference/limits/#naming-restrictions
  if (!/^[^/\\. "$*<>:|?\u0000]{1,63}$/.test(db)) throw new ConfigError(`MONGODB_DB must be a MongoDB database name (1-63 characters, none of /\\. "$*<>:|?), got '${db}'`);
  const searchReadPreference = (env.MONGODB_SEARCH_READ_PREFERENCE || 'primary') as ReadPreferenceMode;
  if (!READ_PREFERENCES.includes(searchReadPreference)) {
    throw new ConfigError(`MONGODB_SEARCH_READ_PREFERENCE must be one of ${READ_PREFERENCES.join(', ')}, got '${searchReadPreference}'`);
  }
  return {
    db,
    connectTimeoutMs: int(env, 'MONGODB_CONNECT_TIMEOUT_MS', 10_000, 50, 600_000),
    serverSelectionTimeoutMs: int(env, 'MONGODB_SERVER_SELECTION_TIMEOUT_MS', 10_000, 50, 600_000),
    searchReadPreference,
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
    portalUrl: `${publicUrl}/portal/`,
    ...(issuer && jwksUrl ? { external: { issuer, jwksUrl } } : {}),
    roleClaim,
    clockSkewSeconds: int(env, 'AUTH_CLOCK_SKEW_SECONDS', 30, 0, 300),
    jwksCooldownSeconds: int(env, 'AUTH_JWKS_COOLDOWN_SECONDS', 30, 0, 3600),
    ...corsOriginsOf(env),
  };
}

/** CORS_ALLOWED_ORIGINS: `*`, or origins (scheme://host[:port]) separated by commas. */
function corsOriginsOf(env: NodeJS.ProcessEnv): { corsOrigins?: string[] | '*' } {
  const raw = env.CORS_ALLOWED_ORIGINS?.trim();
  if (!raw) return {};
  if (raw === '*') return { corsOrigins: '*' };
  const origins = raw.split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) throw new ConfigError(`CORS_ALLOWED_ORIGINS must list origins like https://app.example.org (no path), got '${origin}'`);
  }
  return { corsOrigins: origins };
}

/**
 * The key ring's source: FHIRGATE_KEYS_FILE (a JWK set file) or FHIRGATE_KEYS (the JWK set
 * itself), never both; neither: `DATA_DIR/crypto/keys.json`, generated on the first start.
 * FHIRGATE_ENCRYPTED_ELEMENTS replaces the default sensitive elements with a JSON object of
 * FHIRPath expressions per type (`{}`: none); the expressions are checked in `crypto/`.
 */
function loadCryptoConfig(env: NodeJS.ProcessEnv, rootDir: string, dataDir: string): CryptoSettings {
  const file = env.FHIRGATE_KEYS_FILE || undefined;
  const inline = env.FHIRGATE_KEYS || undefined;
  if (file && inline) throw new ConfigError('Set FHIRGATE_KEYS_FILE or FHIRGATE_KEYS, not both');
  let encryptedElements: Record<string, string[]> | undefined;
  const elements = env.FHIRGATE_ENCRYPTED_ELEMENTS;
  if (elements !== undefined && elements !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(elements);
    } catch {
      throw new ConfigError('FHIRGATE_ENCRYPTED_ELEMENTS must be JSON: {"Patient": ["Patient.telecom", ...], ...}');
    }
    const ok = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!ok) throw new ConfigError('FHIRGATE_ENCRYPTED_ELEMENTS must map resource types to arrays of FHIRPath expressions');
    encryptedElements = parsed as Record<string, string[]>;
  }
  const cryptoDir = path.join(dataDir, 'crypto');
  return {
    keys: file ? { kind: 'file', path: path.resolve(rootDir, file) } : inline ? { kind: 'env', json: inline } : { kind: 'generated', path: path.join(cryptoDir, 'keys.json') },
    ...(encryptedElements ? { encryptedElements } : {}),
    controlSocket: path.join(cryptoDir, 'control.sock'),
    recipientsFile: path.join(dataDir, 'exchange', 'recipients.json'),
  };
}

/** HL7 v2 adapter settings (issue 6); see README "HL7 v2". */
export interface Hl7Config {
  mllpEnabled: boolean;
  mllpHost: string;
  mllpPort: number;
  /** Comma-separated addresses and CIDR ranges allowed to connect over MLLP. */
  allow: string;
  maxBytes: number;
  idleTimeoutMs: number;
  frameTimeoutMs: number;
  maxConnections: number;
  /** MLLP over TLS (issue 7); absent: plain TCP. */
  tls?: Hl7TlsConfig;
  processingIds: string[];
  identifierSystems: Record<string, string>;
  defaultIdentifierSystem: string;
  /** A known MSH-10 with different content (issue 19): applied as a new message, or answered AE (HL7_CONTROL_ID_REUSE). */
  controlIdReuse: 'apply' | 'reject';
}

/** MLLP over TLS: PEM contents read at start-up (HL7_MLLP_TLS_*). */
export interface Hl7TlsConfig {
  cert: Buffer;
  key: Buffer;
  /** CA of the senders' client certificates; when set, a verified client certificate is required. */
  ca?: Buffer;
  /** Client certificate subject CNs allowed (HL7_MLLP_TLS_ALLOWED_SUBJECTS); absent: any the CA signed. */
  allowedSubjects?: string[];
}

/** Reads HL7_MLLP_TLS_CERT/KEY/CA once, so a bad path or PEM stops the start, not the first sender. */
function loadHl7TlsConfig(env: NodeJS.ProcessEnv): Hl7TlsConfig | undefined {
  const certPath = env.HL7_MLLP_TLS_CERT || undefined;
  const keyPath = env.HL7_MLLP_TLS_KEY || undefined;
  const caPath = env.HL7_MLLP_TLS_CA || undefined;
  const subjects = (env.HL7_MLLP_TLS_ALLOWED_SUBJECTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (Boolean(certPath) !== Boolean(keyPath)) throw new ConfigError('HL7_MLLP_TLS_CERT and HL7_MLLP_TLS_KEY must be set together');
  if (!certPath || !keyPath) {
    if (caPath || subjects.length) throw new ConfigError('HL7_MLLP_TLS_CA and HL7_MLLP_TLS_ALLOWED_SUBJECTS need HL7_MLLP_TLS_CERT and HL7_MLLP_TLS_KEY');
    return undefined;
  }
  // Subjects can only be checked on certificates the server asked for and verified.
  if (subjects.length && !caPath) throw new ConfigError('HL7_MLLP_TLS_ALLOWED_SUBJECTS needs HL7_MLLP_TLS_CA (client certificates)');
  const read = (name: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`${name}: cannot read '${file}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const config: Hl7TlsConfig = { cert: read('HL7_MLLP_TLS_CERT', certPath), key: read('HL7_MLLP_TLS_KEY', keyPath) };
  if (caPath) config.ca = read('HL7_MLLP_TLS_CA', caPath);
  if (subjects.length) config.allowedSubjects = subjects;
  try {
    tls.createSecureContext({ cert: config.cert, key: config.key, ca: config.ca });
  } catch (err) {
    throw new ConfigError(`HL7_MLLP_TLS_CERT/KEY/CA must be PEM certificates and a matching private key: ${(err as Error).message}`);
  }
  return config;
}

function loadHl7Config(env: NodeJS.ProcessEnv): Hl7Config {
  const allow = env.HL7_MLLP_ALLOW || '127.0.0.0/8,::1';
  for (const item of allow.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!/^([0-9.]+|[0-9a-fA-F:]+)(\/\d{1,3})?$/.test(item)) throw new ConfigError(`HL7_MLLP_ALLOW must list IP addresses or CIDR ranges, got '${item}'`);
  }
  let identifierSystems: Record<string, string> = {};
  if (env.HL7_IDENTIFIER_SYSTEMS) {
    try {
      identifierSystems = JSON.parse(env.HL7_IDENTIFIER_SYSTEMS) as Record<string, string>;
    } catch {
      throw new ConfigError('HL7_IDENTIFIER_SYSTEMS must be a JSON object of assigning authority → identifier system URI');
    }
    if (!identifierSystems || typeof identifierSystems !== 'object' || Object.values(identifierSystems).some((v) => typeof v !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(v))) {
      throw new ConfigError('HL7_IDENTIFIER_SYSTEMS must map each assigning authority to an absolute URI');
    }
  }
  const defaultIdentifierSystem = env.HL7_IDENTIFIER_SYSTEM_DEFAULT || 'urn:fhirgate:hl7v2:authority:{authority}';
  if (!defaultIdentifierSystem.includes('{authority}')) throw new ConfigError('HL7_IDENTIFIER_SYSTEM_DEFAULT must contain {authority}');
  const processingIds = (env.HL7_PROCESSING_IDS || 'P,T').split(',').map((s) => s.trim()).filter(Boolean);
  if (!processingIds.every((p) => ['P', 'T', 'D'].includes(p))) throw new ConfigError(`HL7_PROCESSING_IDS must list P, T and/or D, got '${env.HL7_PROCESSING_IDS}'`);
  const controlIdReuse = env.HL7_CONTROL_ID_REUSE || 'apply';
  if (controlIdReuse !== 'apply' && controlIdReuse !== 'reject') throw new ConfigError(`HL7_CONTROL_ID_REUSE must be apply or reject, got '${controlIdReuse}'`);
  return {
    mllpEnabled: bool(env, 'HL7_MLLP_ENABLED', true),
    mllpHost: env.HL7_MLLP_HOST || '0.0.0.0',
    mllpPort: int(env, 'HL7_MLLP_PORT', 2575, 0, 65535),
    allow,
    maxBytes: int(env, 'HL7_MAX_MESSAGE_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    idleTimeoutMs: int(env, 'HL7_MLLP_IDLE_TIMEOUT_MS', 300_000, 100, 86_400_000),
    frameTimeoutMs: int(env, 'HL7_MLLP_FRAME_TIMEOUT_MS', 30_000, 50, 3_600_000),
    maxConnections: int(env, 'HL7_MLLP_MAX_CONNECTIONS', 256, 1, 100_000),
    tls: loadHl7TlsConfig(env),
    processingIds,
    identifierSystems,
    defaultIdentifierSystem,
    controlIdReuse,
  };
}

/** FHIR_RESOURCE_TYPES: `all` (default), `core`, or a comma-separated list of type names (checked against R4 in `app.ts`). */
function resourceTypesSetting(value: string | undefined): 'all' | 'core' | readonly string[] {
  const v = (value ?? '').trim();
  if (v === '' || v === 'all') return 'all';
  if (v === 'core') return 'core';
  const types = v.split(',').map((t) => t.trim()).filter(Boolean);
  const bad = types.find((t) => !/^[A-Z][A-Za-z]+$/.test(t));
  if (bad) throw new ConfigError(`FHIR_RESOURCE_TYPES must be all, core or a comma-separated list of resource types, not '${bad}'`);
  return types;
}

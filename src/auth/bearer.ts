import { decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isRole } from './roles.js';
import { ACCEPTED_ALGORITHMS } from './jwks.js';
import { createTokenCache, DEFAULT_TOKEN_CACHE_SIZE } from './token-cache.js';

/** An issuer whose access tokens FhirGate accepts: the embedded server, an external OpenID provider, or both. */
export interface TrustedIssuer {
  issuer: string;
  keys: JWTVerifyGetKey;
  /** Claim carrying the role(s), e.g. `role`; a dotted path (`realm_access.roles`) reaches into objects. */
  roleClaim: string;
}

/** What a verified access token says about the caller: the request-context fields it fills. */
export interface Principal {
  authenticated: true;
  subject?: string;
  actor?: string;
  role?: string;
  roles: string[];
  clientId?: string;
  scopes: string[];
  patient?: string;
  /** v3 PurposeOfUse codes of the `purpose_of_use` claim, when the issuer sets one (consent, break-glass). */
  purposeOfUse?: string[];
}

/** A token that failed verification; `description` goes into `WWW-Authenticate` (RFC 6750 §3). */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

export type TokenVerifier = (token: string) => Promise<Principal>;

/**
 * The longest an access token may live (issue 15): `iat` must be present and not in the future, and
 * `exp` at most this far from `iat` and from now. A leaked token minted for year 9999 is worthless.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

/**
 * Verifies SMART access tokens (JWTs): signature against the issuer's keys (RS256/ES256 only),
 * `iss` among the trusted issuers, `aud` the FHIR base URL, `exp`/`nbf` with a small clock skew.
 * A token that verified is cached by its hash until `exp` (token-cache.ts); revocation is checked
 * on every request, cached or not.
 */
export function createTokenVerifier(options: {
  issuers: readonly TrustedIssuer[];
  audience: string;
  clockSkewSeconds: number;
  /** Whether the token's grant was revoked (the embedded server's `grant_id` claim), checked on every request. */
  isRevoked?: (payload: JWTPayload) => boolean;
  /** How many verified tokens to keep (LRU); 0 verifies every request. Default 10,000. */
  cacheSize?: number;
}): TokenVerifier {
  const size = options.cacheSize ?? DEFAULT_TOKEN_CACHE_SIZE;
  const cache = size > 0 ? createTokenCache({ max: size, clockSkewSeconds: options.clockSkewSeconds }) : undefined;
  // The claims of a cached payload are read once: its Principal (frozen, shared by the token's requests) lives as long as the payload.
  const principals = new WeakMap<JWTPayload, Principal>();
  const principalFor = (payload: JWTPayload): Principal => {
    let principal = principals.get(payload);
    if (!principal) principals.set(payload, (principal = frozenPrincipal(principalOf(payload, options.issuers.find((i) => i.issuer === payload.iss)!.roleClaim))));
    return principal;
  };
  return async (token) => {
    const cached = cache?.get(token);
    if (cached) {
      if (options.isRevoked?.(cached)) throw new InvalidTokenError('The access token has been revoked');
      return principalFor(cached);
    }
    const payload = await verifyToken(token, options);
    if (options.isRevoked?.(payload)) throw new InvalidTokenError('The access token has been revoked');
    cache?.set(token, payload);
    return principalFor(payload);
  };
}

/** A Principal no request can change: the same one answers every request of its token. */
function frozenPrincipal(principal: Principal): Principal {
  Object.freeze(principal.roles);
  Object.freeze(principal.scopes);
  if (principal.purposeOfUse) Object.freeze(principal.purposeOfUse);
  return Object.freeze(principal);
}

/** The full check of a token (signature, issuer, audience, lifetime); its payload when it passes. */
async function verifyToken(token: string, options: { issuers: readonly TrustedIssuer[]; audience: string; clockSkewSeconds: number }): Promise<JWTPayload> {
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    throw new InvalidTokenError('The access token is not a JWT');
  }
  const trusted = options.issuers.find((i) => i.issuer === unverified.iss);
  if (!trusted) throw new InvalidTokenError('The token issuer is not trusted');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, trusted.keys, {
      issuer: trusted.issuer,
      audience: options.audience,
      algorithms: [...ACCEPTED_ALGORITHMS],
      clockTolerance: options.clockSkewSeconds,
      requiredClaims: ['exp', 'iat'],
      // jose refuses an `iat` in the future (beyond the skew) and one older than this.
      maxTokenAge: MAX_TOKEN_LIFETIME_SECONDS,
    }));
  } catch (err) {
    throw new InvalidTokenError(describe(err));
  }
  const now = Math.floor(Date.now() / 1000);
  if (payload.exp! - payload.iat! > MAX_TOKEN_LIFETIME_SECONDS || payload.exp! - now > MAX_TOKEN_LIFETIME_SECONDS + options.clockSkewSeconds) {
    throw new InvalidTokenError(`The access token lives longer than ${MAX_TOKEN_LIFETIME_SECONDS} seconds`);
  }
  return payload;
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'The access token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `The access token's '${err.claim}' claim is not acceptable`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'The access token is signed with an algorithm that is not accepted';
  if (err instanceof errors.JWKSNoMatchingKey) return 'The access token is signed with an unknown key';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'The access token signature is invalid';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JOSEError) return 'The access token could not be verified';
  return 'The access token could not be verified';
}

function claimAt(payload: JWTPayload, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), payload);
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Reads the SMART claims: `scope` (or `scp`), `fhirUser`, `patient`, the role claim, `client_id`/`azp`. */
export function principalOf(payload: JWTPayload, roleClaim: string): Principal {
  const roles = strings(claimAt(payload, roleClaim)).filter(isRole);
  const fhirUser = typeof payload.fhirUser === 'string' ? payload.fhirUser : undefined;
  const patient = typeof payload.patient === 'string' ? payload.patient.replace(/^.*Patient\//, '') : undefined;
  const clientId = [payload.client_id, payload.azp, payload.cid].find((c): c is string => typeof c === 'string');
  return {
    authenticated: true,
    subject: payload.sub,
    actor: fhirUser,
    role: roles[0],
    roles,
    clientId,
    scopes: strings(payload.scope ?? payload.scp),
    patient,
    ...(payload.purpose_of_use !== undefined ? { purposeOfUse: strings(payload.purpose_of_use) } : {}),
  };
}

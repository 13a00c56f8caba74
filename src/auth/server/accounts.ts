import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { isRole, ROLE_TABLE, type Role } from '../roles.js';
import { JsonFile } from './json-file.js';

export interface Account {
  id: string;
  username: string;
  /** argon2id (PHC string). */
  passwordHash: string;
  roles: Role[];
  /** The user's FHIR resource, e.g. `Practitioner/123` or `Patient/7`. */
  fhirUser?: string;
  /** Set for generated one-time passwords: the first sign-in must choose a new one. */
  mustChangePassword?: boolean;
  /** TOTP secret (base32); `confirmed` once the user proved their authenticator with a code. */
  totp?: { secret: string; confirmed: boolean; lastCounter?: number };
  failedLogins: number;
  /** Wrong TOTP codes since the last right one, across sign-ins (issue 15). */
  failedCodes?: number;
  lockedUntil?: string;
}

/** Roles whose users must use a second factor (issue 7); others may enrol. */
export const MFA_ROLES: readonly Role[] = ['admin', 'practitioner'];
/**
 * Failed sign-ins in a row before the account locks, wrong TOTP codes in a row (across sign-ins)
 * before it locks, and for how long.
 */
export const LOCKOUT = { attempts: 5, codes: 10, minutes: 15 } as const;
/** Unknown usernames whose failures are counted too, so that "locked" tells nothing about which accounts exist. */
const MAX_UNKNOWN_TRACKED = 10_000;
export const MIN_PASSWORD_LENGTH = 12;

// OWASP's argon2id baseline (m=19 MiB, t=2, p=1).
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export type SignIn = { ok: true; account: Account } | { ok: false; reason: 'invalid' | 'locked' };

export class AccountError extends Error {
  override name = 'AccountError';
}

export function requiresMfa(account: Account): boolean {
  return account.roles.some((r) => MFA_ROLES.includes(r)) || account.totp?.confirmed === true;
}

/** A random password for first sign-in (never a default one): 20 characters of base64url. */
export function oneTimePassword(): string {
  return randomBytes(15).toString('base64url');
}

/** User accounts of the embedded authorization server, in `<authDir>/accounts.json`. */
export function createAccountStore(authDir: string, clock: () => Date = () => new Date()) {
  const file = new JsonFile<Record<string, Account>>(path.join(authDir, 'accounts.json'), () => ({}));
  const byUsername = (username: string): Account | undefined => Object.values(file.read()).find((a) => a.username === username.toLowerCase());
  const change = (id: string, apply: (a: Account) => void): void =>
    file.update((all) => {
      if (all[id]) apply(all[id]);
    });
  // A hash to verify against for unknown usernames, so timing does not tell which usernames exist.
  const decoy = hash(randomUUID(), ARGON2);
  // Failures of usernames that do not exist, counted like an account's, so the 6th says "locked" alike (issue 15).
  const unknown = new Map<string, { failedLogins: number; lockedUntil?: number }>();
  const lockUntil = (): string => new Date(clock().getTime() + LOCKOUT.minutes * 60_000).toISOString();
  const isLocked = (until: string | number | undefined): boolean => until !== undefined && new Date(until).getTime() > clock().getTime();

  async function signInUnknown(username: string, password: string): Promise<SignIn> {
    const key = username.toLowerCase();
    const entry = unknown.get(key) ?? { failedLogins: 0 };
    if (isLocked(entry.lockedUntil)) return { ok: false, reason: 'locked' };
    if (entry.lockedUntil !== undefined) entry.failedLogins = 0;
    entry.failedLogins += 1;
    entry.lockedUntil = entry.failedLogins >= LOCKOUT.attempts ? Date.parse(lockUntil()) : undefined;
    unknown.delete(key);
    if (unknown.size >= MAX_UNKNOWN_TRACKED) unknown.delete(unknown.keys().next().value!);
    unknown.set(key, entry);
    await verify(await decoy, password).catch(() => false);
    return { ok: false, reason: entry.lockedUntil !== undefined ? 'locked' : 'invalid' };
  }

  return {
    findById: (id: string): Account | undefined => file.read()[id],
    findByUsername: byUsername,
    list: (): Account[] => Object.values(file.read()),

    /** Creates an account; without a password, a one-time password is generated and returned. */
    async create(input: { username: string; roles: string[]; fhirUser?: string; password?: string }): Promise<{ account: Account; password: string }> {
      const username = input.username.trim().toLowerCase();
      if (!/^[a-z0-9._@-]{2,64}$/.test(username)) throw new AccountError('username: 2–64 of a-z 0-9 . _ @ -');
      if (byUsername(username)) throw new AccountError(`user '${username}' exists`);
      const roles = input.roles.filter(isRole);
      if (roles.length === 0 || roles.length !== input.roles.length) throw new AccountError(`roles must be among ${Object.keys(ROLE_TABLE).join(', ')}`);
      if (roles.includes('patient') && !/^Patient\/[A-Za-z0-9.-]{1,64}$/.test(input.fhirUser ?? '')) throw new AccountError('a patient account needs fhirUser Patient/<id>');
      if (input.fhirUser && !/^(Patient|Practitioner)\/[A-Za-z0-9.-]{1,64}$/.test(input.fhirUser)) throw new AccountError('fhirUser must be Patient/<id> or Practitioner/<id>');
      if (input.password !== undefined && input.password.length < MIN_PASSWORD_LENGTH) throw new AccountError(`passwords have at least ${MIN_PASSWORD_LENGTH} characters`);
      const password = input.password ?? oneTimePassword();
      const account: Account = {
        id: randomUUID(),
        username,
        passwordHash: await hash(password, ARGON2),
        roles,
        ...(input.fhirUser ? { fhirUser: input.fhirUser } : {}),
        ...(input.password === undefined ? { mustChangePassword: true } : {}),
        failedLogins: 0,
      };
      file.update((all) => {
        all[account.id] = account;
      });
      return { account, password };
    },

    /**
     * Checks a password; locks the account after `LOCKOUT.attempts` failures in a row. Each attempt
     * is counted as a failure before the (slow) check and forgiven when it succeeds, so concurrent
     * guesses cannot all be checked while the count lags behind (issue 15): the attempt that
     * reaches the limit locks the account up front, and only its own success unlocks it.
     */
    async signIn(username: string, password: string): Promise<SignIn> {
      const account = byUsername(username);
      if (!account) return signInUnknown(username, password);
      let refused = false;
      change(account.id, (a) => {
        if (isLocked(a.lockedUntil)) {
          refused = true;
          return;
        }
        if (a.lockedUntil !== undefined) {
          // A lock that ran out starts a fresh count.
          a.failedLogins = 0;
          delete a.lockedUntil;
        }
        a.failedLogins += 1;
        if (a.failedLogins >= LOCKOUT.attempts) a.lockedUntil = lockUntil();
      });
      if (refused) return { ok: false, reason: 'locked' };
      const valid = await verify(account.passwordHash, password).catch(() => false);
      if (!valid) return { ok: false, reason: file.read()[account.id]?.lockedUntil ? 'locked' : 'invalid' };
      change(account.id, (a) => {
        a.failedLogins = 0;
        delete a.lockedUntil;
      });
      return { ok: true, account: file.read()[account.id] };
    },

    /** Whether the account is locked now (a sign-in in progress stops at its next step). */
    isLocked: (id: string): boolean => isLocked(file.read()[id]?.lockedUntil),

    /** Counts a wrong TOTP code; the account locks after `LOCKOUT.codes` in a row, whatever the sign-ins. Returns whether it is now locked. */
    codeFailed(id: string): boolean {
      change(id, (a) => {
        a.failedCodes = (a.failedCodes ?? 0) + 1;
        if (a.failedCodes >= LOCKOUT.codes) {
          a.lockedUntil = lockUntil();
          a.failedCodes = 0;
        }
      });
      return isLocked(file.read()[id]?.lockedUntil);
    },

    async setPassword(id: string, password: string): Promise<void> {
      if (password.length < MIN_PASSWORD_LENGTH) throw new AccountError(`passwords have at least ${MIN_PASSWORD_LENGTH} characters`);
      const passwordHash = await hash(password, ARGON2);
      change(id, (a) => {
        a.passwordHash = passwordHash;
        delete a.mustChangePassword;
      });
    },

    setTotp: (id: string, totp: Account['totp']): void =>
      change(id, (a) => {
        if (totp) a.totp = totp;
        else delete a.totp;
        delete a.failedCodes;
      }),
    unlock: (id: string): void =>
      change(id, (a) => {
        a.failedLogins = 0;
        delete a.failedCodes;
        delete a.lockedUntil;
      }),
    remove: (id: string): boolean =>
      file.update((all) => {
        const had = id in all;
        delete all[id];
        return had;
      }),
  };
}

export type AccountStore = ReturnType<typeof createAccountStore>;

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountStore, LOCKOUT, requiresMfa } from '../../src/auth/server/accounts.js';
import { checkTotp, currentTotp, newTotpSecret } from '../../src/auth/server/totp.js';

let dir: string;
let now = new Date('2030-01-01T00:00:00Z');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-accounts-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('accounts', () => {
  const store = () => createAccountStore(dir, () => now);

  it('hashes passwords with argon2id and never stores them in clear', async () => {
    const { account, password } = await store().create({ username: 'Ana', roles: ['practitioner'], fhirUser: 'Practitioner/1' });
    expect(account.username).toBe('ana');
    expect(account.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(account.mustChangePassword).toBe(true);
    const file = await readFile(path.join(dir, 'accounts.json'), 'utf8');
    expect(file).not.toContain(password);
    expect((await store().signIn('ana', password)).ok).toBe(true);
    expect((await store().signIn('ANA', password)).ok).toBe(true);
  });

  it(`locks after ${LOCKOUT.attempts} failures in a row, even for the right password, until the lock expires or an admin unlocks`, async () => {
    const { account, password } = await store().create({ username: 'locky', roles: ['pharmacist'] });
    for (let i = 0; i < LOCKOUT.attempts - 1; i++) expect(await store().signIn('locky', 'wrong')).toEqual({ ok: false, reason: 'invalid' });
    expect(await store().signIn('locky', 'wrong')).toEqual({ ok: false, reason: 'locked' });
    expect(await store().signIn('locky', password)).toEqual({ ok: false, reason: 'locked' });
    now = new Date(now.getTime() + (LOCKOUT.minutes + 1) * 60_000);
    expect((await store().signIn('locky', password)).ok).toBe(true);
    for (let i = 0; i < LOCKOUT.attempts; i++) await store().signIn('locky', 'wrong');
    expect((await store().signIn('locky', password)).ok).toBe(false);
    store().unlock(account.id);
    expect((await store().signIn('locky', password)).ok).toBe(true);
  });

  it('answers an unknown user like a wrong password', async () => {
    expect(await store().signIn('nobody', 'whatever')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('requires MFA for admins and practitioners, not for the other roles unless enrolled', async () => {
    const s = store();
    const roles = ['admin', 'practitioner', 'pharmacist', 'receptionist'] as const;
    const made = await Promise.all(roles.map((r) => s.create({ username: `mfa-${r}`, roles: [r] })));
    expect(made.map((m) => requiresMfa(m.account))).toEqual([true, true, false, false]);
  });

  it('refuses bad input: unknown roles, a patient without its Patient, short passwords, duplicates', async () => {
    await expect(store().create({ username: 'x1', roles: ['wizard'] })).rejects.toThrow(/roles/);
    await expect(store().create({ username: 'x2', roles: ['patient'] })).rejects.toThrow(/Patient/);
    await expect(store().create({ username: 'x3', roles: ['patient'], fhirUser: 'Patient/1', password: 'short' })).rejects.toThrow(/at least/);
    await expect(store().create({ username: 'ana', roles: ['admin'] })).rejects.toThrow(/exists/);
  });
});

describe('TOTP', () => {
  it('accepts the current code and one period of drift, once per time step', () => {
    const secret = newTotpSecret();
    const t = Date.parse('2030-01-01T00:00:10Z');
    const step = checkTotp(secret, currentTotp(secret, t), -1, t)!;
    expect(step).toBe(Math.floor(t / 30_000));
    expect(checkTotp(secret, currentTotp(secret, t), step, t)).toBeUndefined();
    expect(checkTotp(secret, currentTotp(secret, t - 30_000), -1, t)).toBe(step - 1);
    expect(checkTotp(secret, currentTotp(secret, t - 90_000), -1, t)).toBeUndefined();
    expect(checkTotp(secret, '12345', -1, t)).toBeUndefined();
  });
});

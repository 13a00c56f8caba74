import { importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCKOUT } from '../../src/auth/server/accounts.js';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../src/auth/bearer.js';
import { currentTotp } from '../../src/auth/server/totp.js';
import { fhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { fixtures, seed } from './fixtures.js';
import { browser } from './support/browser.js';
import { adminApi, authorizationRequest } from './support/oauth.js';

/** Sign-in hardening (issue 15, items 11, 12, 14): lockout that holds under concurrency, TOTP per account, no username oracle, capped token lifetime. */
const APP = 'https://app.example/callback';
let server: TestServer;
let clientId: string;
const admin = (method: string, path: string, body?: unknown) => adminApi(server, method, path, body);
const loginPage = async () => {
  const agent = browser(APP);
  return { agent, page: await agent.go(authorizationRequest(server, clientId, APP, 'openid').url) };
};
const LOCKED = 'locked';

beforeAll(async () => {
  server = await startServer();
  await seed(fhirClient(server.fhirUrl), [fixtures.patient('p1'), fixtures.practitioner('d1')]);
  clientId = (await admin('POST', '/admin/clients', { name: 'App', kind: 'public', redirectUris: [APP], scope: 'openid fhirUser user/*.rs' })).json.client_id;
});
afterAll(() => server.destroy());

describe('password lockout', () => {
  it(`60 concurrent guesses: at most ${LOCKOUT.attempts} are checked, the rest and then the right password are refused as locked`, async () => {
    const { json } = await admin('POST', '/admin/users', { username: 'conc', roles: ['patient'], fhirUser: 'Patient/p1' });
    const pages = await Promise.all(Array.from({ length: 60 }, () => loginPage()));
    const answers = await Promise.all(pages.map(({ agent, page }, i) => agent.submit(page, { username: 'conc', password: i === 59 ? json.oneTimePassword : `wrong ${i}` })));
    const checked = answers.filter((a) => a.html.includes('Wrong username or password'));
    expect(checked.length).toBeLessThanOrEqual(LOCKOUT.attempts);
    expect(answers.filter((a) => a.html.includes(LOCKED)).length).toBeGreaterThanOrEqual(60 - LOCKOUT.attempts);
    const { agent, page } = await loginPage();
    const right = await agent.submit(page, { username: 'conc', password: json.oneTimePassword });
    expect([right.status, right.html.includes(LOCKED)]).toEqual([401, true]);
  });

  it('an unknown username is "locked" after as many failures as an existing one: no username oracle', async () => {
    await admin('POST', '/admin/users', { username: 'real', roles: ['patient'], fhirUser: 'Patient/p1' });
    for (const username of ['real', 'nobody-here']) {
      const seen: string[] = [];
      for (let i = 0; i <= LOCKOUT.attempts; i++) {
        const { agent, page } = await loginPage();
        const answer = await agent.submit(page, { username, password: `wrong ${i}` });
        seen.push(`${answer.status} ${answer.html.includes(LOCKED) ? 'locked' : 'wrong'}`);
      }
      expect([username, seen]).toEqual([username, [...Array(LOCKOUT.attempts - 1).fill('401 wrong'), '401 locked', '401 locked']]);
    }
  });
});

describe('TOTP limits per account', () => {
  it(`${LOCKOUT.codes} wrong codes over several sign-ins lock the account; the right code then fails`, async () => {
    const { json } = await admin('POST', '/admin/users', { username: 'doc', roles: ['practitioner'], fhirUser: 'Practitioner/d1' });
    // First sign-in: enrol the authenticator and choose a password.
    let { agent, page } = await loginPage();
    const enrol = await agent.submit(page, { username: 'doc', password: json.oneTimePassword });
    const secret = /<code>([A-Z2-7]+)<\/code>/.exec(enrol.html)![1];
    const change = await agent.submit(enrol, { code: currentTotp(secret) });
    const password = 'a long enough passphrase';
    await agent.submit(change, { password, repeat: password });
    // Then sign-ins with the right password and wrong codes, fewer per sign-in than the per-sign-in limit.
    let wrong = 0;
    while (wrong < LOCKOUT.codes) {
      ({ agent, page } = await loginPage());
      let totp = await agent.submit(page, { username: 'doc', password });
      expect(totp.html).toContain('Verification code');
      for (let i = 0; i < 3 && wrong < LOCKOUT.codes; i++, wrong++) totp = await agent.submit(totp, { code: '000000' });
    }
    ({ agent, page } = await loginPage());
    const refused = await agent.submit(page, { username: 'doc', password });
    expect([refused.status, refused.html.includes(LOCKED)]).toEqual([401, true]);
    const users = (await admin('GET', '/admin/users')).json as Array<{ username: string; locked: boolean }>;
    expect(users.find((u) => u.username === 'doc')?.locked).toBe(true);
  });
});

/** A token signed with the embedded server's key, with exactly these time claims (mintToken always sets iat to now). */
async function signed(times: { iat?: number; exp: number }): Promise<string> {
  const jwk = server.issuer!.keys.keys.find((k) => k.alg === 'RS256') as JWK;
  const jwt = new SignJWT({ scope: 'system/*.*', client_id: 'test-client', ...times })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'at+jwt' })
    .setIssuer(server.issuer!.issuer)
    .setAudience(server.issuer!.audience)
    .setSubject('test-subject');
  return jwt.sign(await importJWK(jwk, 'RS256'));
}

describe('token lifetime', () => {
  it('refuses tokens living past the cap, with an iat in the future, or without iat', async () => {
    const now = Math.floor(Date.now() / 1000);
    const tokens = [
      await server.token({ expiresIn: 253402300799 - now }),
      await server.token({ expiresIn: MAX_TOKEN_LIFETIME_SECONDS + 3600 }),
      await signed({ iat: now + 3600, exp: now + 7200 }),
      await signed({ exp: now + 600 }),
    ];
    // The control: the same hand-signed token with a sane iat is accepted.
    expect((await fhirClient(server.fhirUrl, { token: await signed({ iat: now, exp: now + 600 }) }).get('Patient/p1')).status).toBe(200);
    for (const token of tokens) {
      const res = await fhirClient(server.fhirUrl, { token }).get('Patient/p1');
      expect(res.status).toBe(401);
    }
    expect((await fhirClient(server.fhirUrl, { token: await server.token({ expiresIn: 3600 }) }).get('Patient/p1')).status).toBe(200);
  });
});

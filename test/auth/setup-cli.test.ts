import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { nodeScript } from '../support/node-script.js';

const run = promisify(execFile);
let server: TestServer;

/** `npm run setup` / `npm run auth` as an operator runs them: the real script, in its own process. */
async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...nodeScript('scripts/auth.ts'), ...args], {
      cwd: ROOT_DIR,
      env: { ...process.env, DATA_DIR: server.dataDir, PUBLIC_URL: server.origin, LOG_LEVEL: 'silent' },
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.destroy());

describe('first run: npm run setup', () => {
  it('prints an admin one-time password and system client credentials as JSON; the credentials get a token', async () => {
    const setup = await cli(['setup', '--json']);
    expect(setup.code, setup.stderr).toBe(0);
    const creds = JSON.parse(setup.stdout);
    expect(creds.admin.username).toBe('admin');
    expect(creds.admin.oneTimePassword).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(creds.client.privateJwk.d).toBeTruthy();
    expect(creds.tokenEndpoint).toBe(`${server.origin}/auth/token`);

    const file = path.join(server.dataDir, 'credentials.json');
    await writeFile(file, setup.stdout);
    const token = await cli(['token', '--credentials', file, '--scope', 'system/Patient.rs']);
    expect(token.code, token.stderr).toBe(0);
    const { access_token: accessToken, scope } = JSON.parse(token.stdout);
    expect(scope).toBe('system/Patient.rs');
    const fhir = fhirClient(server.fhirUrl, { token: accessToken });
    expect((await fhir.get('Patient')).status).toBe(200);
    expect((await fhir.post('Patient', { resourceType: 'Patient' })).status).toBe(403);
  });

  it('refuses to run a second time, and no password is stored in clear', async () => {
    const again = await cli(['setup', '--json']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already has an admin/);
    const list = JSON.parse((await cli(['users', 'list'])).stdout);
    expect(list[0]).not.toHaveProperty('passwordHash');
  });

  it('adds users and clients from the command line', async () => {
    const user = await cli(['users', 'add', '--username', 'front.desk', '--role', 'receptionist']);
    expect(user.code, user.stderr).toBe(0);
    expect(JSON.parse(user.stdout)).toMatchObject({ username: 'front.desk', roles: ['receptionist'] });
    const bad = await cli(['users', 'add', '--username', 'x', '--role', 'wizard']);
    expect(bad.code).toBe(1);
    const app = await cli(['clients', 'add', '--name', 'Chart app', '--kind', 'public', '--redirect-uri', 'https://app.example/cb', '--scope', 'openid launch/patient patient/*.rs']);
    expect(app.code, app.stderr).toBe(0);
    const created = JSON.parse(app.stdout);
    expect(created).toMatchObject({ token_endpoint_auth_method: 'none', smart_scopes: 'patient/*.rs' });
    const backend = await cli(['clients', 'add', '--name', 'Export', '--kind', 'backend', '--scope', 'system/*.rs', '--generate-key']);
    expect(JSON.parse(backend.stdout).privateJwk.d).toBeTruthy();
    expect((await cli(['clients', 'remove', created.client_id])).code).toBe(0);
    expect(JSON.parse((await cli(['clients', 'list'])).stdout).map((c: { client_id: string }) => c.client_id)).not.toContain(created.client_id);
  });
});

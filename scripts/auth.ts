/**
 * FhirGate's authorization CLI: first-run setup, users and clients of the embedded server, tokens.
 *
 *   npm run setup [-- --json]                      first admin + system client (once)
 *   npm run auth -- token --credentials creds.json [--scope 'system/Patient.rs']
 *   npm run auth -- users add --username ana --role practitioner --fhir-user Practitioner/123
 *   npm run auth -- users list | unlock <username> | reset-mfa <username> | remove <username>
 *   npm run auth -- clients add --name 'Chart app' --kind public --redirect-uri https://app/cb --scope 'openid fhirUser launch/patient patient/*.rs'
 *   npm run auth -- clients add --name 'Export' --kind backend --scope 'system/*.rs' (--jwks keys.json | --jwks-uri URL | --generate-key)
 *   npm run auth -- clients list | remove <client_id>
 *
 * Reads the same environment as the server (DATA_DIR, PUBLIC_URL, ...). Safe while the server runs:
 * it re-reads the files on change.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { newClientKey, setup, SetupError } from '../src/auth/cli/setup.js';
import { requestToken } from '../src/auth/cli/token.js';
import { AccountError, createAccountStore } from '../src/auth/server/accounts.js';
import { createClientStore, RegistrationError, type ClientKind } from '../src/auth/server/clients.js';
import { ConfigError, loadConfig } from '../src/config.js';

const rootDir = path.resolve(import.meta.dirname, '..');
const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      username: { type: 'string' },
      role: { type: 'string', multiple: true },
      'fhir-user': { type: 'string' },
      name: { type: 'string' },
      kind: { type: 'string' },
      scope: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      jwks: { type: 'string' },
      'jwks-uri': { type: 'string' },
      'generate-key': { type: 'boolean' },
      credentials: { type: 'string' },
    },
  });
  const config = loadConfig(process.env, rootDir);
  const [command, action, target] = positionals;
  const accounts = createAccountStore(config.auth.dir);
  const clients = createClientStore(config.auth.dir);
  const account = (username = '') => accounts.findByUsername(username) ?? fail(`no user '${username}'`);

  if (command === 'setup') {
    const result = await setup(config, { username: values.username, scope: values.scope });
    if (values.json) return print(result);
    process.stdout.write(
      [
        'FhirGate is set up. These credentials are shown once; store them safely.',
        '',
        `FHIR base URL:    ${result.fhirBaseUrl}`,
        `Token endpoint:   ${result.tokenEndpoint}`,
        '',
        `Admin user:       ${result.admin.username}`,
        `One-time password: ${result.admin.oneTimePassword}`,
        `  ${result.admin.note}`,
        '',
        `System client id: ${result.client.clientId} (scope ${result.client.scope})`,
        'Private key (JWK), the only copy:',
        JSON.stringify(result.client.privateJwk),
        '',
        'Rerun with --json to get all of this as one JSON document for `npm run auth -- token --credentials <file>`.',
        '',
      ].join('\n'),
    );
    return;
  }
  if (command === 'token') {
    if (!values.credentials) fail('--credentials <file from npm run setup -- --json> is required');
    const creds = JSON.parse(readFileSync(values.credentials!, 'utf8')) as { tokenEndpoint: string; client: { clientId: string; privateJwk: Record<string, unknown>; scope: string } };
    return print(await requestToken({ tokenEndpoint: creds.tokenEndpoint, clientId: creds.client.clientId, privateJwk: creds.client.privateJwk, scope: values.scope ?? creds.client.scope }));
  }
  if (command === 'users') {
    if (action === 'add') {
      const { account: created, password } = await accounts.create({ username: values.username ?? '', roles: values.role ?? [], ...(values['fhir-user'] ? { fhirUser: values['fhir-user'] } : {}) });
      return print({ id: created.id, username: created.username, roles: created.roles, fhirUser: created.fhirUser, oneTimePassword: password });
    }
    if (action === 'list') return print(accounts.list().map(({ passwordHash, totp, ...rest }) => ({ ...rest, mfa: totp?.confirmed === true })));
    if (action === 'unlock') return accounts.unlock(account(target).id);
    if (action === 'reset-mfa') return accounts.setTotp(account(target).id, undefined);
    if (action === 'remove') return void accounts.remove(account(target).id);
  }
  if (command === 'clients') {
    if (action === 'add') {
      const generated = values['generate-key'] ? await newClientKey() : undefined;
      const jwks = generated ? { keys: [generated.publicJwk] } : values.jwks ? JSON.parse(readFileSync(values.jwks, 'utf8')) : undefined;
      const registered = clients.register({ name: values.name ?? '', kind: (values.kind ?? '') as ClientKind, scope: values.scope ?? '', redirectUris: values['redirect-uri'], ...(jwks ? { jwks } : {}), ...(values['jwks-uri'] ? { jwksUri: values['jwks-uri'] } : {}) });
      return print({ ...registered.metadata, ...(registered.clientSecret ? { client_secret: registered.clientSecret } : {}), ...(generated ? { privateJwk: generated.privateJwk } : {}) });
    }
    if (action === 'list') return print(clients.list().map(({ client_secret, ...rest }) => rest));
    if (action === 'remove') return void (clients.remove(target ?? '') || fail(`no client '${target}'`));
  }
  fail(`unknown command '${positionals.join(' ')}'; see the comment at the top of scripts/auth.ts or the README`);
}

function fail(message: string): never {
  throw new SetupError(message);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const known = err instanceof SetupError || err instanceof ConfigError || err instanceof AccountError || err instanceof RegistrationError;
  process.stderr.write(`${known ? '' : 'unexpected error: '}${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

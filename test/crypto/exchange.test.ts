import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import jose from 'node-jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders } from '../support/tokens.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { runCli } from './support.js';

/**
 * Encrypted exchange (issue 9), with node-jose on the client side as a partner hospital would:
 * `$everything` as a JWE to a registered recipient, FhirGate's JWKS, and JWE transaction Bundles.
 */

let server: TestServer;
let fhir: FhirClient;
let keysDir: string;
let patientId: string;
let stMarys: jose.JWK.Key;
let northClinic: jose.JWK.Key;

function header(jwe: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwe.split('.')[0], 'base64url').toString('utf8')) as Record<string, unknown>;
}

function tamper(jwe: string): string {
  const parts = jwe.split('.');
  parts[3] = `${parts[3][0] === 'A' ? 'B' : 'A'}${parts[3].slice(1)}`;
  return parts.join('.');
}

async function everything(recipient: string | undefined, accept = 'application/jose'): Promise<Response> {
  return fetch(`${server.fhirUrl}/Patient/${patientId}/$everything`, {
    headers: { Accept: accept, ...authHeaders(server.fhirUrl), ...(recipient ? { 'FhirGate-Recipient': recipient } : {}) },
  });
}

async function postJose(body: string): Promise<Response> {
  return fetch(server.fhirUrl, { method: 'POST', headers: { 'Content-Type': 'application/jose', Accept: 'application/fhir+json', ...authHeaders(server.fhirUrl) }, body });
}

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
  keysDir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-partner-'));
  stMarys = await jose.JWK.createKey('EC', 'P-256', { kid: 'st-marys-2026', use: 'enc' });
  northClinic = await jose.JWK.createKey('RSA', 2048, { kid: 'north-1', use: 'enc' });
  await writeFile(path.join(keysDir, 'st-marys.json'), JSON.stringify({ keys: [stMarys.toJSON()] }));
  await writeFile(path.join(keysDir, 'north.json'), JSON.stringify({ keys: [northClinic.toJSON()] }));
  await writeFile(path.join(keysDir, 'private.json'), JSON.stringify({ keys: [stMarys.toJSON(true)] }));
  const p = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Referred' }], telecom: [{ system: 'phone', value: '555-REFERRAL' }] });
  patientId = p.id!;
  await fhir.create({ resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: `Patient/${patientId}` }, medicationCodeableConcept: { text: 'x' }, note: [{ text: 'NOTE-REFERRAL' }] });
});
afterAll(async () => {
  await server?.destroy();
  await rm(keysDir, { recursive: true, force: true });
});

describe('registering receiving organizations', () => {
  it('adds, lists and refuses private keys, with the CLI', async () => {
    const env = { DATA_DIR: server.dataDir };
    expect((await runCli('exchange-recipients', ['add', 'st-marys', path.join(keysDir, 'st-marys.json'), '--name', "St Mary's"], env)).code).toBe(0);
    expect((await runCli('exchange-recipients', ['add', 'north-clinic', path.join(keysDir, 'north.json')], env)).code).toBe(0);
    const bad = await runCli('exchange-recipients', ['add', 'leaky', path.join(keysDir, 'private.json')], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/private or secret key material/);
    const list = await runCli('exchange-recipients', ['list'], env);
    expect(list.stdout).toMatch(/^st-marys\tSt Mary's\tEC st-marys-2026$/m);
    expect(list.stdout).toMatch(/^north-clinic\t\tRSA north-1$/m);
  }, 120_000);
});

describe('$everything as a JWE to a registered recipient', () => {
  it.each([
    ['st-marys', 'ECDH-ES+A256KW', () => stMarys],
    ['north-clinic', 'RSA-OAEP-256', () => northClinic],
  ])('%s (%s): only its private key opens it', async (recipient, alg, key) => {
    const res = await everything(recipient);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/jose');
    const jwe = await res.text();
    expect(jwe.split('.')).toHaveLength(5);
    expect(header(jwe)).toMatchObject({ alg, enc: 'A256GCM', kid: key().kid, cty: 'application/fhir+json' });
    expect(jwe).not.toContain('555-REFERRAL');

    const opened = await jose.JWE.createDecrypt(key()).decrypt(jwe);
    const bundle = JSON.parse(opened.plaintext.toString('utf8')) as Bundle;
    expect(bundle.type).toBe('searchset');
    const texts = JSON.stringify(bundle);
    expect(texts).toContain('555-REFERRAL');
    expect(texts).toContain('NOTE-REFERRAL');

    const stranger = await jose.JWK.createKey('EC', 'P-256', { kid: key().kid, use: 'enc' });
    await expect(jose.JWE.createDecrypt(stranger).decrypt(jwe)).rejects.toThrow();
    await expect(jose.JWE.createDecrypt(key()).decrypt(tamper(jwe))).rejects.toThrow();
  });

  it('needs a registered recipient, and a token like any request', async () => {
    const missing = await everything(undefined);
    expect(missing.status).toBe(400);
    expect((await missing.json()).issue[0].diagnostics).toMatch(/FhirGate-Recipient header/);
    const unknown = await everything('nobody');
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).issue[0].diagnostics).toMatch(/'nobody' is not a registered recipient/);
    const anonymous = await fetch(`${server.fhirUrl}/Patient/${patientId}/$everything`, { headers: { Accept: 'application/jose', 'FhirGate-Recipient': 'st-marys' } });
    expect(anonymous.status).toBe(401);
    expect((await everything(undefined, 'application/fhir+json')).status).toBe(200);
  });
});

describe("FhirGate's own encryption key", () => {
  let serverKey: jose.JWK.Key;

  it('is published as a JWKS, public part only, without a token', async () => {
    const res = await fetch(`${server.origin}/exchange/jwks.json`);
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'enc', alg: 'ECDH-ES+A256KW' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    serverKey = await jose.JWK.asKey(jwks.keys[0] as jose.JWK.RawKey);
  });

  it('opens JWE transaction Bundles, run as plain ones are', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ fullUrl: 'urn:uuid:2b7f3c1e-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'FromPartner' }], telecom: [{ system: 'phone', value: '555-INBOUND' }] }, request: { method: 'POST', url: 'Patient' } }],
    };
    const jwe = await jose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM', fields: { cty: 'application/fhir+json' } }, serverKey).update(JSON.stringify(bundle)).final();
    const res = await postJose(jwe);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const response = JSON.parse(text) as Bundle;
    expect(response.type).toBe('transaction-response');
    const location = response.entry![0].response!.location!;
    const created = await fhir.get<Patient>(location.replace(/\/_history\/\d+$/, ''));
    expect(created.body.telecom![0].value).toBe('555-INBOUND');
  });

  it('refuses a JWE to another key, a tampered one, and a body that is no JWE', async () => {
    const other = await jose.JWK.createKey('EC', 'P-256', { kid: 'not-fhirgate', use: 'enc' });
    const toOther = await jose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM' }, other).update('{"resourceType":"Bundle","type":"transaction"}').final();
    const wrong = await postJose(toOther);
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).issue[0].diagnostics).toMatch(/encrypted to key 'not-fhirgate', not to a key of this server/);

    const good = await jose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM' }, serverKey).update('{"resourceType":"Bundle","type":"transaction","entry":[]}').final();
    const tampered = await postJose(tamper(good));
    expect(tampered.status).toBe(400);
    const outcome = await tampered.json();
    expect(errorCode(outcome)).toBe('bad-request');
    expect(outcome.issue[0].diagnostics).toMatch(/cannot be decrypted: it was altered/);

    expect((await postJose('{"resourceType":"Bundle"}')).status).toBe(400);
  });
});

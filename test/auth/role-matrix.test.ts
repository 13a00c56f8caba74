import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import { ROLES, roleTableMarkdown, roleTypes } from '../../src/auth/roles.js';
import { SERVED_TYPES } from '../../src/fhir/registry.js';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';
import { errorCode, fhirClient } from '../support/fhir-client.js';
import { fixtures, recordOf, seed } from './fixtures.js';

let server: TestServer;
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startServer();
  const stored = await seed(fhirClient(server.fhirUrl), [...recordOf('p1'), fixtures.practitioner('d1'), accessRequest('d1-request')]);
  for (const r of stored) ids[r.resourceType] ??= r.id!;
});

// What a practitioner may write of Consent is an access request naming themselves (src/consent/authority.ts, tested in test/consent/authority.test.ts).
const accessRequest = (id?: string): Resource => ({
  ...fixtures.consent(id ?? '', 'p1'),
  ...(id ? {} : { id: undefined }),
  status: 'proposed',
  provision: { type: 'permit', actor: [{ role: { text: 'requester' }, reference: { reference: 'Practitioner/d1' } }] },
} as Resource);
const requestOf = (role: string, type: string) => role === 'practitioner' && type === 'Consent';
afterAll(() => server.destroy());

const TYPES = ['Patient', 'Practitioner', 'MedicationRequest', 'MedicationDispense', 'Consent', 'Appointment', 'AuditEvent'];
// What each role may do, written out by hand (not derived from src/auth/roles.ts, which it checks).
// Columns follow TYPES. Every token carries `user/*.cruds`, so the role alone decides.
const EXPECTED: Record<string, string[]> = {
  //             Patient  Practitioner MedReq   MedDisp  Consent  Appt     AuditEvent
  admin:        ['',      'cruds',     '',      '',      '',      '',      'rs'],
  practitioner: ['rs',    'rs',        'cruds', 'rs',    'cruds', 'rs',    ''],
  pharmacist:   ['rs',    'rs',        'rs',    'cruds', '',      '',      ''],
  receptionist: ['crus',  'rs',        '',      '',      'rs',    'cruds', ''],
  patient:      ['rs',    'rs',        'rs',    'rs',    'cruds', 'crus',  'rs'],
};

const body = (type: string): Resource => {
  const all: Record<string, Resource> = Object.fromEntries([...recordOf('p1', 'new'), fixtures.practitioner('new')].map((r) => [r.resourceType, r]));
  const { id, ...rest } = all[type];
  return rest as Resource;
};
const idFor = (role: string, type: string) => (requestOf(role, type) ? 'd1-request' : ids[type]);
const OPS: Array<{ letter: string; ok: number; run: (f: ReturnType<typeof fhirClient>, type: string, role: string) => Promise<{ status: number; body: any; text: string }> }> = [
  { letter: 'c', ok: 201, run: (f, type, role) => f.post(type, requestOf(role, type) ? accessRequest() : body(type)) },
  { letter: 'r', ok: 200, run: (f, type, role) => f.get(`${type}/${idFor(role, type)}`) },
  { letter: 's', ok: 200, run: (f, type) => f.get(type) },
  { letter: 'u', ok: 200, run: async (f, type, role) => f.put(`${type}/${idFor(role, type)}`, (await fhirClient(server.fhirUrl).get(`${type}/${idFor(role, type)}`)).body) },
  { letter: 'd', ok: 200, run: (f, type) => f.delete(`${type}/not-there`) },
];

const tokenFor = (role: string | string[]) => server.token({ scope: 'user/*.cruds', role, fhirUser: role === 'patient' ? 'Patient/p1' : 'Practitioner/d1' });

describe('role × interaction (user/*.cruds tokens)', () => {
  const cases = ROLES.flatMap((role) => TYPES.flatMap((type, column) => OPS.map((op) => [role, op.letter, type, EXPECTED[role][column].includes(op.letter), op] as const)));
  it.each(cases)('%s %s %s', async (role, _letter, type, allowed, op) => {
    const res = await op.run(fhirClient(server.fhirUrl, { token: await tokenFor(role) }), type, role);
    // AuditEvents are append-only whatever the role: update and delete are refused by authorization first.
    if (allowed) expect(res.status, res.text).toBe(op.ok);
    else {
      expect(res.status, res.text).toBe(403);
      expect(errorCode(res.body)).toBe('forbidden');
    }
  });

  it('admins read clinical data only when also granted a clinical role', async () => {
    expect((await fhirClient(server.fhirUrl, { token: await tokenFor('admin') }).get('Patient/p1')).status).toBe(403);
    expect((await fhirClient(server.fhirUrl, { token: await tokenFor(['admin', 'practitioner']) }).get('Patient/p1')).status).toBe(200);
  });

  it('an unknown role grants nothing', async () => {
    expect((await fhirClient(server.fhirUrl, { token: await tokenFor('superuser') }).get('Patient/p1')).status).toBe(403);
  });

  it('the README role table is the one generated from src/auth/roles.ts', () => {
    const readme = readFileSync(path.join(ROOT_DIR, 'README.md'), 'utf8');
    expect(readme).toContain(roleTableMarkdown(roleTypes(Object.keys(SERVED_TYPES))));
  });
});

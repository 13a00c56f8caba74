import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';
import { errorCode, fhirClient, type FhirClient, type FhirResponse } from '../support/fhir-client.js';
import type { TokenOptions } from '../support/tokens.js';
import { fixtures, seed } from './fixtures.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
  await seed(fhirClient(server.fhirUrl), [fixtures.patient('p1'), fixtures.medicationRequest('mr1', 'p1')]);
});
afterAll(() => server.destroy());

// Each interaction on MedicationRequest, with the SMART v2 letter it needs and its success status.
const INTERACTIONS: Array<{ name: string; letter: string; ok: number; run: (f: FhirClient) => Promise<FhirResponse> }> = [
  { name: 'read', letter: 'r', ok: 200, run: (f) => f.get('MedicationRequest/mr1') },
  { name: 'vread', letter: 'r', ok: 200, run: (f) => f.get('MedicationRequest/mr1/_history/1') },
  { name: 'history-instance', letter: 'r', ok: 200, run: (f) => f.get('MedicationRequest/mr1/_history') },
  { name: 'history-type', letter: 's', ok: 200, run: (f) => f.get('MedicationRequest/_history') },
  { name: 'search-type', letter: 's', ok: 200, run: (f) => f.get('MedicationRequest?status=active') },
  { name: 'create', letter: 'c', ok: 201, run: (f) => f.post('MedicationRequest', fixtures.medicationRequest('x', 'p1')) },
  { name: 'update', letter: 'u', ok: 200, run: (f) => f.put('MedicationRequest/mr1', fixtures.medicationRequest('mr1', 'p1')) },
  { name: 'delete', letter: 'd', ok: 200, run: (f) => f.delete('MedicationRequest/not-there') },
];

// Granted scopes → the letters they permit on MedicationRequest (backend-service tokens unless a role is given).
const MATRIX: Array<[string, TokenOptions, string]> = [
  ['v1 system/*.*', { scope: 'system/*.*' }, 'cruds'],
  ['v1 system/*.read', { scope: 'system/*.read' }, 'rs'],
  ['v1 system/*.write', { scope: 'system/*.write' }, 'cud'],
  ['v1 system/MedicationRequest.read', { scope: 'system/MedicationRequest.read' }, 'rs'],
  ['v1 system/MedicationRequest.write', { scope: 'system/MedicationRequest.write' }, 'cud'],
  ['v2 system/MedicationRequest.cruds', { scope: 'system/MedicationRequest.cruds' }, 'cruds'],
  ['v2 system/MedicationRequest.rs', { scope: 'system/MedicationRequest.rs' }, 'rs'],
  ['v2 system/MedicationRequest.r', { scope: 'system/MedicationRequest.r' }, 'r'],
  ['v2 system/MedicationRequest.s', { scope: 'system/MedicationRequest.s' }, 's'],
  ['v2 system/MedicationRequest.cu', { scope: 'system/MedicationRequest.cu' }, 'cu'],
  ['v2 system/MedicationRequest.d', { scope: 'system/MedicationRequest.d' }, 'd'],
  ['v2 letters out of order are no scope', { scope: 'system/MedicationRequest.sr' }, ''],
  ['another type only', { scope: 'system/Patient.cruds' }, ''],
  ['mixed types', { scope: 'system/Patient.rs system/MedicationRequest.c' }, 'c'],
  ['no clinical scope', { scope: 'openid fhirUser offline_access launch/patient' }, ''],
  ['user/ scopes without a role', { scope: 'user/MedicationRequest.cruds' }, ''],
  ['patient/ scopes without a role', { scope: 'patient/MedicationRequest.cruds', patient: 'p1' }, ''],
  ['v1 user/MedicationRequest.write as practitioner', { scope: 'user/MedicationRequest.write', role: 'practitioner', fhirUser: 'Practitioner/d1' }, 'cud'],
  ['v2 user/*.cruds as practitioner', { scope: 'user/*.cruds', role: 'practitioner', fhirUser: 'Practitioner/d1' }, 'cruds'],
  ['v1 patient/*.read as practitioner, launch patient p1', { scope: 'patient/*.read', role: 'practitioner', patient: 'p1' }, 'rs'],
  ['v2 patient/MedicationRequest.rs as practitioner, launch patient p1', { scope: 'patient/MedicationRequest.rs', role: 'practitioner', patient: 'p1' }, 'rs'],
  ['patient/ scopes with no launch patient', { scope: 'patient/*.cruds', role: 'practitioner' }, ''],
];

describe('scope × interaction on MedicationRequest', () => {
  const cases = MATRIX.flatMap(([label, token, letters]) => INTERACTIONS.map((i) => [label, i.name, token, letters.includes(i.letter), i] as const));
  it.each(cases)('%s: %s', async (_label, _name, token, allowed, interaction) => {
    const fhir = fhirClient(server.fhirUrl, { token: await server.token(token) });
    const res = await interaction.run(fhir);
    if (allowed) {
      expect(res.status, res.text).toBe(interaction.ok);
    } else {
      expect(res.status, res.text).toBe(403);
      expect(errorCode(res.body)).toBe('forbidden');
    }
  });
});

import type { Bundle, Observation } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markersOnDisk } from '../crypto/support.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { patientIdOf, providerDirectory, syntheaBundle, syntheaFiles } from '../support/corpus.js';
import { startServer, type TestServer } from '../support/server.js';
import { seed, userClient } from './support.js';

const MARKER = `Secret-note-${process.pid}`;
const CONTROL = `Visible-code-${process.pid}`;

let server: TestServer;
let backend: FhirClient;

beforeAll(async () => {
  // Observation.note encrypted at rest: encryption is configurable for every served type.
  server = await startServer({ AUDIT_SINK: 'store', FHIRGATE_ENCRYPTED_ELEMENTS: JSON.stringify({ Patient: ['Patient.telecom'], Observation: ['Observation.note'] }) });
  backend = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

const countOf = async (query: string): Promise<number> => {
  const res = await backend.get<Bundle>(`${query}${query.includes('?') ? '&' : '?'}_summary=count`);
  expect(res.status, res.text).toBe(200);
  return res.body.total!;
};

describe('every R4 resource type is served (issue 17, item 3)', () => {
  it.each(syntheaFiles())('the Synthea patient bundle %s loads as one transaction', async (file) => {
    const { bundle, perType } = syntheaBundle(file);
    for (const resource of providerDirectory(bundle)) expect((await backend.post(resource.resourceType, resource)).status).toBe(201);
    const res = await backend.post<Bundle>('', bundle);
    expect(res.status, res.text.slice(0, 2000)).toBe(200);
    expect(res.body.entry!.every((e) => e.response!.status.startsWith('201'))).toBe(true);
    const patientId = patientIdOf(bundle, res.body);
    for (const type of ['Encounter', 'Observation', 'Immunization', 'DiagnosticReport', 'Claim']) {
      expect(await countOf(`${type}?patient=Patient/${patientId}`), type).toBe(perType.get(type));
    }
    // References were rewritten to the stored resources: an Encounter's participant is the directory's Practitioner.
    const encounter = (await backend.get<Bundle>(`Encounter?patient=Patient/${patientId}&_count=1&_include=Encounter:practitioner`)).body;
    expect(encounter.entry!.some((e) => e.resource!.resourceType === 'Practitioner')).toBe(true);
  }, 180_000);

  it('validates, searches and audits a new type like the core ones', async () => {
    const invalid = await backend.post('Observation', { resourceType: 'Observation', code: { text: 'no status' } });
    expect(invalid.status).toBe(422);
    expect(errorCode(invalid.body)).toBe('invalid-resource');
    const structure = await backend.post('Condition', { resourceType: 'Condition', subject: { reference: 'Patient/x' }, onsetBanana: true });
    expect(structure.status).toBe(400);
    await seed(backend, { resourceType: 'Patient', id: 'o1', name: [{ family: 'Obs' }] });
    const obs = await backend.create<Observation>({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }], text: CONTROL },
      subject: { reference: 'Patient/o1' },
      valueQuantity: { value: 72, unit: 'beats/min', system: 'http://unitsofmeasure.org', code: '/min' },
      note: [{ text: MARKER }],
    });
    const found = await backend.get<Bundle>('Observation?subject=Patient/o1&code=http://loinc.org|8867-4&value-quantity=gt70');
    expect(found.body.entry?.map((e) => e.resource!.id)).toEqual([obs.id]);
    expect((found.body.entry![0].resource as Observation).note![0].text).toBe(MARKER);
    const trail = await backend.get<Bundle>(`AuditEvent?entity=Observation/${obs.id}`);
    expect(trail.body.entry?.length).toBeGreaterThan(0);
    // Encrypted at rest: the note never reaches the disk in clear; the code does.
    expect(markersOnDisk(server.dataDir, [CONTROL]).length).toBeGreaterThan(0);
    expect(markersOnDisk(server.dataDir, [MARKER])).toEqual([]);
  });

  it('puts a patient\'s Observations under their Consents and compartment', async () => {
    await seed(
      backend,
      { resourceType: 'Patient', id: 'c1', name: [{ family: 'Private' }] },
      { resourceType: 'Patient', id: 'c2', name: [{ family: 'Open' }] },
      { resourceType: 'Practitioner', id: 'cd1', name: [{ family: 'Denied' }] },
      { resourceType: 'Practitioner', id: 'cd2', name: [{ family: 'Allowed' }] },
      { resourceType: 'Observation', id: 'c1-obs', status: 'final', code: { text: 'BP' }, subject: { reference: 'Patient/c1' } },
      {
        resourceType: 'Consent',
        id: 'c1-deny-cd1',
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: 'Patient/c1' },
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
        provision: { type: 'deny', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: { reference: 'Practitioner/cd1' } }] },
      },
    );
    const denied = await userClient(server, 'practitioner', 'Practitioner/cd1');
    const allowed = await userClient(server, 'practitioner', 'Practitioner/cd2');
    expect((await denied.get('Observation/c1-obs')).status).toBe(404);
    expect((await denied.get<Bundle>('Observation?subject=Patient/c1')).body.entry ?? []).toEqual([]);
    expect((await allowed.get('Observation/c1-obs')).status).toBe(200);
    expect((await (await userClient(server, 'patient', 'Patient/c1')).get('Observation/c1-obs')).status).toBe(200);
    expect((await (await userClient(server, 'patient', 'Patient/c2')).get('Observation/c1-obs')).status).toBe(403);
    // Roles still decide: a pharmacist has no Observation permission.
    expect((await (await userClient(server, 'pharmacist', 'Practitioner/cd2')).get('Observation/c1-obs')).status).toBe(403);
  });

  it('lists every type in the generated CapabilityStatement, with its search parameters', async () => {
    const cs = (await backend.get('metadata')).body;
    const slot = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Subscription');
    expect(slot.searchParam.map((p: { name: string }) => p.name)).toContain('status');
    expect(cs.rest[0].resource.map((r: { type: string }) => r.type)).toEqual(expect.arrayContaining(['Organization', 'Location', 'PractitionerRole', 'Medication', 'Encounter', 'Observation', 'Condition', 'AllergyIntolerance', 'Schedule', 'Slot', 'Subscription']));
  });
});

import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient } from '../support/fhir-client.js';
import { patientIdOf, providerDirectory, syntheaBundle } from '../support/corpus.js';
import { startServer, type TestServer } from '../support/server.js';
import { clientWith, download, exportAll } from './support.js';

// A populated server: a Synthea patient (the shared corpus) loaded as one transaction, exported.
const BUNDLE = 'Bob965_Keeling57_3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b.json';
let server: TestServer;
let patientId: string;
let loaded: Map<string, number>;

beforeAll(async () => {
  server = await startServer();
  const admin = fhirClient(server.fhirUrl);
  const { bundle, perType } = syntheaBundle(BUNDLE);
  for (const resource of providerDirectory(bundle)) expect((await admin.post(resource.resourceType, resource)).status).toBe(201);
  const res = await admin.post<Bundle>('', bundle);
  expect(res.status, res.text.slice(0, 500)).toBe(200);
  patientId = patientIdOf(bundle, res.body);
  loaded = perType;
}, 240_000);
afterAll(() => server?.destroy());

describe('$export of a Synthea patient', () => {
  it('Patient/$export holds every resource of the bundle in the compartment, each file matching a search by the same token', async () => {
    const token = await server.token({ scope: 'system/*.rs' });
    const fhir = clientWith(server.fhirUrl, token);
    const { manifest } = await exportAll(fhir, 'Patient/$export');
    const counts = new Map(manifest.output.map((f) => [f.type, 0]));
    for (const file of manifest.output) {
      const resources = await download(file.url, token);
      counts.set(file.type, counts.get(file.type)! + resources.length);
    }
    for (const [type, count] of counts) {
      const total = type === 'Patient' ? 1 : (await fhir.get<Bundle>(`Patient/${patientId}/${type}?_summary=count`)).body.total;
      expect(count, type).toBe(total);
    }
    // What Synthea puts in the patient's compartment is all there (Encounter, Observation, Claim, DocumentReference...).
    for (const type of ['Patient', 'Encounter', 'Observation', 'Immunization', 'DiagnosticReport', 'DocumentReference', 'Claim', 'ExplanationOfBenefit']) {
      expect(loaded.get(type), type).toBeGreaterThan(0);
      expect(counts.get(type), type).toBe(loaded.get(type));
    }
    // Outside the compartment: the directory's Practitioners and Organizations are not a patient export's.
    expect(counts.has('Practitioner') || counts.has('Organization')).toBe(false);
  }, 180_000);
});

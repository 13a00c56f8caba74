import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient } from '../support/fhir-client.js';
import { CORPUS_DIR, startServer, type TestServer } from '../support/server.js';
import { clientWith, download, exportAll } from './support.js';

// A populated server: a Synthea patient (the shared corpus) loaded as one transaction, exported.
const BUNDLE = path.join(CORPUS_DIR, 'fhir-r4/synthea/Bob965_Keeling57_3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b.json');
let server: TestServer;
let patientId: string;
let loaded: Map<string, number>;

/** The provider directory the bundle's conditional references presuppose (as in test/workflow/r4-types.test.ts). */
function directoryOf(bundle: Bundle): Resource[] {
  const refs = new Set<string>();
  JSON.stringify(bundle, (key, value) => {
    if (key === 'reference' && typeof value === 'string' && /^[A-Z][A-Za-z]+\?identifier=/.test(value)) refs.add(value);
    return value;
  });
  return [...refs].map((ref) => {
    const [type, query] = ref.split('?identifier=');
    const [system, value] = decodeURIComponent(query).split('|');
    return type === 'Practitioner' ? { resourceType: 'Practitioner', identifier: [{ system, value }], name: [{ family: `Npi${value}` }] } : ({ resourceType: type, identifier: [{ system, value }], name: `${type} ${value}` } as Resource);
  });
}

beforeAll(async () => {
  server = await startServer();
  const admin = fhirClient(server.fhirUrl);
  const bundle = JSON.parse(readFileSync(BUNDLE, 'utf8')) as Bundle;
  for (const resource of directoryOf(bundle)) expect((await admin.post(resource.resourceType, resource)).status).toBe(201);
  const res = await admin.post<Bundle>('', bundle);
  expect(res.status, res.text.slice(0, 500)).toBe(200);
  patientId = res.body.entry![bundle.entry!.findIndex((e) => e.resource!.resourceType === 'Patient')].response!.location!.split('/')[1];
  loaded = new Map();
  for (const e of bundle.entry!) loaded.set(e.resource!.resourceType, (loaded.get(e.resource!.resourceType) ?? 0) + 1);
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

import type { Consent, MedicationRequest, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { dropDatabase, describeMongo, MONGODB_URI, testDatabase, withClient } from '../support/mongo.js';
import { startServer, type TestServer } from '../support/server.js';
import { markersOnDisk } from './support.js';

/**
 * The proof of issue 9: resources carrying marker values in every default sensitive element are
 * written, updated, searched and read; then no byte the store persisted, and no log line,
 * holds a marker.
 */

const RUN = Math.random().toString(36).slice(2, 8).toUpperCase();
const M = (what: string): string => `MRK${RUN}${what}`;
const PHOTO = Buffer.from(M('PHOTO')).toString('base64');

const MARKERS = [
  M('SSN'),
  M('NHS'),
  M('PHONE'),
  M('EMAIL'),
  M('LINE'),
  M('CITY'),
  M('ZIP'),
  M('KIN'),
  M('KINPHONE'),
  M('PHOTO'),
  PHOTO,
  M('NARRATIVE'),
  M('NOTE'),
  M('NOTE2'),
  M('ATTACH'),
];

function patient(version: number): Patient {
  return {
    resourceType: 'Patient',
    text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${M('NARRATIVE')}</div>` },
    identifier: [
      { system: 'urn:mrn', value: `MRN-${RUN}` },
      { system: 'http://hl7.org/fhir/sid/us-ssn', value: M('SSN') },
      { system: 'https://fhir.nhs.uk/Id/nhs-number', value: M('NHS') },
    ],
    name: [{ family: `Visible${RUN}`, given: [`v${version}`] }],
    telecom: [
      { system: 'phone', value: M('PHONE') },
      { system: 'email', value: `${M('EMAIL')}@example.org` },
    ],
    address: [{ line: [M('LINE')], city: M('CITY'), postalCode: M('ZIP') }],
    contact: [{ name: { family: M('KIN') }, telecom: [{ system: 'phone', value: M('KINPHONE') }] }],
    photo: [{ contentType: 'text/plain', data: PHOTO }],
  };
}

async function writeMarkedData(fhir: FhirClient): Promise<string> {
  const p = await fhir.create(patient(1));
  expect((await fhir.put(`Patient/${p.id}`, { ...patient(2), id: p.id })).status).toBe(200);
  const mr: MedicationRequest = {
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    subject: { reference: `Patient/${p.id}` },
    medicationCodeableConcept: { text: 'amoxicillin' },
    note: [{ text: M('NOTE') }, { text: M('NOTE2') }],
  };
  const createdMr = await fhir.create(mr);
  expect((await fhir.delete(`MedicationRequest/${createdMr.id}`)).status).toBe(200);
  const consent: Consent = {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${p.id}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    sourceAttachment: { contentType: 'text/plain', title: M('ATTACH') },
  };
  await fhir.create(consent);
  // Searches by encrypted values go through the index and the logs too.
  for (const query of [`phone=${M('PHONE')}`, `identifier=${encodeURIComponent(`http://hl7.org/fhir/sid/us-ssn|${M('SSN')}`)}`, `address-city:exact=${M('CITY')}`]) {
    const res = await fhir.get(`Patient?${query}`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
  }
  expect((await fhir.get(`Patient?address-city=${M('CITY')}`)).status).toBe(400);
  return p.id!;
}

async function expectMarkersReadable(fhir: FhirClient, id: string): Promise<void> {
  const read = await fhir.get<Patient>(`Patient/${id}`);
  expect(read.body).toMatchObject({ ...patient(2), id });
  const history = await fhir.get(`Patient/${id}/_history`);
  expect(history.body.entry.map((e: { resource: Patient }) => e.resource.telecom?.[0].value)).toEqual([M('PHONE'), M('PHONE')]);
  const everything = await fhir.get(`Patient/${id}/$everything`);
  expect(everything.text).toContain(M('ATTACH'));
}

describe('embedded store: no marker on disk or in the logs', () => {
  let server: TestServer;
  let fhir: FhirClient;
  let id: string;

  beforeAll(async () => {
    server = await startServer({ LOG_LEVEL: 'trace' });
    fhir = fhirClient(server.fhirUrl);
    id = await writeMarkedData(fhir);
  });
  afterAll(() => server?.destroy());

  it('reads give the markers back to an authorized caller', () => expectMarkersReadable(fhir, id));

  it('no file of DATA_DIR (journal, snapshots, key ring, auth) holds a marker', () => {
    expect(markersOnDisk(server.dataDir, MARKERS)).toEqual([]);
    // The scan does find what is stored in clear.
    expect(markersOnDisk(server.dataDir, [`Visible${RUN}`, `MRN-${RUN}`]).length).toBeGreaterThan(0);
  });

  it('no log line holds a marker', () => {
    expect(server.logs.length).toBeGreaterThan(10);
    expect(server.logs.filter((line) => MARKERS.some((m) => line.includes(m)))).toEqual([]);
  });

  it('still none after a restart, which compacts the journal into a snapshot', async () => {
    server = await server.restart();
    fhir = fhirClient(server.fhirUrl);
    await expectMarkersReadable(fhir, id);
    expect(markersOnDisk(server.dataDir, MARKERS)).toEqual([]);
    expect(server.logs.filter((line) => MARKERS.some((m) => line.includes(m)))).toEqual([]);
  });
});

describeMongo('MongoDB: no marker in the raw documents', () => {
  const db = testDatabase('crypto');
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ MONGODB_URI: MONGODB_URI!, MONGODB_DB: db });
    await writeMarkedData(fhirClient(server.fhirUrl));
  });
  afterAll(async () => {
    await server?.destroy();
    await dropDatabase(db);
  });

  it('no document of any collection holds a marker', async () => {
    const dump = await withClient(async (client) => {
      const parts: string[] = [];
      for (const { name } of await client.db(db).listCollections().toArray()) {
        parts.push(JSON.stringify(await client.db(db).collection(name).find({}).toArray()));
      }
      return parts.join('\n');
    });
    expect(dump).toContain(`Visible${RUN}`);
    expect(MARKERS.filter((m) => dump.includes(m))).toEqual([]);
    expect(server.logs.filter((line) => MARKERS.some((m) => line.includes(m)))).toEqual([]);
  });
});

import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_ID_SYSTEM } from '../../src/audit/inbound-message.js';
import { eventsOf } from '../audit/support.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { ADT, ackCode, rawConnection } from './support.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

const controlIdOf = (event: AuditEvent): string | undefined => event.entity?.find((e) => e.what?.identifier?.system === CONTROL_ID_SYSTEM)?.what?.identifier?.value;

describe('HL7 v2 messages are audited', () => {
  it('a message received over MLLP leaves an Import AuditEvent naming its type, control id, sender and peer address', async () => {
    const conn = await rawConnection(server.app.hl7.port()!);
    conn.send(ADT('AUD-1', 'MRN-AUD-1', 'Hopper'));
    expect(ackCode(await conn.frame(1))).toMatchObject({ code: 'AA', controlId: 'AUD-1' });
    conn.end();

    const imports = eventsOf((await fhir.get<Bundle>(`AuditEvent?type=${DCM}|110107&subtype=http://terminology.hl7.org/CodeSystem/v2-0003|A01&_count=100`)).body);
    const event = imports.find((e) => controlIdOf(e) === 'AUD-1');
    expect(event).toBeDefined();
    expect(event!.outcome).toBe('0');
    expect(event!.subtype).toEqual(expect.arrayContaining([
      { system: 'http://hl7.org/fhir/restful-interaction', code: 'transaction' },
      { system: 'http://terminology.hl7.org/CodeSystem/v2-0076', code: 'ADT' },
      { system: 'http://terminology.hl7.org/CodeSystem/v2-0003', code: 'A01' },
    ]));
    const sender = event!.agent?.find((a) => a.who?.identifier?.value === 'TESTAPP^TESTFAC');
    expect(sender?.network?.address).toMatch(/127\.0\.0\.1/);
    expect(JSON.stringify(event)).not.toContain('Hopper');

    // The Patient it created is named by the Import and by its own create event, both findable by the patient.
    const [patient] = (await fhir.get<Bundle>('Patient?identifier=MRN-AUD-1')).body.entry!.map((e) => e.resource!);
    // Named by the version the message wrote (issue 14: once, not again as a plain `Patient/id`).
    expect(event!.entity?.some((e) => e.what?.reference?.replace(/\/_history\/.*$/, '') === `Patient/${patient.id}`)).toBe(true);
    const about = eventsOf((await fhir.get<Bundle>(`AuditEvent?patient=Patient/${patient.id}&_count=100`)).body);
    // The mapper writes the Patient by conditional update on its identifier.
    const write = about.find((e) => ['create', 'update'].includes(e.subtype?.[0]?.code ?? '') && e.entity?.some((x) => x.what?.reference === `Patient/${patient.id}/_history/1`));
    expect(write?.type?.code).toBe('rest');
    expect(controlIdOf(write!)).toBe('AUD-1');
  });

  it("records a message's lookups (the searches for its Patient and Practitioner) in the commit of its Import, before the ACK", async () => {
    const conn = await rawConnection(server.app.hl7.port()!);
    conn.send(ADT('AUD-LOOKUP', 'MRN-AUD-LOOKUP', 'Lovelace').replace('PV1|1|I', 'PV1|1|I|||||DOC-AUD^Attending^Alice'));
    expect(ackCode(await conn.frame(1)).code).toBe('AA');
    conn.end();

    const recent = eventsOf((await fhir.get<Bundle>('AuditEvent?_sort=-_lastUpdated&_count=200')).body);
    const requestIdOf = (e: AuditEvent): string | undefined => e.entity?.find((x) => x.description === 'X-Request-Id')?.what?.identifier?.value;
    const imported = recent.find((e) => controlIdOf(e) === 'AUD-LOOKUP')!;
    const lookups = recent.filter((e) => requestIdOf(e) === requestIdOf(imported) && e.subtype?.[0]?.code === 'search-type');
    // The Patient by its MRN and the attending Practitioner by its identifier: each search still has its AuditEvent, by the same system agent.
    expect(lookups.length).toBeGreaterThanOrEqual(2);
    for (const lookup of lookups) {
      expect(lookup.outcome).toBe('0');
      expect(lookup.agent?.[0]?.who).toEqual(imported.agent?.[0]?.who);
      // One commit with the Import (issue 19 item 8): the chain writer stamps one time on a commit's events.
      expect(lookup.meta?.lastUpdated).toBe(imported.meta?.lastUpdated);
    }
  });

  it('a message that cannot be applied, or is rejected outright, is audited as a failed Import', async () => {
    const conn = await rawConnection(server.app.hl7.port()!);
    // A birth date in the future is accepted by the mapper and refused by validation.
    conn.send(ADT('AUD-2', 'MRN-AUD-2', 'Future').replace('19800101', '29991301'));
    const ack = ackCode(await conn.frame(1));
    conn.end();
    expect(ack.code).not.toBe('AA');
    const imports = eventsOf((await fhir.get<Bundle>(`AuditEvent?type=${DCM}|110107&_count=100`)).body);
    const event = imports.find((e) => controlIdOf(e) === 'AUD-2');
    expect(event?.outcome).toBe('4');
    // Its lookups ran and are recorded with the failed Import.
    const requestId = event!.entity?.find((x) => x.description === 'X-Request-Id')?.what?.identifier?.value;
    const recent = eventsOf((await fhir.get<Bundle>('AuditEvent?_sort=-_lastUpdated&_count=200')).body);
    expect(recent.filter((e) => e.subtype?.[0]?.code === 'search-type' && e.entity?.some((x) => x.what?.identifier?.value === requestId)).length).toBeGreaterThanOrEqual(1);

    // An unsupported version is rejected (AR) before anything is mapped; it is still a message received.
    const rejected = await rawConnection(server.app.hl7.port()!);
    rejected.send(ADT('AUD-3', 'MRN-AUD-3', 'Old').replace('|2.5.1', '|2.1'));
    expect(ackCode(await rejected.frame(1)).code).toBe('AR');
    rejected.end();
    const again = eventsOf((await fhir.get<Bundle>(`AuditEvent?type=${DCM}|110107&outcome=4&_count=100`)).body);
    expect(again.find((e) => controlIdOf(e) === 'AUD-3')?.agent?.some((a) => a.who?.identifier?.value === 'TESTAPP^TESTFAC')).toBe(true);
  });
});

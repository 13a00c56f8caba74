import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { ackCode, rawConnection } from './support.js';

/**
 * Issue 19 item 7, through a real MLLP socket: messages that name a Practitioner or Patient without
 * changing it write no new version of it; a real change still does.
 */
let server: TestServer;
let fhir: FhirClient;
let conn: Awaited<ReturnType<typeof rawConnection>>;
beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
  conn = await rawConnection(server.app.hl7.port()!);
});
afterAll(async () => {
  conn.end();
  await server.destroy();
});

const adt = (id: string, family: string, event = 'A08'): string =>
  [`MSH|^~\\&|TESTAPP|TESTFAC|FHIRGATE|HOSP|20240101120000||ADT^${event}^ADT_A01|${id}|P|2.5.1`, `EVN|${event}`, `PID|1||MRN-UC^^^TESTFAC^MR||${family}^Ada||19800101|F`, 'PV1|1|I||||||DOC-UC^Attending^Ann|||||||||DOC-UC2^Admitting^Bob'].join('\r') + '\r';
const one = async (query: string): Promise<any> => (await fhir.get(query)).body.entry[0].resource;
const history = async (ref: string): Promise<number> => (await fhir.get(`${ref}/_history`)).body.total ?? (await fhir.get(`${ref}/_history`)).body.entry.length;

describe('no-op writes are skipped', () => {
  it('ten A08s naming the same practitioners and patient write one version of each; a change writes one more', async () => {
    for (let n = 0; n < 10; n++) {
      conn.send(adt(`UC-${n}`, 'Same', n === 0 ? 'A01' : 'A08'));
      expect(ackCode(await conn.frame()).code).toBe('AA');
    }
    const doc = await one('Practitioner?identifier=DOC-UC');
    const patient = await one('Patient?identifier=MRN-UC');
    expect([doc.meta.versionId, patient.meta.versionId]).toEqual(['1', '1']);
    expect(await history(`Patient/${patient.id}`)).toBe(1);
    // The archive still tells which resources each message concerned.
    const doc2 = await one('Practitioner?identifier=DOC-UC2');
    expect(doc2.meta.versionId).toBe('1');
    expect(server.app.hl7.archive.byDedupeKey('TESTAPP|TESTFAC|UC-9')?.resources.sort()).toEqual([`Patient/${patient.id}`, `Practitioner/${doc.id}`, `Practitioner/${doc2.id}`].sort());

    conn.send(adt('UC-10', 'Changed'));
    expect(ackCode(await conn.frame()).code).toBe('AA');
    expect((await one('Patient?identifier=MRN-UC')).meta.versionId).toBe('2');
    expect((await one('Practitioner?identifier=DOC-UC')).meta.versionId).toBe('1');
  });
});

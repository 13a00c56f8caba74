import { describe, expect, it } from 'vitest';
import { ackCode, useMllpServer } from './support.js';

/**
 * Issue 19 item 7, through a real MLLP socket: messages that name a Practitioner or Patient without
 * changing it write no new version of it; a real change still does.
 */
const hl7 = useMllpServer();

const adt = (id: string, family: string, event = 'A08'): string =>
  [`MSH|^~\\&|TESTAPP|TESTFAC|FHIRGATE|HOSP|20240101120000||ADT^${event}^ADT_A01|${id}|P|2.5.1`, `EVN|${event}`, `PID|1||MRN-UC^^^TESTFAC^MR||${family}^Ada||19800101|F`, 'PV1|1|I||||||DOC-UC^Attending^Ann|||||||||DOC-UC2^Admitting^Bob'].join('\r') + '\r';
const one = async (query: string): Promise<any> => (await hl7.fhir.get(query)).body.entry[0].resource;
const history = async (ref: string): Promise<number> => {
  const { body } = await hl7.fhir.get(`${ref}/_history`);
  return body.total ?? body.entry.length;
};

describe('no-op writes are skipped', () => {
  it('ten A08s naming the same practitioners and patient write one version of each; a change writes one more', async () => {
    for (let n = 0; n < 10; n++) {
      hl7.conn.send(adt(`UC-${n}`, 'Same', n === 0 ? 'A01' : 'A08'));
      expect(ackCode(await hl7.conn.frame()).code).toBe('AA');
    }
    const doc = await one('Practitioner?identifier=DOC-UC');
    const patient = await one('Patient?identifier=MRN-UC');
    expect([doc.meta.versionId, patient.meta.versionId]).toEqual(['1', '1']);
    expect(await history(`Patient/${patient.id}`)).toBe(1);
    // The archive still tells which resources each message concerned.
    const doc2 = await one('Practitioner?identifier=DOC-UC2');
    expect(doc2.meta.versionId).toBe('1');
    expect((await hl7.server.app.hl7.archive.byDedupeKey('TESTAPP|TESTFAC|UC-9'))?.resources.sort()).toEqual([`Patient/${patient.id}`, `Practitioner/${doc.id}`, `Practitioner/${doc2.id}`].sort());

    hl7.conn.send(adt('UC-10', 'Changed'));
    expect(ackCode(await hl7.conn.frame()).code).toBe('AA');
    expect((await one('Patient?identifier=MRN-UC')).meta.versionId).toBe('2');
    expect((await one('Practitioner?identifier=DOC-UC')).meta.versionId).toBe('1');
  });
});

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

describe('each question is searched once per message (issue 19 item 8)', () => {
  /** How many searches the adapter has run in the name of the sender (each a pipeline run, audited). */
  const adapterSearches = async (): Promise<number> => {
    const { body } = await hl7.fhir.get('AuditEvent?subtype=http://hl7.org/fhir/restful-interaction|search-type&_count=1000');
    return (body.entry ?? []).filter((e: any) => e.resource.agent?.some((a: any) => a.who?.display === 'hl7v2:TESTAPP@TESTFAC')).length;
  };
  const message = (id: string, family: string, event: string): string => adt(id, family, event).replace('MRN-UC', 'MRN-ONCE').replace('DOC-UC^', 'DOC-ONCE^').replace('DOC-UC2^', 'DOC-ONCE2^');
  const searchesOf = async (raw: string): Promise<number> => {
    const before = await adapterSearches();
    hl7.conn.send(raw);
    expect(ackCode(await hl7.conn.frame()).code).toBe('AA');
    return (await adapterSearches()) - before;
  };

  it('the Patient found by the mapper is not searched again to compare it; new practitioners are compared again under their lock', async () => {
    // Mapper: the Patient. First comparison: the two Practitioners (the Patient answered from the mapper's search).
    // Both Practitioners are new: compared again, afresh, under their upsert lock; the Patient, held by the message, is not.
    expect(await searchesOf(message('ONCE-1', 'Once', 'A01'))).toBe(5);
    // The usual message: the same practitioners (dropped unchanged) and a changed Patient: three searches, one per resource.
    expect(await searchesOf(message('ONCE-2', 'Twice', 'A08'))).toBe(3);
    const patient = await one('Patient?identifier=MRN-ONCE');
    expect([patient.name[0].family, patient.meta.versionId]).toEqual(['Twice', '2']);
    expect((await one('Practitioner?identifier=DOC-ONCE')).meta.versionId).toBe('1');
  });
});

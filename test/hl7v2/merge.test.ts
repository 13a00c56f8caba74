import { describe, expect, it } from 'vitest';
import { ADT, ackCode, useMllpServer } from './support.js';

/**
 * Issue 19 item 3, through a real MLLP socket: after ADT^A40, messages naming the merged-away
 * identifier update the survivor (following `replaced-by`, over several merges), and a repeated
 * A40 leaves one link each way.
 */
const hl7 = useMllpServer();

let n = 0;
const A40 = (id: string, survivor: string, old: string): string =>
  [`MSH|^~\\&|TESTAPP|TESTFAC|FHIRGATE|HOSP|20240101120000||ADT^A40^ADT_A39|${id}|P|2.5.1`, 'EVN|A40|20240101120000', `PID|1||${survivor}^^^TESTFAC^MR||Survivor^Ada||19800101|F`, `MRG|${old}^^^TESTFAC^MR`].join('\r') + '\r';
const patient = async (mrn: string): Promise<any[]> => (await hl7.fhir.get(`Patient?identifier=${encodeURIComponent(mrn)}`)).body.entry?.map((e: any) => e.resource) ?? [];
const ok = async (message: string): Promise<void> => expect(ackCode(await hl7.send(message)).code).toBe('AA');

describe('after ADT^A40', () => {
  it('an A08 with the old identifier updates the survivor, not the inactive Patient', async () => {
    await ok(ADT(`M1-${++n}`, 'MRN-M1-OLD', 'Old'));
    await ok(ADT(`M1-${++n}`, 'MRN-M1-NEW', 'Survivor'));
    await ok(A40(`M1-${++n}`, 'MRN-M1-NEW', 'MRN-M1-OLD'));
    const [oldBefore] = await patient('MRN-M1-OLD');
    expect(oldBefore).toMatchObject({ active: false, link: [{ type: 'replaced-by' }] });

    await ok(ADT(`M1-${++n}`, 'MRN-M1-OLD', 'Renamed', 'A08'));
    const [old] = await patient('MRN-M1-OLD');
    expect(old.meta.versionId).toBe(oldBefore.meta.versionId);
    expect(old.name[0].family).toBe('Old');
    const [survivor] = await patient('MRN-M1-NEW');
    expect(old.link[0].other.reference).toBe(`Patient/${survivor.id}`);
    expect(survivor).toMatchObject({ active: true, name: [{ family: 'Renamed' }] });
    // The old identifier keeps naming one Patient: the survivor does not take it over.
    expect(survivor.identifier.map((i: any) => i.value)).not.toContain('MRN-M1-OLD');
  });

  it('a pharmacy order with the old identifier names the survivor as subject', async () => {
    await ok(
      ['MSH|^~\\&|TESTAPP|TESTFAC|FHIRGATE|HOSP|20240101120000||RDE^O11^RDE_O11|M2-1|P|2.5.1', 'PID|1||MRN-M1-OLD^^^TESTFAC^MR||Old^Ada', 'ORC|NW|ORD-M2^TESTFAC', 'RXE||RX1^Amoxicillin^NDC|500||mg^mg^UCUM'].join('\r') + '\r',
    );
    const [survivor] = await patient('MRN-M1-NEW');
    const [order] = (await hl7.fhir.get('MedicationRequest?identifier=ORD-M2')).body.entry.map((e: any) => e.resource);
    expect(order.subject.reference).toBe(`Patient/${survivor.id}`);
  });

  it('follows several merges to the last survivor', async () => {
    await ok(ADT(`M3-${++n}`, 'MRN-M3-A', 'A'));
    await ok(ADT(`M3-${++n}`, 'MRN-M3-B', 'B'));
    await ok(ADT(`M3-${++n}`, 'MRN-M3-C', 'C'));
    await ok(A40(`M3-${++n}`, 'MRN-M3-B', 'MRN-M3-A'));
    await ok(A40(`M3-${++n}`, 'MRN-M3-C', 'MRN-M3-B'));
    await ok(ADT(`M3-${++n}`, 'MRN-M3-A', 'ViaA', 'A08'));
    const [[a], [b], [c]] = await Promise.all(['A', 'B', 'C'].map((x) => patient(`MRN-M3-${x}`)));
    expect([a.name[0].family, b.name[0].family, c.name[0].family]).toEqual(['A', 'Survivor', 'ViaA']);
    expect([a.active, b.active, c.active]).toEqual([false, false, true]);
  });

  it('a repeated A40 does not duplicate the links', async () => {
    await ok(ADT(`M4-${++n}`, 'MRN-M4-OLD', 'Old'));
    await ok(ADT(`M4-${++n}`, 'MRN-M4-NEW', 'New'));
    await ok(A40(`M4-${++n}`, 'MRN-M4-NEW', 'MRN-M4-OLD'));
    // Resent under a new control id (not a redelivery), and a third time.
    await ok(A40(`M4-${++n}`, 'MRN-M4-NEW', 'MRN-M4-OLD'));
    await ok(A40(`M4-${++n}`, 'MRN-M4-NEW', 'MRN-M4-OLD'));
    const [old] = await patient('MRN-M4-OLD');
    const [survivor] = await patient('MRN-M4-NEW');
    expect(old.link).toEqual([{ other: { reference: `Patient/${survivor.id}` }, type: 'replaced-by' }]);
    expect(survivor.link).toEqual([{ other: { reference: `Patient/${old.id}` }, type: 'replaces' }]);
  });
});

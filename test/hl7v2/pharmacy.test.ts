import { describe, expect, it } from 'vitest';
import { ackCode, useMllpServer } from './support.js';

/**
 * Issue 19 items 4 and 5, through a real MLLP socket: ORC groups repeating an order number in one
 * message are each applied (to the same order, in message order) or the message is answered AE,
 * never is one of them dropped with AA; the pharmacy fields the mapping had lost reach the
 * MedicationRequest and MedicationDispense (field tables: mapping-units.test.ts).
 */
const hl7 = useMllpServer();

const msg = (type: string, id: string, mrn: string, ...segments: string[]): string =>
  [`MSH|^~\\&|PHARM|FAC|FHIRGATE|HOSP|20240101120000||${type}|${id}|P|2.5.1`, `PID|1||${mrn}^^^FAC^MR||Doe^Jane||19700101|F`, ...segments].join('\r') + '\r';

const search = async (query: string): Promise<any[]> => (await hl7.fhir.get(query)).body.entry?.map((e: any) => e.resource) ?? [];

describe('two ORC groups with the same order number', () => {
  it('OMP^O09: the second group updates the order the first created, in one version', async () => {
    const ack = await hl7.send(
      msg('OMP^O09^OMP_O09', 'OG-1', 'MRN-OG-1',
        'ORC|NW|ORD-OG-1^FAC',
        'RXO|RX1^Amoxicillin^NDC|500||mg^mg^UCUM|||||||20|tab^tab^UCUM',
        'ORC|HD|ORD-OG-1^FAC',
        'RXO|RX1^Amoxicillin^NDC|250||mg^mg^UCUM'),
    );
    expect(ackCode(ack)).toMatchObject({ code: 'AA', controlId: 'OG-1' });
    const orders = await search('MedicationRequest?identifier=ORD-OG-1');
    expect(orders).toHaveLength(1);
    // What the second group carries replaces (status, dose); what only the first carries stays (dispense amount).
    expect(orders[0]).toMatchObject({ status: 'on-hold', dispenseRequest: { quantity: { value: 20 } }, meta: { versionId: '1' } });
    expect(orders[0].dosageInstruction[0].doseAndRate[0].doseQuantity).toMatchObject({ value: 250, unit: 'mg' });
  });

  it('OMP^O09: groups naming different medications under one number: AE 205, nothing written', async () => {
    const ack = await hl7.send(
      msg('OMP^O09^OMP_O09', 'OG-2', 'MRN-OG-2',
        'ORC|NW|ORD-OG-2^FAC',
        'RXO|RX1^Amoxicillin^NDC|500||mg^mg^UCUM',
        'ORC|NW|ORD-OG-2^FAC',
        'RXO|RX2^Ibuprofen^NDC|400||mg^mg^UCUM'),
    );
    expect(ackCode(ack)).toMatchObject({ code: 'AE', controlId: 'OG-2', error: '205' });
    expect(ack).toMatch(/ERR\|\|ORC\^2\^2\|205/);
    expect(await search('MedicationRequest?identifier=ORD-OG-2')).toHaveLength(0);
    expect(await search('Patient?identifier=MRN-OG-2')).toHaveLength(0);
  });

  it('RDS^O13: a dispense in each group, without RXD-1: both dispenses are kept', async () => {
    const ack = await hl7.send(
      // RXE-12: one refill, so the order allows both fills (the dispensing rules of issue 17 count them).
      msg('RDS^O13^RDS_O13', 'OG-3', 'MRN-OG-3',
        'ORC|RE|ORD-OG-3^FAC',
        'RXE||RX1^Amoxicillin^NDC|500||mg^mg^UCUM|||||||1',
        'RXD||RX1^Amoxicillin^NDC|20240102|10|tab^tab^UCUM',
        'ORC|RE|ORD-OG-3^FAC',
        'RXE||RX1^Amoxicillin^NDC|500||mg^mg^UCUM|||||||1',
        'RXD||RX1^Amoxicillin^NDC|20240109|6|tab^tab^UCUM'),
    );
    expect(ackCode(ack)).toMatchObject({ code: 'AA', controlId: 'OG-3' });
    const [order] = await search('MedicationRequest?identifier=ORD-OG-3');
    const dispenses = await search(`MedicationDispense?prescription=MedicationRequest/${order.id}`);
    expect(dispenses.map((d) => [d.identifier[0].value, d.quantity.value, d.whenHandedOver]).sort()).toEqual([
      ['ORD-OG-3-1', 10, '2024-01-02'],
      ['ORD-OG-3-2', 6, '2024-01-09'],
    ]);
  });

  it('RDS^O13: the same RXD-1 twice for one order: AE 205 at RXD-1', async () => {
    const ack = await hl7.send(
      msg('RDS^O13^RDS_O13', 'OG-4', 'MRN-OG-4',
        'ORC|RE|ORD-OG-4^FAC',
        'RXE||RX1^Amoxicillin^NDC|500||mg^mg^UCUM',
        'RXD|1|RX1^Amoxicillin^NDC|20240102|10|tab^tab^UCUM',
        'ORC|RE|ORD-OG-4^FAC',
        'RXD|1|RX1^Amoxicillin^NDC|20240109|6|tab^tab^UCUM'),
    );
    expect(ackCode(ack)).toMatchObject({ code: 'AE', error: '205' });
    expect(ack).toMatch(/ERR\|\|RXD\^2\^1\|205/);
    expect(await search('MedicationRequest?identifier=ORD-OG-4')).toHaveLength(0);
  });
});

describe('pharmacy mapping completeness', () => {
  it('RDE^O11: requester from RXE-13 when ORC-12 is empty; instructions, rate, daily maximum, route of the RXE group', async () => {
    const ack = await hl7.send(
      msg('RDE^O11^RDE_O11', 'PX-1', 'MRN-PX-1',
        'ORC|NW|ORD-PX-1^FAC',
        'RXO|RX1^Heparin^NDC',
        'RXR|IM^Intramuscular^HL70162',
        'RXE||RX1^Heparin^NDC|1000||U^^UCUM||^Check aPTT~^Stop if bleeding||||||DEA-77^House^Greg^^^Dr||||||5000^U&&UCUM||^Protect from light|H1|50|mL^^UCUM',
        'RXR|IV^Intravenous^HL70162'),
    );
    expect(ackCode(ack)).toMatchObject({ code: 'AA', controlId: 'PX-1' });
    const [order] = await search('MedicationRequest?identifier=ORD-PX-1');
    const requester = (await hl7.fhir.get(order.requester.reference)).body;
    expect(requester).toMatchObject({ resourceType: 'Practitioner', identifier: [{ value: 'DEA-77' }], name: [{ family: 'House' }] });
    const [d] = order.dosageInstruction;
    expect(d).toMatchObject({
      text: 'Protect from light',
      patientInstruction: 'Check aPTT; Stop if bleeding',
      additionalInstruction: [{ text: 'Check aPTT' }, { text: 'Stop if bleeding' }],
      route: { coding: [{ code: 'IVINJ' }, { code: 'IV' }] },
      maxDosePerPeriod: { numerator: { value: 5000, code: 'U' }, denominator: { value: 1, code: 'd' } },
      doseAndRate: [{ doseQuantity: { value: 1000 }, rateRatio: { numerator: { value: 50, code: 'mL' }, denominator: { value: 1, code: 'h' } } }],
    });
  });

  it('OMP^O09: requester from RXO-14 when ORC-12 is empty', async () => {
    const ack = await hl7.send(msg('OMP^O09^OMP_O09', 'PX-2', 'MRN-PX-2', 'ORC|NW|ORD-PX-2^FAC', 'RXO|RX1^Amoxicillin^NDC|500||mg^mg^UCUM||||||||||DOC-9^Who^John'));
    expect(ackCode(ack).code).toBe('AA');
    const [order] = await search('MedicationRequest?identifier=ORD-PX-2');
    expect((await hl7.fhir.get(order.requester.reference)).body).toMatchObject({ identifier: [{ value: 'DOC-9' }] });
  });

  it('RDS^O13: each dispense takes the route of the RXR after its RXD', async () => {
    const ack = await hl7.send(
      msg('RDS^O13^RDS_O13', 'PX-3', 'MRN-PX-3',
        'ORC|RE|ORD-PX-3^FAC',
        'RXE||RX1^Amoxicillin^NDC|500||mg^mg^UCUM|||||||1',
        'RXR|IV^Intravenous^HL70162',
        'RXD|1|RX1^Amoxicillin^NDC|20240102|10|tab^tab^UCUM',
        'RXR|PO^Oral^HL70162',
        'RXD|2|RX1^Amoxicillin^NDC|20240103|10|tab^tab^UCUM',
        'RXR|NG^Nasogastric^HL70162'),
    );
    expect(ackCode(ack).code).toBe('AA');
    const routes = await Promise.all(['1', '2'].map(async (n) => (await search(`MedicationDispense?identifier=ORD-PX-3-${n}`))[0].dosageInstruction[0].route.coding.at(-1).code));
    expect(routes).toEqual(['PO', 'NG']);
  });
});

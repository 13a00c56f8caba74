import { describe, expect, it } from 'vitest';
import { markersOnDisk } from '../crypto/support.js';
import { ackCode, useMllpServer } from './support.js';

/**
 * Issue 19 item 6, through a real MLLP socket: PID-7 time, PID-12, PID-15, PID-19, PID-20, PID-23,
 * PID-26, PID-28 and SAD-2/3 reach the Patient (IG PID[Patient], SAD[Address], DLN[Identifier]);
 * the SSN and the driver's licence are encrypted at rest by default; `""` clears on update.
 */
const RUN = Math.random().toString(36).slice(2, 8).toUpperCase();
const SSN = `SSN${RUN}`;
const DL = `DLN${RUN}`;
const hl7 = useMllpServer();

const pid = (f: Record<number, string>): string => `PID${Array.from({ length: 30 }, (_, i) => `|${f[i + 1] ?? ''}`).join('').replace(/\|+$/, '')}`;
const adt = (id: string, event: string, fields: Record<number, string>): string =>
  [`MSH|^~\\&|TESTAPP|TESTFAC|FHIRGATE|HOSP|20240101120000||ADT^${event}^ADT_A01|${id}|P|2.5.1`, `EVN|${event}`, pid(fields), 'PV1|1|I'].join('\r') + '\r';
const patient = async (mrn: string): Promise<any> => (await hl7.fhir.get(`Patient?identifier=${mrn}`)).body.entry?.[0]?.resource;

const FULL = {
  3: `MRN-PM-${RUN}^^^TESTFAC^MR`,
  5: 'Doe^Jane',
  7: '198808181126+0215',
  8: 'F',
  11: '1000&Hospital Lane&Apt 4^Ste. 123^Ann Arbor^MI^99999^USA^H',
  12: 'WASHTENAW',
  15: 'ara^Arabic^HL70296^eng^English^HL70296',
  16: 'M',
  19: SSN,
  20: `${DL}^MI^20300123`,
  23: 'St. Francis Hospital',
  26: 'US^United States of America^ISO3166_1',
  28: 'BT^Bhutan^ISO3166_1',
};

describe('PID fields beyond the core demographics', () => {
  it('are mapped as the IG tables say', async () => {
    expect(ackCode(await (hl7.conn.send(adt(`PM-1-${RUN}`, 'A01', FULL)), hl7.conn.frame())).code).toBe('AA');
    const p = await patient(`MRN-PM-${RUN}`);
    expect(p.birthDate).toBe('1988-08-18');
    expect(p._birthDate).toEqual({ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1988-08-18T11:26:00+02:15' }] });
    expect(p.address).toEqual([{ use: 'home', line: ['1000', 'Hospital Lane', 'Apt 4', 'Ste. 123'], city: 'Ann Arbor', state: 'MI', postalCode: '99999', country: 'USA', district: 'WASHTENAW' }]);
    expect(p.communication).toEqual([
      { language: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0296', code: 'ara', display: 'Arabic' }, { system: 'http://terminology.hl7.org/CodeSystem/v2-0296', code: 'eng', display: 'English' }] } },
    ]);
    const v20203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
    expect(p.identifier).toEqual(
      expect.arrayContaining([
        { system: 'http://hl7.org/fhir/sid/us-ssn', value: SSN, type: { coding: [{ system: v20203, code: 'SS' }] } },
        { system: 'urn:fhirgate:hl7v2:authority:MI', value: DL, type: { coding: [{ system: v20203, code: 'DL' }] }, period: { end: '2030-01-23' } },
      ]),
    );
    const ext = (url: string) => p.extension.filter((e: any) => e.url === `http://hl7.org/fhir/StructureDefinition/${url}`);
    expect(ext('patient-birthPlace')).toEqual([{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { text: 'St. Francis Hospital' } }]);
    expect(ext('patient-citizenship')[0].extension).toEqual([{ url: 'code', valueCodeableConcept: { coding: [{ system: 'urn:iso:std:iso:3166', code: 'US', display: 'United States of America' }] } }]);
    expect(ext('patient-nationality')[0].extension[0].valueCodeableConcept.coding[0].code).toBe('BT');
  });

  it('the SSN and the driver’s licence number are encrypted at rest by default', () => {
    expect(markersOnDisk(hl7.server.dataDir, [SSN, DL])).toEqual([]);
    expect(hl7.server.logs.filter((l) => l.includes(SSN) || l.includes(DL))).toEqual([]);
  });

  it('a new SSN replaces the stored one (PID-19 holds one number)', async () => {
    const update = { 3: FULL[3], 19: `${SSN}-2` };
    expect(ackCode(await (hl7.conn.send(adt(`PM-1b-${RUN}`, 'A08', update)), hl7.conn.frame())).code).toBe('AA');
    const p = await patient(`MRN-PM-${RUN}`);
    expect(p.identifier.filter((i: any) => i.type?.coding?.[0]?.code === 'SS').map((i: any) => i.value)).toEqual([`${SSN}-2`]);
    expect(p.identifier.filter((i: any) => i.type?.coding?.[0]?.code === 'DL').map((i: any) => i.value)).toEqual([DL]);
  });

  it('an update with "" clears those elements; fields left empty keep theirs', async () => {
    const update = { 3: FULL[3], 7: '""', 12: '""', 15: '""', 16: '""', 19: '""', 20: '""', 23: '""', 26: '""' };
    expect(ackCode(await (hl7.conn.send(adt(`PM-2-${RUN}`, 'A08', update)), hl7.conn.frame())).code).toBe('AA');
    const p = await patient(`MRN-PM-${RUN}`);
    for (const gone of ['birthDate', '_birthDate', 'communication', 'maritalStatus']) expect(p[gone], gone).toBeUndefined();
    expect(p.identifier.map((i: any) => i.type?.coding?.[0]?.code)).toEqual(['MR']);
    expect(p.extension.map((e: any) => e.url.split('/').at(-1))).toEqual(['patient-nationality']);
    // Not sent as "": kept (name, gender, the address, but for its county).
    expect(p).toMatchObject({ name: [{ family: 'Doe' }], gender: 'female', address: [{ city: 'Ann Arbor', line: ['1000', 'Hospital Lane', 'Apt 4', 'Ste. 123'] }] });
    expect(p.address[0].district).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { dosage } from '../../src/hl7v2/map/dosage.js';
import { TransactionBuilder } from '../../src/hl7v2/map/bundle.js';
import { orderGroups } from '../../src/hl7v2/map/medication-request.js';
import { patientFromPid } from '../../src/hl7v2/map/patient.js';
import { parseV2 } from '../../src/hl7v2/parse.js';

/** The dosage of the first order group of a message made of `segments` (after MSH and PID). */
function dosageOf(version: string, ...segments: string[]) {
  const message = parseV2([`MSH|^~\\&|A|F|B|G|20240101||RDE^O11|1|P|${version}`, 'PID|1||X^^^F^MR', ...segments].join('\r') + '\r');
  return dosage(orderGroups(message)[0]);
}
const field = (n: number, value: string): string => `${'|'.repeat(n)}${value}`;
const UCUM = 'http://unitsofmeasure.org';
const V2_0335 = 'http://terminology.hl7.org/CodeSystem/v2-0335';

// Issue 19 item 5: the v2 fields the pharmacy mapping had lost, each against what the IG tables (or, where they are silent, docs/hl7v2-mapping.md) say.
describe('pharmacy Dosage (RXE/RXO, RXR, TQ1, TQ)', () => {
  it.each([
    [
      'every RXE-7 repetition: additionalInstruction and patientInstruction',
      ['2.5.1', 'ORC|NW|1', `RXE${field(2, 'RX1^Drug^NDC')}${field(5, '^With food~AF^After meals^L')}`],
      {
        additionalInstruction: [{ text: 'With food' }, { coding: [{ code: 'AF', display: 'After meals' }] }],
        patientInstruction: 'With food; After meals',
      },
    ],
    ['RXE-7 sentences in CWE-1 (no display, no system) stay text', ['2.5.1', 'ORC|NW|1', `RXE${field(2, 'RX1^Drug^NDC')}${field(5, 'Titrate to BP~AF')}`], { additionalInstruction: [{ text: 'Titrate to BP' }, { coding: [{ code: 'AF' }] }], patientInstruction: 'Titrate to BP; AF' }],
    ['RXE-21 (pharmacy instructions) → text', ['2.5.1', 'ORC|NW|1', `RXE${field(2, 'RX1^Drug^NDC')}${field(19, '^Refrigerate')}`], { text: 'Refrigerate' }],
    ['RXO-6 → text, RXO-7 → patientInstruction', ['2.5.1', 'ORC|NW|1', `RXO|RX1^Drug^NDC${field(5, '^Check renal function')}|^Take 1 tablet`], { text: 'Check renal function', patientInstruction: 'Take 1 tablet' }],
    ['RXE-23/24 → rateQuantity', ['2.5.1', 'ORC|NW|1', `RXE${field(2, 'RX1^Drug^NDC')}${field(21, '7|mL/h^^UCUM')}`], { doseAndRate: [{ rateQuantity: { value: 7, unit: 'mL/h', system: UCUM, code: 'mL/h' } }] }],
    [
      'RXE-22 give per H1 → rateRatio',
      ['2.5.1', 'ORC|NW|1', `RXE${field(2, 'RX1^Drug^NDC')}${field(20, 'H1|50|mL^^UCUM')}`],
      { doseAndRate: [{ rateRatio: { numerator: { value: 50, unit: 'mL', system: UCUM, code: 'mL' }, denominator: { value: 1, unit: 'h', system: UCUM, code: 'h' } } }] },
    ],
    ['RXE-19 → maxDosePerPeriod per day', ['2.5.1', 'ORC|NW|1', `RXE${field(2, 'RX1^Drug^NDC')}${field(17, '5^mg&&UCUM')}`], { maxDosePerPeriod: { numerator: { value: 5, unit: 'mg', system: UCUM, code: 'mg' }, denominator: { value: 1, unit: 'd', system: UCUM, code: 'd' } } }],
    [
      'route of the RXR after RXE, not of the RXO group',
      ['2.5.1', 'ORC|NW|1', 'RXO|RX1^Drug^NDC', 'RXR|IV^Intravenous^HL70162', 'RXE||RX1^Drug^NDC', 'RXR|PO^Oral^HL70162'],
      { route: { coding: [{ code: 'PO' }, { code: 'PO' }] } },
    ],
    [
      'TQ1-3 coded (RPT), TQ1-4 times, TQ1-7 start, TQ1-14 count (not countMax: tim-8)',
      ['2.5.1', 'ORC|NW|1', 'TQ1|1|2^tab&&UCUM|BID^twice a day^HL70335|0800~2000|||20240101|||||||3', 'RXE||RX1^Drug^NDC'],
      {
        timing: {
          code: { coding: [{ system: V2_0335, code: 'BID', display: 'twice a day' }, { system: 'http://terminology.hl7.org/CodeSystem/v3-GTSAbbrev', code: 'BID' }] },
          repeat: { timeOfDay: ['08:00:00', '20:00:00'], boundsPeriod: { start: '2024-01-01' }, count: 3 },
        },
        doseAndRate: [{ doseQuantity: { value: 2, unit: 'tab', system: UCUM, code: 'tab' } }],
      },
    ],
    ['v2.3: frequency from RXE-1 (TQ)', ['2.3', 'ORC|NW|1', 'RXE|1&tab^Q24H&0600^^20210330144208|RX1^Drug^NDC'], { timing: { code: { coding: [{ system: V2_0335, code: 'Q24H' }] }, repeat: { timeOfDay: ['06:00:00'], boundsPeriod: { start: '2021-03-30T14:42:08Z' } } } }],
    ['v2.4: frequency from ORC-7 (TQ), free text', ['2.4', `ORC|NW|1${field(5, '^3 times daily^^20210401')}`, 'RXO|RX1^Drug^NDC'], { timing: { code: { text: '3 times daily' }, repeat: { boundsPeriod: { start: '2021-04-01' } } } }],
  ])('%s', (_name, [version, ...segments], expected) => {
    expect(dosageOf(version, ...segments)).toMatchObject(expected);
  });
});

describe('PID → Patient, fields beyond the core (IG PID[Patient], SAD, DLN)', () => {
  const ctx = { identifierSystems: {}, defaultIdentifierSystem: 'urn:a:{authority}', sendingFacility: 'FAC', source: 'urn:test', uuid: () => crypto.randomUUID() };
  const patientOf = (fields: Record<number, string>) => {
    const pid = `PID${Array.from({ length: 30 }, (_, i) => `|${fields[i + 1] ?? ''}`).join('')}`;
    const message = parseV2(`MSH|^~\\&|A|F|B|G|20240101||ADT^A01|1|P|2.5.1\r${pid}\r`);
    return patientFromPid(message, message.first('PID')!, ctx, new TransactionBuilder(ctx)) as Record<string, any>;
  };
  const SS = { system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'SS' };
  it.each([
    ['PID-7 date only: no birthTime', { 7: '19880818' }, { birthDate: '1988-08-18', _birthDate: undefined }],
    ['PID-7 with time', { 7: '198808181126' }, { birthDate: '1988-08-18', _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1988-08-18T11:26:00Z' }] } }],
    ['PID-19', { 19: '123-45-6789' }, { identifier: [{ system: 'http://hl7.org/fhir/sid/us-ssn', value: '123-45-6789', type: { coding: [SS] } }] }],
    ['PID-20 without state', { 20: 'D123' }, { identifier: [{ value: 'D123', type: { coding: [{ ...SS, code: 'DL' }] } }] }],
    ['PID-12 without address', { 12: 'GL' }, { address: [{ district: 'GL' }] }],
    ['PID-12 with an address naming another county', { 11: 'Main St^^Town^^^^H^^KENT', 12: 'GL' }, { address: [{ line: ['Main St'], city: 'Town', use: 'home', district: 'KENT' }, { district: 'GL' }] }],
    ['PID-12 with two addresses', { 11: 'A St^^T1~B St^^T2', 12: 'GL' }, { address: [{ line: ['A St'], city: 'T1' }, { line: ['B St'], city: 'T2' }, { district: 'GL' }] }],
    ['SAD-1/2/3 and XAD-2', { 11: '12&Elm&Apt 3^Rear' }, { address: [{ line: ['12', 'Elm', 'Apt 3', 'Rear'] }] }],
    ['PID-15 text only', { 15: '^Arabic' }, { communication: [{ language: { text: 'Arabic' } }] }],
    ['PID-26 two repetitions', { 26: 'US~CA' }, { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-citizenship', extension: [{ url: 'code', valueCodeableConcept: { coding: [{ code: 'US' }] } }] }, { url: 'http://hl7.org/fhir/StructureDefinition/patient-citizenship', extension: [{ url: 'code', valueCodeableConcept: { coding: [{ code: 'CA' }] } }] }] }],
  ])('%s', (_name, fields, expected) => {
    const patient = patientOf({ 3: 'M1^^^FAC^MR', ...fields });
    for (const [key, value] of Object.entries(expected)) {
      if (key === 'identifier') expect(patient.identifier.slice(1)).toEqual(value);
      else expect(patient[key], key).toEqual(value);
    }
  });
});

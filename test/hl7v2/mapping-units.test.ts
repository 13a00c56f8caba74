import { describe, expect, it } from 'vitest';
import { dosage } from '../../src/hl7v2/map/dosage.js';
import { orderGroups } from '../../src/hl7v2/map/medication-request.js';
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

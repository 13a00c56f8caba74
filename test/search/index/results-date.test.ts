import { describe, expect, it } from 'vitest';
import { GENERATED, generated } from './fixtures.js';
import { corpusIds, testIndex, describeEachStore, type Clause } from './support.js';

const index = testIndex();

type Case = [value: string, expected: string[]];

/** Patients gen-muller (born 1990-06-15), gen-smith (1990-06) and gen-mueller (1990): one per precision. */
const BIRTHDATE: Case[] = [
  ['1990', ['gen-mueller', 'gen-muller', 'gen-smith']],
  ['1990-06', ['gen-muller', 'gen-smith']],
  ['1990-06-15', ['gen-muller']],
  ['1990-06-14', []],
  ['ne1990-06', ['gen-mueller']],
  ['gt1990-06', ['gen-mueller']],
  ['gt1990-06-15', ['gen-mueller', 'gen-smith']],
  ['ge1990-06-15', ['gen-mueller', 'gen-muller', 'gen-smith']],
  ['lt1990-06-15', ['gen-mueller', 'gen-smith']],
  ['lt1990-06-01', ['gen-mueller']],
  ['le1990-06-15', ['gen-mueller', 'gen-muller', 'gen-smith']],
  ['le1990-05', ['gen-mueller']],
  // sa/eb: the target lies wholly after / before the search range, to the millisecond
  ['sa1990-06-14', ['gen-muller']],
  ['sa1990-06-15', []],
  ['eb1990-06-16', ['gen-muller']],
  ['eb1990-06-15', []],
  ['eb1991', ['gen-mueller', 'gen-muller', 'gen-smith']],
  ['sa1989', ['gen-mueller', 'gen-muller', 'gen-smith']],
  // ap: ±10% of the 34.5 years to "now" (2025-01-01), about 3.5 years
  ['ap1993-06', ['gen-mueller', 'gen-muller', 'gen-smith']],
  ['ap1995', []],
];

/** gen-smyth died 2020-02-29T12:30:00+01:00, i.e. 11:30:00 UTC (second precision). */
const DEATH_DATE: Case[] = [
  ['2020-02-29T11:30Z', ['gen-smyth']],
  ['2020-02-29T12:30+01:00', ['gen-smyth']],
  ['2020-02-29T06:30-05:00', ['gen-smyth']],
  ['2020-02-29T11:30', ['gen-smyth']], // no zone: UTC
  ['2020-02-29T11:31Z', []],
  ['2020-02-29T11:30:00Z', ['gen-smyth']],
  ['2020-02-29T11:30:01Z', []],
  ['gt2020-02-29T11:29Z', ['gen-smyth']],
  ['gt2020-02-29T11:30Z', []],
  ['lt2020-02-29T11:30Z', []],
  ['lt2020-02-29T11:31Z', ['gen-smyth']],
  ['2020-02-29', ['gen-smyth']],
  ['2020-02-28', []],
  ['2020-02', ['gen-smyth']],
];

/** Consent provision periods: [2020-01-01, ∞), (-∞, 2019-12-31], [2019-06-01, 2020-06-30], and none. */
const PERIOD: Case[] = [
  ['2030', []],
  ['2019-06-01', []],
  ['2019', []], // neither an open start nor a period reaching into 2020 lies inside 2019
  ['ge2020-01-01', ['gen-c-closed', 'gen-c-open-end']],
  ['gt2025', ['gen-c-open-end']],
  ['lt2000', ['gen-c-open-start']],
  ['le2019-12-31', ['gen-c-closed', 'gen-c-open-start']],
  ['sa2019', ['gen-c-open-end']],
  ['eb2020', ['gen-c-open-start']],
  ['ne2019', ['gen-c-closed', 'gen-c-open-end', 'gen-c-open-start']],
  ['ap2020-01-01', ['gen-c-closed', 'gen-c-open-end', 'gen-c-open-start']],
  ['eq0001-01-01', []],
];

describeEachStore('date searches', index, GENERATED, (handle) => {
  function run(type: string, code: string, cases: Case[], only: (ids: string[]) => string[] = generated): void {
    it.each(cases)(`${type}?${code}=%s`, async (value, expected) => {
      expect(only(await handle.db.ids(type, [code, undefined, [value]]))).toEqual(expected);
    });
  }

  describe('date prefixes at year, month and day precision (birthdate)', () => run('Patient', 'birthdate', BIRTHDATE));
  describe('date searches at minute and second precision, with zones (death-date)', () => run('Patient', 'death-date', DEATH_DATE));
  describe('Periods with open ends (Consent period)', () => run('Consent', 'period', PERIOD));

  describe('dates of the official examples', () => {
    const dated = (type: string, field: string, prefix: string): string[] =>
      corpusIds(type, (r) => typeof r[field] === 'string' && (r[field] as string).startsWith(prefix));
    const withoutPeriod = (r: Record<string, unknown>): boolean => !(r.provision as { period?: unknown } | undefined)?.period;
    const cases: Array<[label: string, type: string, clause: Clause, expected: string[]]> = [
      ['a day', 'Consent', ['date', undefined, ['2015-11-18']], dated('Consent', 'dateTime', '2015-11-18')],
      ['-04:00 moves 00:41 to the same UTC day', 'Consent', ['date', undefined, ['2016-05-26']], ['consent-example-signature']],
      ['+10:00 moves 17:02 back to 07:02 UTC', 'Consent', ['date', undefined, ['2016-06-23T07:02Z']], ['consent-example-smartonfhir']],
      ['+10:00 keeps the UTC day', 'Consent', ['date', undefined, ['2016-06-22']], []],
      [
        '+05:00 dispenses at 07:13 local time',
        'MedicationDispense',
        ['whenhandedover', undefined, ['2015-06-26T02:13Z']],
        dated('MedicationDispense', 'whenHandedOver', '2015-06-26T07:13'),
      ],
      ['+11:00 audit at 11:04:27 UTC', 'AuditEvent', ['date', undefined, ['2012-10-25T11:04:27Z']], ['example']],
      ['audits after 2015', 'AuditEvent', ['date', undefined, ['sa2015']], ['example-error']],
      ['appointments in December 2013', 'Appointment', ['date', undefined, ['2013-12']], ['2docs', 'example']],
      ['birthdate:missing', 'Patient', ['birthdate', 'missing', ['true']], [...corpusIds('Patient', (r) => !r.birthDate), 'gen-noname', 'gen-smyth'].sort()],
      ['period:missing', 'Consent', ['period', 'missing', ['true']], [...corpusIds('Consent', withoutPeriod), 'gen-c-none'].sort()],
    ];
    it.each(cases)('%s', async (_label, type, clause, expected) => {
      expect(await handle.db.ids(type, clause)).toEqual(expected);
    });
  });

  describe('Timing events and _lastUpdated', () => {
    const t = (value: string): Clause => ['date', undefined, [value]];
    it.each([
      ['2021-03-05', ['gen-mr-t1']],
      ['2021-03-03', ['gen-mr-t2']],
      ['2021-03-04', []],
      ['2021-03', ['gen-mr-t1', 'gen-mr-t2']],
      ['ge2021-04-01', ['gen-mr-t3']],
    ])('MedicationRequest?date=%s matches single events', async (value, expected) => {
      expect(generated(await handle.db.ids('MedicationRequest', t(value)))).toEqual(expected);
    });

    it.each([
      ['2024-05-01T10:00Z', ['gen-muller']],
      ['2024-05-01T10:00:00.000Z', ['gen-muller']],
      ['2024-05-01T10:00:00.001Z', []],
      ['gt2024', []],
      ['ge2024-05-01', ['gen-muller']],
      ['sa2024-04', ['gen-muller']],
    ])('Patient?_lastUpdated=%s uses the record field', async (value, expected) => {
      expect(generated(await handle.db.ids('Patient', ['_lastUpdated', undefined, [value]]))).toEqual(expected);
    });
  });
});

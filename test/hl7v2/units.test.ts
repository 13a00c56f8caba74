import { describe, expect, it } from 'vitest';
import { readVocabulary, VOCABULARIES } from '../../scripts/build-hl7v2-vocabulary.js';
import { buildAck, DEFAULT_DELIMITERS } from '../../src/hl7v2/ack.js';
import { MllpDecoder } from '../../src/hl7v2/framing.js';
import { address, contactPoint, date, dateTime, humanName } from '../../src/hl7v2/map/datatypes.js';
import { VOCABULARY } from '../../src/hl7v2/map/vocabulary.js';
import { parseV2 } from '../../src/hl7v2/parse.js';
import { contentHash } from '../../src/hl7v2/dedupe.js';
import { enhancedMode } from '../../src/hl7v2/inbound.js';
import { normalizeSegments } from '../../src/hl7v2/segments.js';

const rep = (s: string) => s.split('^').map((c) => c.split('&').map((x) => x || undefined));

describe('parse (hl7v2 package, verbatim values)', () => {
  it('keeps precision, splits sub-components and unescapes', () => {
    const m = parseV2('MSH|^~\\&|A|F|B|G|2024||ADT^A01|1|P|2.3\rPID|1||X\\F\\1^^^AUTH&1.2.3&ISO||Doe&&&&Van^J~Alias||1980\r');
    const pid = m.first('PID')!;
    expect([m.version, m.messageCode, m.triggerEvent, m.controlId]).toEqual(['2.3', 'ADT', 'A01', '1']);
    expect(pid.get(3)).toBe('X|1');
    expect(pid.get(3, 4, 2)).toBe('1.2.3');
    expect(pid.get(5, 1, 5)).toBe('Van');
    expect(pid.get(5, 1, 1, 1)).toBe('Alias');
    expect(pid.get(7)).toBe('1980');
  });
  it('honours a non-default escape character', () => {
    const m = parseV2('MSH$%*#@$A$F$B$G$2024$$ADT%A01$1$P$2.5\rPID$1$$A#F#B#E#C\r');
    expect(m.first('PID')!.get(3)).toBe('A$B#C');
  });
});

describe('data type maps', () => {
  it.each([
    ['1980', '1980', '1980'], ['198002', '1980-02', '1980-02'], ['19800203', '1980-02-03', '1980-02-03'],
    ['198002031230', '1980-02-03T12:30:00Z', '1980-02-03'], ['19800203123045.12+0215', '1980-02-03T12:30:45.12+02:15', '1980-02-03'], ['garbage', undefined, undefined],
  ])('DTM %s → dateTime %s, date %s', (v2, dt, d) => {
    expect(dateTime(v2)).toBe(dt);
    expect(date(v2)).toBe(d === undefined ? undefined : d);
  });
  it('XPN, XAD, XTN', () => {
    expect(humanName(rep('Doe^John^Q R^Jr^Dr^^L'))).toEqual({ use: 'official', family: 'Doe', given: ['John', 'Q', 'R'], prefix: ['Dr'], suffix: ['Jr'] });
    expect(address(rep('1 Main St^Apt 2^Springfield^IL^62701^USA^H'))).toEqual({ use: 'home', line: ['1 Main St', 'Apt 2'], city: 'Springfield', state: 'IL', postalCode: '62701', country: 'USA' });
    expect(contactPoint(rep('^PRN^CP^^1^217^5550100'))).toEqual({ system: 'phone', use: 'mobile', value: '+1 217 5550100' });
    expect(contactPoint(rep('^NET^Internet^a@b.org'))).toEqual({ system: 'email', value: 'a@b.org' });
  });
});

describe('ACK', () => {
  const target = { delimiters: DEFAULT_DELIMITERS, sendingApplication: 'S', sendingFacility: 'SF', receivingApplication: 'R', receivingFacility: 'RF', triggerEvent: 'A01', controlId: 'C1', processingId: 'P', version: '2.5.1' };
  it('echoes MSH-10 in MSA-2 and addresses the sender', () => {
    expect(buildAck(target, 'AA', { controlId: 'X', now: new Date(0) })).toBe('MSH|^~\\&|R|RF|S|SF|19700101000000+0000||ACK^A01^ACK|X|P|2.5.1\rMSA|AA|C1\r');
  });
  it('puts location, code and text in ERR (2.5+) or ERR-1 and MSA-3 (before 2.5)', () => {
    const error = { hl7Error: 101, text: 'PID-3 missing', location: { segment: 'PID', sequence: 1, field: 3 } };
    expect(buildAck(target, 'AE', { controlId: 'X', now: new Date(0), error })).toContain('\rERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 missing\r');
    expect(buildAck(target, 'AR', { controlId: 'X', now: new Date(0), error: { hl7Error: 206, text: 'Changed meanwhile', application: 'version-conflict' } })).toContain('\rERR|||206^Application record locked^HL70357|E|version-conflict^^99FHIRGATE|||Changed meanwhile\r');
    const legacy = buildAck({ ...target, version: '2.3' }, 'AE', { controlId: 'X', now: new Date(0), error });
    expect(legacy).toContain('\rMSA|AE|C1|PID-3 missing\rERR|PID^1^3^101&Required field missing&HL70357\r');
  });
});

describe('MLLP framing', () => {
  it('reassembles frames split anywhere, several per chunk', () => {
    const d = new MllpDecoder(100);
    const bytes = Buffer.from('\x0bAB\x1c\r\x0bCD\x1c\r');
    const frames = [...bytes].flatMap((b) => d.push(Buffer.from([b]))).map((e) => (e.kind === 'frame' ? e.bytes.toString() : e.reason));
    expect(frames).toEqual(['AB', 'CD']);
    expect(new MllpDecoder(100).push(bytes).map((e) => e.kind)).toEqual(['frame', 'frame']);
  });
  it('reports oversized frames and bytes outside frames', () => {
    expect(new MllpDecoder(3).push(Buffer.from('\x0bABCD'))).toMatchObject([{ kind: 'error', reason: 'oversized' }]);
    expect(new MllpDecoder(3).push(Buffer.from('x'))).toMatchObject([{ kind: 'error', reason: 'garbage' }]);
  });
});

describe('vocabulary', () => {
  it.each(VOCABULARIES)('%s matches the IG table', (name) => {
    expect(VOCABULARY[name]).toEqual(readVocabulary(name));
  });
});

describe('segment terminators, acknowledgement mode, content hash (issue 19)', () => {
  it.each([
    ['A\rB\r', 'A\rB\r'],
    ['A\nB\n', 'A\rB\r'],
    ['A\r\nB\r\n', 'A\rB\r'],
    ['A\n\nB', 'A\r\rB'],
    ['Zoë\nB', 'Zoë\rB'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeSegments(Buffer.from(input, 'utf8')).toString('utf8')).toBe(expected);
  });

  const msh = (f15: string, f16: string) => parseV2(`MSH|^~\\&|A|F|B|G|2024||ADT^A01|1|P|2.5|||${f15}|${f16}\rPID|1\r`);
  it.each([
    ['', '', undefined],
    ['AL', '', { accept: 'AL' }],
    ['', 'ne', { application: 'NE' }],
    ['AL', 'ER', { accept: 'AL', application: 'ER' }],
    ['XX', '', undefined],
    ['AL', 'YY', undefined],
    ['SU', 'SU', { accept: 'SU', application: 'SU' }],
  ])('MSH-15 %j, MSH-16 %j → %j', (f15, f16, mode) => {
    expect(enhancedMode(msh(f15, f16))).toEqual(mode);
  });

  const base = 'MSH|^~\\&|A|F|B|G|20240101120000||ADT^A01|1|P|2.5\rPID|1||X\r';
  it.each([
    ['MSH-7 restamped', base.replace('20240101120000', '20250101000000'), true],
    ['trailing empty segments', `${base}\r\r`, true],
    ['another PID-3', base.replace('||X', '||Y'), false],
    ['another MSH-9', base.replace('ADT^A01', 'ADT^A08'), false],
    ['another MSH-6', base.replace('|G|', '|H|'), false],
  ])('%s: same content %s', (_name, other, same) => {
    expect(contentHash(other) === contentHash(base)).toBe(same);
  });
});

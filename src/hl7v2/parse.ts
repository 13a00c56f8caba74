import { HL7Dictionary, HL7Error, HL7Message, dictionaries, findNearestHL7Version, type HL7Repetition, type HL7Segment } from 'hl7v2';
import type { V2Component, V2Delimiters, V2Message, V2Repetition, V2Segment, V2Value } from './message.js';

/** Why a text could not be parsed as an HL7 v2 message; ERR-3 code from HL7 table 0357. */
export class V2ParseError extends Error {
  constructor(
    message: string,
    readonly hl7ErrorCode: number,
    readonly location?: { segment: string; sequence: number; field?: number },
  ) {
    super(message);
    this.name = 'V2ParseError';
  }
}

const MAX_COMPONENTS = 100;
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Dictionaries that keep every value verbatim. The package's typed dictionaries decode dates and
 * numbers (`1980` becomes `19800101`), which loses the precision FHIR keeps, and leave primitive
 * fields unsplit at `&`. Here every field is a composite of composites of plain strings, so the
 * package does the splitting and unescaping, and the mappers decide the types (v2-to-FHIR datatype maps).
 */
const VERBATIM: Record<string, HL7Dictionary> = Object.fromEntries(
  Object.keys(dictionaries).map((version) => {
    const types = {
      // Field level: component n is looked up at key n-1.
      ST: { fields: Object.fromEntries(range(0, MAX_COMPONENTS).map((i) => [String(i), { type: 'FGC' }])) },
      // Component level: sub-component n is looked up at key n.
      FGC: { fields: Object.fromEntries(range(1, MAX_COMPONENTS).map((i) => [String(i), { type: 'FGS' }])) },
      FGS: {},
    };
    const messages = (dictionaries as Record<string, HL7Dictionary>)[version].messages;
    return [version, new HL7Dictionary({ version: version as never, segments: {}, types, messages })];
  }),
);

/** MSH-18 names the package knows, plus the default. */
export function knownCharset(charset: string | undefined): boolean {
  return !charset || charset in HL7Message.encodingMapping;
}

/**
 * Parses one message (without MLLP framing) with the `hl7v2` package. Bytes are decoded in the
 * MSH-18 character set (UTF-8 when absent); MSH-2's encoding characters are honoured, including
 * a non-default escape character (the package only unescapes `\`-sequences, see `unescapeWith`).
 */
export function parseV2(input: Buffer | string): V2Message {
  const raw = typeof input === 'string' ? input : input.toString('latin1');
  if (!raw.startsWith('MSH')) throw new V2ParseError('The message does not start with an MSH segment', 100, { segment: 'MSH', sequence: 1 });
  const fieldSep = raw[3];
  let encoding = raw.slice(4, raw.indexOf(fieldSep, 4));
  if (encoding.length === 5 && encoding[2] === '\\' && encoding[3] === '\\') {
    // `^~\\&`: a backslash doubled by a sender that escaped it in a string literal; read as `^~\&`.
    encoding = encoding.slice(0, 3) + encoding.slice(4);
    const fixed = `MSH${fieldSep}${encoding}${raw.slice(9)}`;
    input = typeof input === 'string' ? fixed : Buffer.from(fixed, 'latin1');
  }
  if (!fieldSep || /[A-Za-z0-9\r\n]/.test(fieldSep) || encoding.length < 3 || encoding.length > 5 || new Set([fieldSep, ...encoding]).size !== encoding.length + 1) {
    throw new V2ParseError('MSH-1/MSH-2 do not hold valid, distinct encoding characters', 100, { segment: 'MSH', sequence: 1, field: 2 });
  }
  assertRepetitionsBounded(raw, fieldSep, encoding[1]);
  let message: HL7Message;
  try {
    message = new HL7Message(undefined, VERBATIM);
    message.parse(input);
  } catch (err) {
    const e = err as HL7Error;
    throw new V2ParseError(`The message could not be parsed: ${e.message}`, e.hl7ErrorCode ?? 100, { segment: e.segmentType ?? 'MSH', sequence: e.line ?? 1 });
  }
  return wrap(message);
}

/**
 * Most repetitions one field may carry (issue 15): a PID-3 with 10,000 identifiers blocked the event
 * loop for seconds while mapped. Real feeds repeat a field a handful of times.
 */
export const MAX_REPETITIONS = 100;

/** Refuses a message with a field repeated more than MAX_REPETITIONS times, before the parser and mapping see it. */
function assertRepetitionsBounded(raw: string, fieldSep: string, repetitionSep: string | undefined): void {
  if (!repetitionSep) return;
  const counts = new Map<string, number>();
  for (const line of raw.split(/\r\n|\r|\n/)) {
    const id = line.slice(0, 3);
    const sequence = (counts.get(id) ?? 0) + 1;
    counts.set(id, sequence);
    // MSH-2 holds the repetition separator itself.
    const fields = line.split(fieldSep).slice(id === 'MSH' ? 2 : 1);
    fields.forEach((field, i) => {
      if (field.split(repetitionSep).length > MAX_REPETITIONS) {
        throw new V2ParseError(`${id}-${id === 'MSH' ? i + 2 : i + 1} repeats more than ${MAX_REPETITIONS} times`, 100, { segment: id, sequence, field: id === 'MSH' ? i + 2 : i + 1 });
      }
    });
  }
}

function wrap(message: HL7Message): V2Message {
  const delimiters: V2Delimiters = {
    field: message.fieldSeparator,
    component: message.componentSeparator,
    repetition: message.repetitionSeparator,
    escape: message.escapeCharacter,
    subComponent: message.subComponentSeparator,
  };
  const counts = new Map<string, number>();
  const segments = message.segments.map((seg, index) => {
    const sequence = (counts.get(seg.segmentType) ?? 0) + 1;
    counts.set(seg.segmentType, sequence);
    return segmentView(seg, index, sequence, delimiters);
  });
  for (const seg of segments) {
    if (!/^[A-Z][A-Z0-9]{2}$/.test(seg.id)) throw new V2ParseError(`Segment ${seg.index + 1} has no valid segment id`, 100, { segment: seg.id.slice(0, 3), sequence: seg.sequence });
  }
  const msh = segments[0];
  return {
    delimiters,
    segments,
    version: msh.get(12) ?? '',
    messageCode: msh.get(9, 1) ?? '',
    triggerEvent: msh.get(9, 2) ?? '',
    controlId: msh.get(10) ?? '',
    first: (id) => segments.find((s) => s.id === id),
    all: (id) => segments.filter((s) => s.id === id),
  };
}

function segmentView(seg: HL7Segment, index: number, sequence: number, d: V2Delimiters): V2Segment {
  const cache = new Map<number, V2Repetition[]>();
  const reps = (field: number): V2Repetition[] => {
    let found = cache.get(field);
    if (!found) {
      found = field <= seg.fields.length && seg.fields[field - 1] ? seg.fields[field - 1].repetitions.map((r) => repetition(r, d)) : [];
      if (seg.segmentType === 'MSH' && field <= 2) found = [[[field === 1 ? d.field : d.component + d.repetition + d.escape + d.subComponent]]];
      cache.set(field, found);
    }
    return found;
  };
  return {
    id: seg.segmentType,
    index,
    sequence,
    reps,
    get: (field, component = 1, subComponent = 1, rep = 0) => reps(field)[rep]?.[component - 1]?.[subComponent - 1],
  };
}

function repetition(rep: HL7Repetition, d: V2Delimiters): V2Repetition {
  return (rep.components ?? []).map((c): V2Component => (c?.subComponents ?? []).map((s) => value(s?.value, d)));
}

function value(v: unknown, d: V2Delimiters): V2Value {
  if (v === null) return null;
  if (v === undefined) return undefined;
  const s = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  return unescapeWith(s, d);
}

/**
 * Escape sequences the package leaves: `\.br\` (line break), and every sequence when MSH-2 names an
 * escape character other than `\` (v2 2.7 ch. 2.7).
 */
export function unescapeWith(s: string, d: V2Delimiters): string {
  const e = d.escape;
  if (!s.includes(e)) return s;
  const q = e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return s.replace(new RegExp(`${q}([^${q}]{1,40})${q}`, 'g'), (whole, seq: string) => {
    switch (seq) {
      case 'F': return d.field;
      case 'S': return d.component;
      case 'T': return d.subComponent;
      case 'R': return d.repetition;
      case 'E': return e;
      case '.br': return '\n';
    }
    if (/^X[0-9A-Fa-f]+$/.test(seq)) return Buffer.from(seq.slice(1), 'hex').toString('utf8');
    return e === '\\' ? whole : seq.startsWith('.') || /^[HN]$/.test(seq) ? '' : whole;
  });
}

/** The version key of the package's dictionaries nearest to MSH-12 (for message structures). */
export function nearestVersion(version: string): string {
  return findNearestHL7Version(version as never);
}

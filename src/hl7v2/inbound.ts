import { HL7_ERROR } from './map/types.js';
import { MAPPERS } from './map/index.js';
import type { AckError, AckTarget } from './ack.js';
import { DEFAULT_DELIMITERS } from './ack.js';
import type { V2Message } from './message.js';
import { knownCharset, parseV2, V2ParseError } from './parse.js';
import { normalizeSegments } from './segments.js';

/** HL7 v2 versions the adapter accepts (MSH-12): 2.3 to 2.8.1. */
export const SUPPORTED_VERSIONS = /^2\.(3|3\.1|4|5|5\.1|6|7|7\.1|8|8\.1)$/;

/** The reply address of a message: from the parsed MSH, or read best-effort from the first line of one that did not parse. */
export function ackTarget(raw: string, message?: V2Message): AckTarget {
  if (message) {
    const msh = message.segments[0];
    return {
      delimiters: message.delimiters,
      sendingApplication: msh.get(3) ?? '', sendingFacility: msh.get(4) ?? '',
      receivingApplication: msh.get(5) ?? '', receivingFacility: msh.get(6) ?? '',
      triggerEvent: message.triggerEvent, controlId: message.controlId, processingId: msh.get(11) ?? '', version: message.version,
    };
  }
  const line = raw.split(/[\r\n]/)[0] ?? '';
  const sep = line.startsWith('MSH') && line[3] && !/[A-Za-z0-9\s]/.test(line[3]) ? line[3] : undefined;
  const f = sep ? line.split(sep) : [];
  const comp = f[1]?.[0] && f[1][0] !== sep ? f[1][0] : '^';
  const first = (i: number): string => (f[i] ?? '').split(comp)[0].slice(0, 200);
  return {
    delimiters: sep ? { ...DEFAULT_DELIMITERS, field: sep, component: comp } : DEFAULT_DELIMITERS,
    sendingApplication: first(2), sendingFacility: first(3), receivingApplication: first(4), receivingFacility: first(5),
    triggerEvent: (f[8] ?? '').split(comp)[1] ?? '', controlId: first(9), processingId: first(10), version: first(11),
  };
}

export type Checked = { ok: true; message: V2Message } | { ok: false; message?: V2Message; error: AckError };

/** Accept/application acknowledgement conditions (MSH-15/16, table 0155). */
const ACK_CONDITIONS = new Set(['AL', 'NE', 'ER', 'SU']);

/**
 * The enhanced acknowledgement mode a message asks for (v2 ch. 2.9.3), or undefined for original
 * mode: when MSH-15 and MSH-16 are empty, and also when either holds a value outside table 0155,
 * so a message with a garbled MSH-15/16 is still answered (issue 19) rather than met with silence.
 */
export function enhancedMode(message: V2Message | undefined): { accept?: string; application?: string } | undefined {
  const msh = message?.segments[0];
  const accept = msh?.get(15)?.trim().toUpperCase() || undefined;
  const application = msh?.get(16)?.trim().toUpperCase() || undefined;
  if (!accept && !application) return undefined;
  if ((accept && !ACK_CONDITIONS.has(accept)) || (application && !ACK_CONDITIONS.has(application))) return undefined;
  return { accept, application };
}

const FATAL_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and checks a message before anything is applied: bytes valid in MSH-18's character set,
 * an MSH with sane encoding characters, a supported version, processing id and message type, and
 * a control id. Failures are answered `AR` (v2 ch. 2.9.2).
 */
export function checkInbound(received: Buffer, processingIds: ReadonlySet<string>): Checked {
  const bytes = normalizeSegments(received);
  const head = bytes.subarray(0, Math.min(bytes.length, 1024)).toString('latin1');
  const charset = head.split(/\r/)[0].split(head[3] ?? '|')[17]?.split(head[4] ?? '^')[0] || undefined;
  if (!knownCharset(charset)) return { ok: false, error: { hl7Error: HL7_ERROR.dataTypeError, text: `Unsupported character set (MSH-18) '${charset!.slice(0, 40)}'`, location: { segment: 'MSH', field: 18 } } };
  if (!charset || /UTF-8|^ASCII$|IR6$/.test(charset)) {
    try {
      FATAL_UTF8.decode(bytes);
    } catch {
      return { ok: false, error: { hl7Error: HL7_ERROR.dataTypeError, text: 'The message holds bytes that are not valid in its character set', location: { segment: 'MSH', field: 18 } } };
    }
  }
  if (/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.test(bytes.toString('latin1'))) {
    return { ok: false, error: { hl7Error: HL7_ERROR.dataTypeError, text: 'The message holds control characters' } };
  }
  let message: V2Message;
  try {
    message = parseV2(bytes);
  } catch (err) {
    if (!(err instanceof V2ParseError)) throw err;
    return { ok: false, error: { hl7Error: err.hl7ErrorCode, text: err.message, location: err.location } };
  }
  const msh = message.segments[0];
  const reject = (hl7Error: number, text: string, field: number): Checked => ({ ok: false, message, error: { hl7Error, text, location: { segment: 'MSH', sequence: 1, field } } });
  if (!SUPPORTED_VERSIONS.test(message.version)) return reject(HL7_ERROR.unsupportedVersion, `Unsupported version '${message.version.slice(0, 20)}' (2.3 to 2.8.1 are supported)`, 12);
  if (!processingIds.has(msh.get(11) ?? '')) return reject(HL7_ERROR.unsupportedProcessingId, `Processing id '${(msh.get(11) ?? '').slice(0, 5)}' is not accepted here`, 11);
  if (!message.controlId) return reject(HL7_ERROR.requiredFieldMissing, 'MSH-10 (message control id) is required', 10);
  if (!MAPPERS[`${message.messageCode}^${message.triggerEvent}`]) {
    const known = Object.keys(MAPPERS).some((k) => k.startsWith(`${message.messageCode}^`));
    return reject(known ? HL7_ERROR.unsupportedEvent : HL7_ERROR.unsupportedMessageType, `Message type ${message.messageCode}^${message.triggerEvent} is not supported`, 9);
  }
  return { ok: true, message };
}

/**
 * Keys that serialize messages about the same patient, order or appointment across connections.
 * Not the practitioners a message names: nearly every ADT names an attending physician, and keying
 * on them made messages about different patients take turns (issue 19 item 8); the handler holds
 * a shared resource only while it creates or changes it (`upsertsOf`), and the pipeline serializes
 * conditional upserts on the same criteria.
 */
export function subjectKeys(message: V2Message): string[] {
  const keys: string[] = [];
  const add = (kind: string, value: string | null | undefined): void => void (value && keys.push(`${kind}:${value}`));
  for (const pid of message.all('PID')) for (const rep of pid.reps(3)) add('pid', rep[0]?.[0]);
  for (const mrg of message.all('MRG')) for (const rep of mrg.reps(1)) add('pid', rep[0]?.[0]);
  for (const orc of message.all('ORC')) add('order', orc.get(2) ?? orc.get(3));
  for (const sch of message.all('SCH')) add('appointment', sch.get(2) ?? sch.get(1));
  return keys;
}

import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { InboundMessage, RequestContext } from '../fhir/request.js';
import type { Logger } from '../logger.js';
import { buildAck, type AckError, type AckTarget } from './ack.js';
import { HL7_ACK } from './ack-codes.js';
import { MessageArchive, type ArchivedMessage, type Outcome } from './archive.js';
import type { FhirPort } from './fhir-port.js';
import { holdAudits, mllpContext } from './fhir-port.js';
import { ContentHashes, contentHash } from './dedupe.js';
import { ackTarget, checkInbound, enhancedMode, subjectKeys } from './inbound.js';
import { KeyedMutex } from './keyed-mutex.js';
import { normalizeSegments } from './segments.js';
import { MAPPERS, MappingError, type MapContext } from './map/index.js';
import { dropUnchanged, upsertsOf } from './map/unchanged.js';
import type { Lookup } from './map/types.js';
import type { V2Message } from './message.js';

export interface HandlerOptions {
  archive: MessageArchive;
  fhir: FhirPort;
  logger: Logger;
  baseUrl: string;
  /** MSH-11 processing ids accepted (HL7_PROCESSING_IDS). */
  processingIds: ReadonlySet<string>;
  identifierSystems: Readonly<Record<string, string>>;
  defaultIdentifierSystem: string;
  /** A known MSH-10 with other content: applied as new (default) or answered AE (HL7_CONTROL_ID_REUSE). */
  controlIdReuse?: 'apply' | 'reject';
  clock?: () => Date;
}

/** One received message. `context` is the HTTP caller's (POST /hl7/v2); MLLP messages get the system context. */
export interface Inbound {
  bytes: Buffer;
  transport: 'mllp' | 'http';
  address: string;
  context?: RequestContext;
}

export interface Handled {
  /** The acknowledgements to send, in order (none in enhanced mode when MSH-15/16 ask for none). */
  acks: string[];
  /** MSA-1 of the application acknowledgement. */
  code: 'AA' | 'AE' | 'AR';
  record?: ArchivedMessage;
}

// Where an error about a written resource is located in the message (ERR-2) when the pipeline rejects it.
const SEGMENT_OF_TYPE: Record<string, string> = { Patient: 'PID', Practitioner: 'PV1', MedicationRequest: 'ORC', MedicationDispense: 'RXD', Appointment: 'SCH' };

/** Archive → de-duplicate → map → one transaction through the pipeline → ACK. Never throws. */
export function createHandler(options: HandlerOptions) {
  const { archive, fhir, logger } = options;
  const clock = options.clock ?? (() => new Date());
  // Two levels, always taken in this order, so they cannot deadlock: a message's subjects (`subjectKeys`), then the shared resources it upserts.
  const locks = new KeyedMutex();
  const upsertLocks = new KeyedMutex();
  const hashes = new ContentHashes((id) => archive.raw(id));
  /** `meta.source` of a record's writes: its dedupe key, or its own when it reused a control id. */
  const sourceOf = (record: ArchivedMessage): string => record.source ?? `urn:fhirgate:hl7v2:${encodeURIComponent(MessageArchive.key(record.sender.application, record.sender.facility, record.controlId))}`;

  const ack = (target: AckTarget, code: string, error?: AckError): string => buildAck(target, code, { error, controlId: randomUUID().replace(/-/g, '').slice(0, 20), now: clock() });

  /** Maps and applies a message in its record's name; the outcome is durable before this resolves. */
  async function apply(record: ArchivedMessage, message: V2Message, context: RequestContext): Promise<{ code: 'AA' | 'AE' | 'AR'; error?: AckError; record: ArchivedMessage }> {
    const msh = message.segments[0];
    const source = sourceOf(record);
    let uuid = 0;
    const base = randomUUID().slice(0, 24);
    const ctx: MapContext = {
      identifierSystems: options.identifierSystems,
      defaultIdentifierSystem: options.defaultIdentifierSystem,
      // Identifiers without an assigning authority are the sender's; an anonymous sender still never matches others'.
      sendingFacility: msh.get(4) || msh.get(3) || 'unknown-sender',
      source,
      uuid: () => `${base}${(++uuid).toString(16).padStart(12, '0')}`,
    };
    const attempts = record.attempts + 1;
    const inboundMessage = inboundOf(ackTarget('', message), message);
    let submitted = false;
    // The lookups' audit records go into the transaction's commit (or the refusal's): one commit, one fsync per message.
    const held = holdAudits();
    try {
      const lookup = (type: string, query: string) => fhir.search(type, query, context, held);
      // The mapper and the first comparison ask the same questions (the Patient by its identifier, an
      // order by its number): each is searched once per message (issue 19 item 8; every search is a
      // pipeline run with its own AuditEvent). What changes under the upsert lock is searched afresh below.
      const once = onceLookup(lookup);
      const bundle = await MAPPERS[`${message.messageCode}^${message.triggerEvent}`](message, ctx, once);
      const unchanged = await dropUnchanged(bundle, once);
      // Messages about other patients run concurrently even when they name the same practitioners
      // (issue 19 item 8). Most name them unchanged, and the upsert was dropped; one that creates or
      // changes a shared resource holds it by its criteria and compares again under that lock, so two
      // messages naming a new practitioner at once write it once, not a second, identical version.
      // (The Patient is held already, by the message's subject keys.)
      const shared = upsertsOf(bundle).filter((url) => !url.startsWith('Patient?'));
      // Under that lock the shared resources are searched afresh; the message's own Patient, held all along, is not.
      const fresh: Lookup = (type, query) => (shared.includes(`${type}?${query}`) ? lookup(type, query) : once(type, query));
      const submit = async (): Promise<string[]> => {
        if (shared.length) unchanged.push(...(await dropUnchanged(bundle, fresh)));
        // The transaction's AuditEvents name the message and its sender (README "Consent and audit").
        submitted = true;
        return [...(await fhir.transaction(bundle, { ...context, inboundMessage }, held)), ...unchanged];
      };
      const resources = shared.length === 0 ? await submit() : await upsertLocks.run(shared.map((url) => `upsert:${url}`), submit);
      return { code: 'AA', record: await archive.update(record.id, { outcome: 'applied', ack: 'AA', resources, attempts, error: undefined }) };
    } catch (err) {
      const { code, error } = describe(err, record);
      // A message that never reached its transaction has no AuditEvent yet.
      if (!submitted) await fhir.refused({ ...context, inboundMessage }, err, held);
      const outcome: Outcome = code === 'AR' ? 'rejected' : 'error';
      return { code, error, record: await archive.update(record.id, { outcome, ack: code, attempts, error: { code: error.hl7Error.toString(), text: error.text, location: error.location && `${error.location.segment}-${error.location.field ?? ''}` } }) };
    }
  }

  function describe(err: unknown, record: ArchivedMessage): { code: 'AE' | 'AR'; error: AckError } {
    if (err instanceof MappingError) return { code: 'AE', error: { hl7Error: err.hl7ErrorCode, text: err.message, location: err.location } };
    if (err instanceof FhirError) {
      const mapped = HL7_ACK[err.code];
      const issues = err.outcome.issue.slice(1, 4).map((i) => `${i.expression?.[0] ?? ''} ${i.diagnostics ?? ''}`.trim());
      const type = err.outcome.issue.flatMap((i) => i.expression ?? []).map((e) => /^([A-Z][A-Za-z]+)\./.exec(e)?.[1]).find((t) => t && SEGMENT_OF_TYPE[t]);
      return { code: mapped.ack, error: { hl7Error: mapped.hl7Error, application: err.code, text: [err.message, ...issues].join('; ').slice(0, 500), location: type && SEGMENT_OF_TYPE[type] ? { segment: SEGMENT_OF_TYPE[type] } : undefined } };
    }
    logger.error({ err, archiveId: record.id }, 'hl7v2 message failed unexpectedly');
    return { code: 'AE', error: { hl7Error: 207, text: `Internal error; reference ${record.id}` } };
  }

  /** Acknowledgements of an application outcome, in original or enhanced mode (MSH-15/16, v2 ch. 2.9.3). */
  function acks(target: AckTarget, message: V2Message | undefined, code: 'AA' | 'AE' | 'AR', error?: AckError, accepted = code !== 'AR'): string[] {
    const mode = enhancedMode(message);
    if (!mode) return [ack(target, code, error)];
    const { accept, application } = mode;
    const wanted = (condition: string | undefined, success: boolean): boolean => !condition || condition === 'AL' || (condition === 'SU' && success) || (condition === 'ER' && !success);
    const out: string[] = [];
    if (wanted(accept, accepted)) out.push(ack(target, accepted ? 'CA' : 'CR', accepted ? undefined : error));
    if (accepted && wanted(application, code === 'AA')) out.push(ack(target, code, error));
    return out;
  }

  /** Answers every message, whatever happens: an unexpected failure (e.g. the archive cannot be written) is an AR, so the sender retries. */
  async function handle(inbound: Inbound): Promise<Handled> {
    try {
      return await receive(inbound);
    } catch (err) {
      logger.error({ err, transport: inbound.transport, address: inbound.address }, 'hl7v2 message could not be handled');
      const target = ackTarget(inbound.bytes.subarray(0, 4096).toString('utf8'));
      return { acks: [ack(target, 'AR', { hl7Error: 207, text: 'The message could not be received; resend it later' })], code: 'AR' };
    }
  }

  /** Archives a message refused before it was read to the end or parsed, and answers AR. */
  async function reject(inbound: Inbound, rawText: string, error: AckError, message?: V2Message): Promise<Handled> {
    const target = ackTarget(rawText, message);
    const sender = { application: target.sendingApplication, facility: target.sendingFacility, address: inbound.address };
    const context = inbound.context ?? mllpContext({ requestId: randomUUID(), baseUrl: options.baseUrl, ...sender });
    await fhir.refused({ ...context, inboundMessage: inboundOf(target, message) });
    logger.warn({ transport: inbound.transport, address: inbound.address, controlId: target.controlId, reason: error.text }, 'hl7v2 message rejected');
    const record = await archive.receive({ sender, transport: inbound.transport, controlId: target.controlId, messageType: '', version: target.version, outcome: 'rejected', ack: 'AR', error: { code: String(error.hl7Error), text: error.text } }, rawText, true);
    return { acks: acks(target, message, 'AR', error, false), code: 'AR', record };
  }

  /**
   * A frame over HL7_MAX_MESSAGE_BYTES: answered AR, addressed from its first bytes, before the
   * listener closes the connection (issue 19). What was read (at most the limit) is archived.
   */
  async function oversized(inbound: Inbound, limit: number): Promise<Handled> {
    const head = normalizeSegments(inbound.bytes).toString('utf8');
    const error = { hl7Error: 207, text: `The message is larger than ${limit} bytes (HL7_MAX_MESSAGE_BYTES); it was not read to the end` };
    try {
      return await reject(inbound, head, error);
    } catch (err) {
      logger.error({ err, address: inbound.address }, 'hl7v2 oversized message could not be archived');
      return { acks: [ack(ackTarget(head), 'AR', error)], code: 'AR' };
    }
  }

  async function receive(inbound: Inbound): Promise<Handled> {
    const rawText = inbound.bytes.toString('utf8');
    const checked = checkInbound(inbound.bytes, options.processingIds);
    if (!checked.ok) return reject(inbound, rawText, checked.error, checked.message);
    const message = checked.message;
    const target = ackTarget(rawText, message);
    const sender = { application: target.sendingApplication, facility: target.sendingFacility, address: inbound.address };
    const key = MessageArchive.key(sender.application, sender.facility, message.controlId);
    const context = inbound.context ?? mllpContext({ requestId: randomUUID(), baseUrl: options.baseUrl, ...sender });
    return locks.run([`msg:${key}`, ...subjectKeys(message)], async () => {
      // Indexed lookups by the content's keyed digest (issue 19): bounded however often the control id came before.
      const { same, latest, undigested } = await archive.earlier(key, rawText);
      const known = same ?? (await hashes.find(undigested, contentHash(rawText)));
      if (known && known.outcome !== 'received') {
        // Exactly once: a redelivery is acknowledged as the first delivery was, and nothing is written again.
        const record = await archive.update(known.id, { duplicates: known.duplicates + 1 });
        const error = known.error ? { hl7Error: Number(known.error.code), text: known.error.text } : undefined;
        logger.info({ archiveId: known.id, controlId: message.controlId }, 'hl7v2 duplicate acknowledged again');
        return { acks: acks(target, message, known.ack as 'AA' | 'AE', error), code: known.ack as 'AA' | 'AE', record };
      }
      const enhanced = Boolean(enhancedMode(message));
      const fields = { sender, transport: inbound.transport, controlId: message.controlId, messageType: `${message.messageCode}^${message.triggerEvent}`, version: message.version };
      if (!known && latest) {
        // The control id came before with other content: a sender that reset its counter. Never dropped.
        logger.warn({ controlId: message.controlId, earlier: latest.id, policy: options.controlIdReuse ?? 'apply' }, 'hl7v2 control id reused with different content');
        const source = `${sourceOf(latest)}:${randomUUID()}`;
        if (options.controlIdReuse === 'reject') {
          const error: AckError = { hl7Error: 205, text: `MSH-10 '${message.controlId}' was used before by this sender for a different message (archived ${latest.id}); not applied`, location: { segment: 'MSH', sequence: 1, field: 10 } };
          await fhir.refused({ ...context, inboundMessage: inboundOf(target, message) }, new FhirError('bad-request', error.text));
          const record = await archive.receive({ ...fields, source, outcome: 'error', ack: 'AE', error: { code: '205', text: error.text, location: 'MSH-10' } }, rawText, true);
          return { acks: acks(target, message, 'AE', error), code: 'AE', record };
        }
        const record = await archive.receive({ ...fields, source }, rawText, enhanced);
        return finish(await apply(record, message, context), target, message);
      }
      const record = known ?? (await archive.receive(fields, rawText, enhanced));
      return finish(known ? await recover(known, message, context) : await apply(record, message, context), target, message);
    });
  }

  function finish(result: { code: 'AA' | 'AE' | 'AR'; error?: AckError; record: ArchivedMessage }, target: AckTarget, message: V2Message): Handled {
    logger.info({ archiveId: result.record.id, type: result.record.messageType, controlId: message.controlId, ack: result.code, resources: result.record.resources.length }, 'hl7v2 message handled');
    return { acks: acks(target, message, result.code, result.error), code: result.code, record: result.record };
  }

  /** A message received before a crash, its outcome unknown: applied if its resources carry its `meta.source`, else applied now. */
  async function recover(record: ArchivedMessage, message: V2Message, context: RequestContext) {
    const source = sourceOf(record);
    const written = (await Promise.all(Object.keys(SEGMENT_OF_TYPE).map((type) => fhir.search(type, `_source=${encodeURIComponent(source)}`, context)))).flat();
    if (!written.length) return apply(record, message, context);
    const resources = written.map((r) => `${r.resourceType}/${r.id}`);
    return { code: 'AA' as const, record: await archive.update(record.id, { outcome: 'applied', ack: 'AA', resources }) };
  }

  /** Applies an archived message again (after a fix): only messages that were not applied. */
  async function replay(id: string, context?: RequestContext): Promise<Handled | undefined> {
    const record = await archive.get(id);
    if (!record) return undefined;
    if (record.outcome === 'applied') throw new FhirError('precondition-failed', `Message ${id} was applied already; replaying it would apply it twice`);
    const raw = (await archive.raw(id))!;
    const checked = checkInbound(Buffer.from(raw, 'utf8'), options.processingIds);
    if (!checked.ok) return { acks: [], code: 'AR', record: await archive.update(id, { attempts: record.attempts + 1, error: { code: String(checked.error.hl7Error), text: checked.error.text } }) };
    const message = checked.message;
    const ctx = context ?? mllpContext({ requestId: randomUUID(), baseUrl: options.baseUrl, ...record.sender });
    const key = MessageArchive.key(record.sender.application, record.sender.facility, message.controlId);
    return locks.run([`msg:${key}`, ...subjectKeys(message)], async () => {
      const result = await apply(record, message, ctx);
      return { acks: [], code: result.code, record: result.record };
    });
  }

  return { handle, oversized, replay };
}

export type MessageHandler = ReturnType<typeof createHandler>;

/**
 * A lookup that searches each query once and answers repeats with a copy of the first answer, for
 * the reads of one message's mapping: nothing it writes is stored before its transaction, and its
 * Patient is held by the message's subject keys, so a repeat would find the same resources.
 */
export function onceLookup(lookup: Lookup): Lookup {
  const answers = new Map<string, Promise<Resource[]>>();
  return async (type, query) => {
    const key = `${type}?${query}`;
    let answer = answers.get(key);
    if (!answer) answers.set(key, (answer = lookup(type, query)));
    // A copy: a mapper may build on what it found, and the comparison needs the stored form.
    return structuredClone(await answer);
  };
}

/** The message as its AuditEvents name it: MSH-9, -10, -3, -4, -12 (best effort for one that did not parse). */
function inboundOf(target: AckTarget, message: V2Message | undefined): InboundMessage {
  return {
    messageCode: message?.messageCode ?? '',
    triggerEvent: target.triggerEvent,
    controlId: target.controlId,
    sendingApplication: target.sendingApplication,
    sendingFacility: target.sendingFacility,
    version: target.version,
  };
}

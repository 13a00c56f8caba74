import { createHash } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';
import { boundedMemo } from '../bounded-memo.js';
import { CHAIN_EXTENSION } from './audit-event.js';

/** Position and hash of one AuditEvent in the chain. */
export interface ChainLink {
  sequence: number;
  hash: string;
}

/** The first hash's predecessor. */
export const GENESIS = '0'.repeat(64);

/**
 * JSON with object keys sorted at every level: the same event always hashes the same. Members
 * whose value is undefined are left out; an array item that JSON cannot write (undefined, a
 * function) is written as nothing, as chains written before this loop (issue 14) were hashed.
 * Built by concatenation: it runs over every event of every request.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (canonicalJson(value[i]) ?? '');
    return `${out}]`;
  }
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    // Default sort: UTF-16 code unit order, as `<` compares the (unique) keys.
    const keys = Object.keys(object).sort();
    let out = '{';
    let first = true;
    for (const key of keys) {
      const member = object[key];
      if (member === undefined) continue;
      out += `${first ? '' : ','}${quoted(key)}${canonicalJson(member)}`;
      first = false;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}

// `"key":` of the element names events are made of (a few dozen), quoted once.
const quoted = boundedMemo((key) => `${JSON.stringify(key)}:`, 1024);

/** The event as hashed: without `meta` (set by the store) and without its own chain link. */
function hashedForm(event: AuditEvent): unknown {
  const { meta: _meta, ...rest } = event;
  const extension = (rest.extension ?? []).filter((e) => e.url !== CHAIN_EXTENSION);
  return { ...rest, ...(extension.length > 0 ? { extension } : { extension: undefined }) };
}

/** sha256(previous hash + sequence + canonical event): each event commits to every event before it. */
export function linkHash(previous: string, sequence: number, event: AuditEvent): string {
  return createHash('sha256').update(`${previous}\n${sequence}\n${canonicalJson(hashedForm(event))}`).digest('hex');
}

/** Adds the chain link extension (sequence, previous hash, own hash). */
export function withLink(event: AuditEvent, sequence: number, previous: string): AuditEvent {
  const hash = linkHash(previous, sequence, event);
  return {
    ...event,
    extension: [
      ...(event.extension ?? []),
      {
        url: CHAIN_EXTENSION,
        extension: [
          { url: 'sequence', valueInteger: sequence },
          { url: 'previous', valueString: previous },
          { url: 'hash', valueString: hash },
        ],
      },
    ],
  };
}

/** The chain link an event carries, if any. */
export function linkOf(event: AuditEvent): (ChainLink & { previous: string }) | undefined {
  const link = event.extension?.find((e) => e.url === CHAIN_EXTENSION);
  if (!link) return undefined;
  const part = (url: string) => link.extension?.find((e) => e.url === url);
  const sequence = part('sequence')?.valueInteger;
  const previous = part('previous')?.valueString;
  const hash = part('hash')?.valueString;
  if (sequence === undefined || previous === undefined || hash === undefined) return undefined;
  return { sequence, previous, hash };
}

export interface ChainBreak {
  sequence: number;
  id?: string;
  reason: string;
}

/** Checks a chain of events (any order): sequences 1..n without gaps, each hash recomputed and linked to its predecessor. */
export function verifyChain(events: readonly AuditEvent[]): { count: number; firstBreak?: ChainBreak } {
  const linked = events.map((event) => ({ event, link: linkOf(event) })).filter((x) => x.link !== undefined).sort((a, b) => a.link!.sequence - b.link!.sequence);
  let previous = GENESIS;
  for (let i = 0; i < linked.length; i++) {
    const { event, link } = linked[i];
    const expected = i + 1;
    if (link!.sequence !== expected) return { count: linked.length, firstBreak: { sequence: expected, reason: `event ${expected} is missing (found ${link!.sequence})` } };
    if (link!.previous !== previous) return { count: linked.length, firstBreak: { sequence: expected, id: event.id, reason: 'does not link to the previous event' } };
    if (linkHash(previous, expected, event) !== link!.hash) return { count: linked.length, firstBreak: { sequence: expected, id: event.id, reason: 'content does not match its hash (altered)' } };
    previous = link!.hash;
  }
  return { count: linked.length };
}

import type { AuditEvent } from '@medplum/fhirtypes';
import { GENESIS, linkHash, linkOf, type ChainBreak } from './chain.js';

/**
 * The hash chain checked one event at a time, in sequence order, so a trail of millions of
 * events (archive files, then the store) is verified without holding it in memory. Same checks
 * as `verifyChain`: sequences without gaps, each linked to its predecessor, each hash recomputed.
 */
export class ChainCheck {
  #next: number;
  #previous: string;
  #count = 0;
  #break: ChainBreak | undefined;

  /** Starts at event 1, or after an event already checked (`sequence`, `hash`). */
  constructor(after: { sequence: number; hash: string } = { sequence: 0, hash: GENESIS }) {
    this.#next = after.sequence + 1;
    this.#previous = after.hash;
  }

  /** The sequence the next event must have. */
  get next(): number {
    return this.#next;
  }

  /** Events verified so far. */
  get count(): number {
    return this.#count;
  }

  get firstBreak(): ChainBreak | undefined {
    return this.#break;
  }

  /** Checks the next event; false (and `firstBreak` set) when it breaks the chain, or the chain was broken before. */
  push(event: AuditEvent): boolean {
    if (this.#break) return false;
    const sequence = this.#next;
    const link = linkOf(event);
    if (!link) return this.fail(`event ${sequence} carries no chain link`, event.id);
    if (link.sequence !== sequence) return this.fail(`event ${sequence} is missing (found ${link.sequence})`);
    if (link.previous !== this.#previous) return this.fail('does not link to the previous event', event.id);
    if (linkHash(this.#previous, sequence, event) !== link.hash) return this.fail('content does not match its hash (altered)', event.id);
    this.#previous = link.hash;
    this.#next++;
    this.#count++;
    return true;
  }

  /** Records a break at the next sequence (or at `sequence`); keeps the first. Returns false. */
  fail(reason: string, id?: string, sequence = this.#next): false {
    this.#break ??= { sequence, ...(id ? { id } : {}), reason };
    return false;
  }
}

import type { AuditEntry } from '../audit/audit-sink.js';
import type { StoredRecord, WriteOp } from '../store/port.js';
import { FhirError } from './errors.js';

/**
 * The writes of one transaction, prepared by the ordinary interactions and committed together.
 *
 * Entries of a transaction run through the pipeline like any request, with this unit on the
 * request: interactions stage their version-checked WriteOps here instead of committing them
 * (`commitWrites`), later entries read what earlier ones staged (`loadCurrent`), and the audit
 * step hands each entry's record here until the transaction's outcome is known. The transaction
 * then makes all staged ops durable in ONE `store.commit`, with the entries' audit records (through
 * its own audit step), so atomicity comes from the store, not from here. The unit writes nothing.
 */
export class WriteUnit {
  readonly #ops: WriteOp[] = [];
  readonly #staged = new Map<string, { record: StoredRecord; entry: number }>();
  readonly #audits: AuditEntry[] = [];
  /** Index of the bundle entry being executed; staged writes are attributed to it. */
  entry = -1;

  /** Every staged op, in staging order. */
  get ops(): readonly WriteOp[] {
    return this.#ops;
  }

  /**
   * Stages writes. A resource may be written by one entry only: two entries resolving to the same
   * resource fail the transaction (http.html#trules: "If any resource identities ... overlap").
   */
  stage(ops: readonly WriteOp[]): void {
    for (const op of ops) {
      const key = keyOf(op.record.resourceType, op.record.id);
      const earlier = this.#staged.get(key);
      if (earlier && earlier.entry !== this.entry) {
        throw new FhirError('bad-request', `${key} is changed by more than one entry of the transaction (also by entry ${earlier.entry})`);
      }
      this.#staged.set(key, { record: op.record, entry: this.entry });
      this.#ops.push(op);
    }
  }

  /**
   * Stages writes the workflow rules derived (issue 17). One that targets a resource the unit
   * already writes replaces that write (it was prepared on top of it, with the same precondition:
   * `expectedOf`), so two dispenses of one transaction may both update their prescription.
   */
  stageDerived(ops: readonly WriteOp[]): void {
    for (const op of ops) {
      const key = keyOf(op.record.resourceType, op.record.id);
      const index = this.#ops.findIndex((o) => keyOf(o.record.resourceType, o.record.id) === key);
      if (index >= 0) this.#ops[index] = op;
      else this.#ops.push(op);
      this.#staged.set(key, { record: op.record, entry: this.#staged.get(key)?.entry ?? this.entry });
    }
  }

  /** The precondition of the staged write of a resource, or undefined when the unit does not write it. */
  expectedOf(resourceType: string, id: string): number | undefined {
    const key = keyOf(resourceType, id);
    return this.#ops.find((o) => keyOf(o.record.resourceType, o.record.id) === key)?.expectedVersion;
  }

  /** What this unit has staged for a resource: read-your-writes within the transaction. */
  staged(resourceType: string, id: string): StoredRecord | undefined {
    return this.#staged.get(keyOf(resourceType, id))?.record;
  }

  /** Keeps an entry's audit record, with the versions it staged, until the transaction ends (called by the audit step). */
  deferAudit(entry: AuditEntry): void {
    const written = [...this.#staged.values()].filter((s) => s.entry === this.entry).map((s) => s.record);
    this.#audits.push(written.length > 0 && !entry.error ? { ...entry, written } : entry);
  }

  /** The entries' audit records, for the transaction's commit (`exchange.audit.commit`). */
  get audits(): readonly AuditEntry[] {
    return this.#audits;
  }

  /**
   * The entries' records of a transaction attempt that failed: every entry as failed, even those
   * that succeeded on their own, since nothing of them was kept. Taken once.
   */
  failed(failure: FhirError): AuditEntry[] {
    return this.#audits.splice(0).map((entry) => ({ ...entry, result: undefined, written: undefined, error: entry.error ?? failure }));
  }
}

function keyOf(resourceType: string, id: string): string {
  return `${resourceType}/${id}`;
}

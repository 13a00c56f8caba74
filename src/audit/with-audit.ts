import type { WriteOp } from '../store/port.js';
import type { AuditEntry, AuditEventDraft, AuditSink } from './audit-sink.js';

/** How a run ended: what it returned or threw, and whether its record already went into its own commit. */
export type RunOutcome<T> = ({ ok: true; value: T } | { ok: false; error: unknown }) & { committed: boolean };

/**
 * The one record a run leaves, once it ended: a FHIR interaction's entry (with `along`, records of
 * other runs it reports with its own), or an event of a door outside the FHIR interactions (an
 * admin action, a read of the HL7 v2 archive). `undefined` when nothing is left to write: the
 * record went into the run's commit, or was handed to the transaction the run is an entry of.
 */
export type AuditRecord = { entry: AuditEntry; along?: readonly AuditEntry[] } | { event: AuditEventDraft } | undefined;

/** What a run may ask of the writer while it runs. */
export interface AuditedRun {
  /** Commits data writes together with audit records in ONE store commit (the data never exists without them). */
  commit(ops: readonly WriteOp[], entries: readonly AuditEntry[]): Promise<void>;
}

/**
 * THE audit writer (STYLE.md habit 8, issue 16): runs `run` and leaves exactly one record of it,
 * whatever the outcome, before the caller answers. Used by the FHIR pipeline's outermost step
 * (`src/fhir/pipeline/audit-step.ts`) and by the doors beside the pipeline (the admin API of the
 * embedded authorization server, the HL7 v2 message archive); nothing else calls the sink for a
 * request. A record that cannot be written fails the run with the sink's error (503
 * `store-unavailable`): an access is not answered unaudited.
 * @param recordOf the run's record, from how it ended (called once, in `finally`)
 */
export async function withAudit<T>(sink: AuditSink, recordOf: (outcome: RunOutcome<T>) => AuditRecord, run: (audited: AuditedRun) => Promise<T>): Promise<T> {
  let committed = false;
  const audited: AuditedRun = {
    async commit(ops, entries) {
      await sink.commitWith(ops, entries);
      committed = true;
    },
  };
  // Set when the run returns or throws; the Error for neither is made only then (an Error captures a stack: ~5% of a read's CPU when made for every run).
  let ended: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  try {
    const value = await run(audited);
    ended = { ok: true, value };
    return value;
  } catch (error) {
    ended = { ok: false, error };
    throw error;
  } finally {
    await write(sink, recordOf({ ...(ended ?? { ok: false, error: new Error('withAudit: the run did not end') }), committed }));
  }
}

async function write(sink: AuditSink, record: AuditRecord): Promise<void> {
  if (!record) return;
  if ('event' in record) return sink.recordEvent(record.event);
  if (record.along && record.along.length > 0) await sink.commitWith([], record.along);
  await sink.record(record.entry);
}

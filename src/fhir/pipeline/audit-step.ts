import type { AuditEntry, AuditSink } from '../../audit/audit-sink.js';
import type { StoredRecord } from '../../store/port.js';
import type { FhirError } from '../errors.js';
import { INTERACTIONS } from '../interactions/table.js';
import type { FhirResult } from '../request.js';
import type { Step } from './compose.js';

/**
 * The outermost step, and the only place a FHIR interaction's audit record is written (STYLE.md
 * habit 8, issue 16), whatever the outcome and whoever called (HTTP, a bundle entry, HL7 v2):
 * - a write's record goes into the write's own commit (`exchange.audit.commit`, which the one
 *   write path calls), so the data never exists without it;
 * - an entry of a transaction hands its record to the transaction's unit, which commits it with
 *   the transaction's outcome;
 * - anything else (reads, failures, refusals) is recorded after the run, before the response leaves.
 */
export function auditStep(sink: AuditSink): Step {
  return async (exchange, next) => {
    let committed = false;
    const action = Object.hasOwn(INTERACTIONS, exchange.request.interaction) ? INTERACTIONS[exchange.request.interaction].audit.action : 'E';
    const entryOf = (outcome: { result?: FhirResult; error?: FhirError; written?: readonly StoredRecord[] }): AuditEntry => ({
      request: exchange.request,
      startedAt: exchange.startedAt,
      action,
      consent: exchange.consent,
      ...outcome,
    });
    exchange.audit.commit = async (ops, record = {}, entries = []) => {
      await sink.commitWith(ops, [...exchange.audit.settled, ...entries, entryOf(record)]);
      exchange.audit.settled.length = 0;
      committed = true;
    };
    let result: FhirResult | undefined;
    let error: FhirError | undefined;
    try {
      return (result = await next());
    } catch (err) {
      // The errors step inside this one turned whatever was thrown into a FhirError.
      error = err as FhirError;
      throw err;
    } finally {
      // A run refused after its interaction ran is recorded with what it would have returned (see `ExchangeAudit.result`).
      const outcome = { result: result ?? (error ? exchange.audit.result : undefined), error };
      if (exchange.unit) exchange.unit.deferAudit(entryOf(outcome));
      else if (error || !committed) {
        const settled = exchange.audit.settled.splice(0);
        if (settled.length > 0) await sink.commitWith([], settled);
        await sink.record(entryOf(outcome));
      }
    }
  };
}

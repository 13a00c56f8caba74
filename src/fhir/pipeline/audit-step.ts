import type { AuditEntry, AuditSink } from '../../audit/audit-sink.js';
import { withAudit } from '../../audit/with-audit.js';
import type { StoredRecord } from '../../store/port.js';
import type { FhirError } from '../errors.js';
import { INTERACTIONS } from '../interactions/table.js';
import type { FhirResult } from '../request.js';
import type { Step } from './compose.js';

/**
 * The outermost step: a FHIR interaction's audit record, whatever the outcome and whoever called
 * (HTTP, a bundle entry, HL7 v2), written by the one audit writer (`withAudit`, shared with the
 * doors beside the pipeline; STYLE.md habit 8, issue 16):
 * - a write's record goes into the write's own commit (`exchange.audit.commit`, which the one
 *   write path calls), so the data never exists without it;
 * - an entry of a transaction hands its record to the transaction's unit, which commits it with
 *   the transaction's outcome;
 * - anything else (reads, failures, refusals) is recorded after the run, before the response leaves.
 */
export function auditStep(sink: AuditSink): Step {
  return (exchange, next) => {
    const action = Object.hasOwn(INTERACTIONS, exchange.request.interaction) ? INTERACTIONS[exchange.request.interaction].audit.action : 'E';
    const entryOf = (outcome: { result?: FhirResult; error?: FhirError; written?: readonly StoredRecord[] }): AuditEntry => ({
      request: exchange.request,
      startedAt: exchange.startedAt,
      action,
      consent: exchange.consent,
      ...outcome,
    });
    return withAudit<FhirResult>(
      sink,
      (ended) => {
        // The errors step inside this one turned whatever was thrown into a FhirError. A run refused
        // after its interaction ran is recorded with what it would have returned (`ExchangeAudit.result`).
        const entry = entryOf(ended.ok ? { result: ended.value } : { result: exchange.audit.result, error: ended.error as FhirError });
        if (exchange.unit) {
          exchange.unit.deferAudit(entry);
          return undefined;
        }
        if (ended.ok && ended.committed) return undefined;
        return { entry, along: exchange.audit.settled.splice(0) };
      },
      (audited) => {
        exchange.audit.commit = async (ops, record = {}, entries = []) => {
          await audited.commit(ops, [...exchange.audit.settled, ...entries, entryOf(record)]);
          exchange.audit.settled.length = 0;
        };
        return next();
      },
    );
  };
}

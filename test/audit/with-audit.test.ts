import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogAuditSink } from '../../src/audit/audit-sink.js';
import { withAudit, type AuditRecord, type RunOutcome } from '../../src/audit/with-audit.js';
import { FhirError } from '../../src/fhir/errors.js';
import { createLogger } from '../../src/logger.js';
import type { StorePort } from '../../src/store/port.js';

/** The log sink (AUDIT_SINK=log) over a captured logger: what the one writer wrote, as log lines. */
function logSink() {
  const lines: Array<{ msg: string; audit: Record<string, unknown> }> = [];
  const out = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  // Nothing here commits data: the store is never reached.
  return { sink: createLogAuditSink(createLogger('info', out), {} as StorePort), lines };
}

const eventOf = (outcome: RunOutcome<string>): AuditRecord => ({
  event: { resourceType: 'AuditEvent', type: { code: 'door' }, outcome: outcome.ok ? '0' : '4', ...(outcome.ok ? {} : { outcomeDesc: (outcome.error as FhirError).code }), agent: [] },
});

describe('withAudit, the one audit writer', () => {
  it.each([
    ['a run that returns', async (): Promise<string> => 'done', '0', undefined],
    ['a run that is refused', async (): Promise<string> => Promise.reject(new FhirError('forbidden', 'no')), '4', 'forbidden'],
    ['a run that fails', async (): Promise<string> => Promise.reject(new FhirError('not-found', 'gone')), '4', 'not-found'],
  ] as const)('%s leaves exactly one record, with its outcome', async (_name, run, outcome, desc) => {
    const { sink, lines } = logSink();
    const answer = await withAudit<string>(sink, eventOf, run).then(
      (value) => ({ value }),
      (error: FhirError) => ({ error: error.code }),
    );
    expect(answer).toEqual(desc ? { error: desc } : { value: 'done' });
    expect(lines.map((l) => [l.msg, l.audit.outcome])).toEqual([['audit event', outcome]]);
  });

  it('writes nothing more for a run whose record is already written (committed with its data, or handed on)', async () => {
    const { sink, lines } = logSink();
    const seen: Array<RunOutcome<string>> = [];
    await withAudit<string>(sink, (outcome) => (seen.push(outcome), undefined), async (audited) => (await audited.commit([], []), 'written'));
    expect(seen).toEqual([{ ok: true, value: 'written', committed: true }]);
    expect(lines).toEqual([]);
  });

  it('fails the run when its record cannot be written: nothing is answered unaudited', async () => {
    const { sink } = logSink();
    const broken = { ...sink, recordEvent: () => Promise.reject(new FhirError('store-unavailable', 'full')) };
    await expect(withAudit<string>(broken, eventOf, async () => 'done')).rejects.toMatchObject({ code: 'store-unavailable' });
  });
});

import { describe, expect, it, vi } from 'vitest';
import { ackCode, rawConnection, useHl7Server } from './support.js';

const hl7 = useHl7Server();

/** An ADT^A01 about patient `mrn` whose attending physician (PV1-7) is `doctor`. */
const admit = (controlId: string, mrn: string, doctor: string): string =>
  [
    `MSH|^~\\&|TESTAPP|TESTFAC|FHIRGATE|HOSP|20240101120000||ADT^A01^ADT_A01|${controlId}|P|2.5.1`,
    'EVN|A01|20240101120000',
    `PID|1||${mrn}^^^TESTFAC^MR||Doe${mrn}^Ada||19800101|F`,
    `PV1|1|I|||||${doctor}^Attending^Alice^^^^^^TESTFAC`,
  ].join('\r') + '\r';

/** Sends one message on each of `messages.length` connections at once; resolves with their ACKs. */
async function sendConcurrently(messages: string[]): Promise<Array<string | undefined>> {
  const conns = await Promise.all(messages.map(() => rawConnection(hl7.port)));
  conns.forEach((c, i) => c.send(messages[i]));
  const acks = await Promise.all(conns.map((c) => c.frame(1)));
  conns.forEach((c) => c.end());
  return acks;
}

/**
 * Runs `work` with every store commit taking `ms` longer (a slow disk); returns how many of the
 * messages' transactions were in the pipeline at once, at most. (Store commits themselves go one at
 * a time, the audit chain's group commit: concurrent transactions share one.)
 */
async function withSlowCommits(ms: number, work: () => Promise<void>): Promise<number> {
  const { store, pipeline } = hl7.server.app;
  const commit = store.commit.bind(store);
  const execute = pipeline.execute.bind(pipeline);
  let inFlight = 0;
  let most = 0;
  const slow = vi.spyOn(store, 'commit').mockImplementation(async (writes) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return commit(writes);
  });
  const counted = vi.spyOn(pipeline, 'execute').mockImplementation(async (request) => {
    if (request.interaction !== 'transaction') return execute(request);
    most = Math.max(most, ++inFlight);
    try {
      return await execute(request);
    } finally {
      inFlight--;
    }
  });
  try {
    await work();
  } finally {
    slow.mockRestore();
    counted.mockRestore();
  }
  return most;
}

describe('messages on different connections (issue 19, item 8)', () => {
  it('are applied concurrently when they are about different patients, though they name the same attending physician', async () => {
    // The physician exists and is unchanged by the messages below, as in a running feed.
    expect(ackCode((await sendConcurrently([admit('CC-0', 'MRN-CC-0', 'DOC-CC')]))[0]).code).toBe('AA');
    let acks: Array<string | undefined> = [];
    const most = await withSlowCommits(400, async () => {
      acks = await sendConcurrently([1, 2, 3, 4].map((n) => admit(`CC-${n}`, `MRN-CC-${n}`, 'DOC-CC')));
    });
    expect(acks.map((a) => ackCode(a).code)).toEqual(['AA', 'AA', 'AA', 'AA']);
    // One at a time, no two transactions would ever overlap.
    expect(most).toBeGreaterThanOrEqual(2);
    const doctors = (await hl7.fhir.get('Practitioner?identifier=DOC-CC')).body.entry ?? [];
    expect(doctors).toHaveLength(1);
    expect(doctors[0].resource.meta.versionId).toBe('1');
  });

  it('write a practitioner that 8 concurrent messages name for the first time once, in one version', async () => {
    const acks = await sendConcurrently(Array.from({ length: 8 }, (_, n) => admit(`NEWDOC-${n}`, `MRN-NEWDOC-${n}`, 'DOC-NEW')));
    expect(acks.map((a) => ackCode(a).code)).toEqual(Array(8).fill('AA'));
    const doctors = (await hl7.fhir.get('Practitioner?identifier=DOC-NEW')).body.entry ?? [];
    expect(doctors).toHaveLength(1);
    expect(doctors[0].resource.meta.versionId).toBe('1');
    for (let n = 0; n < 8; n++) {
      const [patient] = (await hl7.fhir.get(`Patient?identifier=MRN-NEWDOC-${n}`)).body.entry ?? [];
      expect(patient.resource.meta.versionId).toBe('1');
    }
  });

  it('are applied one after the other when they are about the same patient', async () => {
    let acks: Array<string | undefined> = [];
    const most = await withSlowCommits(200, async () => {
      acks = await sendConcurrently([1, 2, 3].map((n) => admit(`SAME-${n}`, 'MRN-SAME', 'DOC-CC')));
    });
    expect(acks.map((a) => ackCode(a).code)).toEqual(['AA', 'AA', 'AA']);
    expect(most).toBe(1);
    const [patient] = (await hl7.fhir.get('Patient?identifier=MRN-SAME')).body.entry ?? [];
    expect(patient.resource.meta.versionId).toBe('1');
  });
});

import type { AuditEvent } from '@medplum/fhirtypes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChainWriter, type ChainWriter } from '../../src/audit/chain-writer.js';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import { identityCodec } from '../../src/fhir/codec.js';
import type { SearchIndex } from '../../src/search/types.js';
import { VersionConflictError, type StorePort } from '../../src/store/port.js';
import { record, writeOf } from '../store/contract-support.js';
import { openStore, removeDir, tempDir } from '../store/embedded-support.js';

// The search values of AuditEvents do not matter to the chain.
const noIndex = { extract: () => ({}) } as unknown as SearchIndex;
const event = (n: number): AuditEvent => ({ resourceType: 'AuditEvent', type: { code: 'rest' }, recorded: '2024-01-01T00:00:00Z', agent: [{ requestor: true, who: { display: `agent ${n}` } }], source: { observer: { display: 'test' } } });

let dir: string;
let store: StorePort;
const writer = (): ChainWriter => createChainWriter({ store, codec: identityCodec, searchIndex: noIndex, clock: () => new Date() });

beforeEach(async () => {
  dir = await tempDir();
  store = (await openStore(dir)).store;
});
afterEach(async () => {
  await store.close();
  await removeDir(dir);
});

describe('chain writer', () => {
  it('two writers sharing one store (two servers on one MongoDB) never fork the chain', async () => {
    const [a, b] = [writer(), writer()];
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).append([], [event(i)])));
    const trail = await verifyAuditTrail(store, identityCodec);
    expect(trail).toEqual({ count: 30 });
  });

  it('a job whose data conflicts gets the VersionConflictError; the jobs sharing its commit are committed without it', async () => {
    await store.commit([writeOf(record('Patient', 'p1'))]);
    const chain = writer();
    const first = chain.append([], [event(0)]);
    // Queued while the first commit is in flight: one shared commit, of which the stale write fails.
    const jobs = [
      chain.append([writeOf(record('Patient', 'p2'))], [event(1)]),
      chain.append([{ record: record('Patient', 'p1', { versionId: 8 }), expectedVersion: 7 }], [event(2)]),
      chain.append([], [event(3)]),
    ];
    const settled = await Promise.allSettled([first, ...jobs]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
    expect((await store.find('current', { resourceType: 'Patient', id: 'p2' })).length).toBe(1);
    expect((await store.find('current', { resourceType: 'Patient', id: 'p1' }))[0].versionId).toBe(1);
    // The stale job's event was never stored: the chain holds the other three, without a gap.
    expect(await verifyAuditTrail(store, identityCodec)).toEqual({ count: 3 });
  });

  it('two jobs writing the same resource never share a commit', async () => {
    const chain = writer();
    const first = chain.append([], [event(0)]);
    const create = chain.append([writeOf(record('Patient', 'p3'))], [event(1)]);
    const again = chain.append([writeOf(record('Patient', 'p3'))], [event(2)]);
    const settled = await Promise.allSettled([first, create, again]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(await verifyAuditTrail(store, identityCodec)).toEqual({ count: 2 });
  });
});

import type { Resource } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredRecord, StorePort } from '../../src/store/port.js';
import { openStore, removeDir, tempDir } from '../store/embedded-support.js';
import { markersOnDisk } from './support.js';

/** `StorePort.rewrite` and `compact` of the embedded store, which key rotation relies on. */

const dirs: string[] = [];
const stores: StorePort[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function open(dir?: string): Promise<{ store: StorePort; dir: string }> {
  const d = dir ?? (await tempDir());
  if (!dir) dirs.push(d);
  const { store } = await openStore(d);
  stores.push(store);
  return { store, dir: d };
}

function record(id: string, versionId: number, text: string): StoredRecord {
  return {
    resourceType: 'Patient',
    id,
    versionId,
    lastUpdated: `2026-01-0${versionId}T00:00:00.000Z`,
    deleted: false,
    resource: { resourceType: 'Patient', id, meta: { versionId: String(versionId) }, text: { status: 'generated', div: text } } as Resource,
    index: { marker: [{ c: text }] },
  };
}

const texts = (records: StoredRecord[]): string[] => records.map((r) => (r.resource as { text: { div: string } }).text.div);

describe('embedded store: rewrite in place', () => {
  it('replaces versions (and the current record when it is that version), without new versions', async () => {
    const { store } = await open();
    await store.commit([{ record: record('a', 1, 'OLD-A1'), expectedVersion: 0 }]);
    await store.commit([{ record: record('a', 2, 'OLD-A2'), expectedVersion: 1 }]);
    await store.rewrite!([record('a', 1, 'NEW-A1'), { ...record('a', 2, 'NEW-A2'), lastUpdated: 'ignored', deleted: true }, record('missing', 1, 'SKIPPED')]);
    expect(texts(await store.find('history', { id: 'a' }, { sort: { versionId: 1 } }))).toEqual(['NEW-A1', 'NEW-A2']);
    const [current] = await store.find('current', { id: 'a' });
    expect(current).toMatchObject({ versionId: 2, lastUpdated: '2026-01-02T00:00:00.000Z', deleted: false, index: { marker: [{ c: 'NEW-A2' }] } });
    expect(await store.count('current', { id: 'missing' })).toBe(0);
    // Version checks are untouched: the next version still expects 2.
    await store.commit([{ record: record('a', 3, 'A3'), expectedVersion: 2 }]);
  });

  it('is ordered with concurrent commits, survives a restart, and compaction removes the old bytes from disk', async () => {
    const { store, dir } = await open();
    await store.commit([{ record: record('b', 1, 'OLD-B1'), expectedVersion: 0 }]);
    await Promise.all([store.commit([{ record: record('b', 2, 'B2'), expectedVersion: 1 }]), store.rewrite!([record('b', 1, 'NEW-B1')])]);
    expect(markersOnDisk(dir, ['OLD-B1'])).toHaveLength(1); // still in the journal
    await store.close();
    stores.pop();
    const reopened = (await open(dir)).store;
    expect(texts(await reopened.find('history', { id: 'b' }, { sort: { versionId: 1 } }))).toEqual(['NEW-B1', 'B2']);
    expect(texts(await reopened.find('current', { id: 'b' }))).toEqual(['B2']);
    await reopened.rewrite!([record('b', 2, 'NEW-B2')]);
    await reopened.compact!();
    expect(markersOnDisk(dir, ['OLD-B1', '"B2"'])).toEqual([]);
    expect(markersOnDisk(dir, ['NEW-B1', 'NEW-B2']).length).toBeGreaterThan(0);
  });
});

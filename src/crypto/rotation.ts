import type { SearchIndex } from '../search/types.js';
import type { Filter, StoredRecord, StorePort } from '../store/port.js';
import { INDEX_KID_FIELD } from './blind-index.js';
import type { JweCodec, KeyRingRef } from './jwe-codec.js';

export interface RotationOptions {
  /**
   * Re-encode every version, also those already under the current keys: after changing
   * FHIRGATE_ENCRYPTED_ELEMENTS, or to encrypt data stored before encryption was on.
   */
  all?: boolean;
}

export interface RotationProgress {
  /** 1 for the main pass; later passes only catch writes that raced the switch to the new key. */
  pass: number;
  /** Versions looked at / in total (the total is counted at the start; writes during rotation add to it). */
  done: number;
  total: number;
  rewritten: number;
}

export interface RotationSummary {
  versions: number;
  rewritten: number;
  /** Passes over the store: more than one when writes raced the switch to the new key. */
  passes: number;
  atRestKid: string;
  indexKid: string;
  seconds: number;
  /** Records re-encrypted outside the store, by rotation step (`hl7v2-archive`). */
  steps?: Record<string, number>;
}

export interface RotationDeps {
  store: StorePort;
  codec: JweCodec;
  /** The blind index (its `extract` makes the tokens under the current index key). */
  searchIndex: SearchIndex;
  ring: KeyRingRef;
}

const PAGE = 200;
const BATCH = 100;
const MAX_PASSES = 4;

/** Current records by (resourceType, id), page by page (keyset paging: concurrent writes never shift a page). */
async function* allResources(store: StorePort): AsyncIterable<StoredRecord[]> {
  let after: StoredRecord | undefined;
  for (;;) {
    const filter: Filter = after ? { $or: [{ resourceType: { $gt: after.resourceType } }, { resourceType: after.resourceType, id: { $gt: after.id } }] } : {};
    const page = await store.find('current', filter, { sort: { resourceType: 1, id: 1 }, limit: PAGE });
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1];
  }
}

/**
 * What the workflow rules keep in `index` beside the search values (issue 17: a prescription's running
 * total, what a booking holds, src/workflow): not extracted from the resource alone, so kept as it is.
 */
function keptBesideSearchValues(index: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(index ?? {}).filter(([key]) => key.startsWith('workflow__')));
}

/** True when a version is stored under keys other than the current ones. */
function isStale(deps: RotationDeps, record: StoredRecord): boolean {
  const ring = deps.ring.current;
  const kid = deps.codec.kidOf(record.resource!);
  if (kid !== undefined && kid !== ring.atRest.kid) return true;
  const indexKid = record.index?.[INDEX_KID_FIELD];
  return indexKid !== undefined && indexKid !== ring.indexKeys[0].kid;
}

/** One pass over every version; returns what it looked at and rewrote. */
async function pass(deps: RotationDeps, options: RotationOptions, progress: RotationProgress, report: () => void): Promise<number> {
  const { store, codec, searchIndex } = deps;
  let batch: StoredRecord[] = [];
  let rewritten = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await store.rewrite!(batch);
    rewritten += batch.length;
    progress.rewritten += batch.length;
    batch = [];
    report();
  };
  for await (const page of allResources(store)) {
    for (const current of page) {
      const versions = await store.find('history', { resourceType: current.resourceType, id: current.id });
      for (const version of versions) {
        progress.done++;
        if (!version.resource || (!options.all && !isStale(deps, version))) continue;
        const plain = await codec.decode(version.resource);
        batch.push({ ...version, resource: await codec.encode(plain), index: { ...keptBesideSearchValues(version.index), ...searchIndex.extract(plain) } });
        if (batch.length >= BATCH) await flush();
      }
    }
    await flush();
    report();
    // Let requests run between pages: rotation shares the process with the server.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await flush();
  return rewritten;
}

/**
 * Re-encrypts (and re-indexes) every stored version that is not under the ring's current keys,
 * in place (`StorePort.rewrite`: no new versions, history included), then compacts the store so
 * the old ciphertexts leave its files. Runs while the server serves: reads decrypt with old and
 * new keys alike, queries match tokens of every index key. Writes that encrypted with the old key
 * just before the switch are caught by a further pass; passes repeat until one finds nothing.
 */
export async function rotateStore(deps: RotationDeps, options: RotationOptions, onProgress: (p: RotationProgress) => void): Promise<RotationSummary> {
  if (!deps.store.rewrite) throw new Error('This store adapter cannot rewrite versions in place, so keys cannot be rotated on it');
  const started = performance.now();
  const progress: RotationProgress = { pass: 1, done: 0, total: await deps.store.count('history', {}), rewritten: 0 };
  let last = 0;
  const report = (): void => {
    const now = performance.now();
    if (now - last < 100 && progress.done < progress.total) return;
    last = now;
    onProgress({ ...progress, total: Math.max(progress.total, progress.done) });
  };
  let passes = 0;
  for (let found = -1; found !== 0 && passes < MAX_PASSES; passes++) {
    if (passes > 0) Object.assign(progress, { pass: passes + 1, done: 0 });
    found = await pass(deps, passes === 0 ? options : {}, progress, report);
  }
  await deps.store.compact?.();
  onProgress({ ...progress, total: Math.max(progress.total, progress.done) });
  const ring = deps.ring.current;
  return {
    versions: progress.done,
    rewritten: progress.rewritten,
    passes,
    atRestKid: ring.atRest.kid,
    indexKid: ring.indexKeys[0].kid,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

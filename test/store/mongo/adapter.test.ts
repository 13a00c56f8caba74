import { MongoNetworkError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { indexPlan } from '../../../src/store/mongo/index-plan.js';
import { MongoStore, type MongoStoreOptions } from '../../../src/store/mongo/mongo-store.js';
import { TRANSACTION_SETTINGS } from '../../../src/store/mongo/transaction.js';
import { StoreUnavailableError, VersionConflictError, type Filter } from '../../../src/store/port.js';
import { record, writeOf } from '../contract-support.js';
import { fakeHandle } from './fake-handle.js';

const PLAN = indexPlan({ resourceTypes: [], params: () => new Map() });

function captureLogs() {
  const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { lines, logger };
}

function storeWith(fake: ReturnType<typeof fakeHandle>, extra: Partial<MongoStoreOptions> = {}): MongoStore {
  return new MongoStore({
    uri: 'mongodb://user:secret@db.example:27017/?replicaSet=rs0',
    db: 'fhirgate',
    connectTimeoutMs: 100,
    serverSelectionTimeoutMs: 100,
    indexes: PLAN,
    connect: async () => fake.handle,
    retryDelay: () => 1,
    ...extra,
  });
}

describe('mongodb adapter: the documents it sends', () => {
  it('runs the query document of the port unchanged, with sort, limit and the read preference', async () => {
    const fake = fakeHandle();
    const store = storeWith(fake, { searchReadPreference: 'secondaryPreferred' });
    await store.open();
    const search: Filter = { $and: [{ resourceType: 'Patient', deleted: false }, { 'index.family.f': { $regex: '^smi' } }] };
    await store.find('current', search, { sort: { 'index.family__sort_asc': 1, id: 1 }, limit: 21 });
    await store.find('current', { resourceType: 'Patient', id: 'a' }, { limit: 1 });
    await store.find('history', { resourceType: 'Patient', id: 'a' }, { sort: { versionId: -1 }, limit: 11 });
    await store.count('current', search);
    expect(fake.sent()).toEqual([
      ['current', 'find', search, { projection: { _id: 0 }, sort: { 'index.family__sort_asc': 1, id: 1 }, limit: 21, readPreference: 'secondaryPreferred' }],
      ['current', 'find', { resourceType: 'Patient', id: 'a' }, { projection: { _id: 0 }, limit: 1, readPreference: 'primary' }],
      ['history', 'find', { resourceType: 'Patient', id: 'a' }, { projection: { _id: 0 }, sort: { versionId: -1 }, limit: 11, readPreference: 'primary' }],
      ['current', 'countDocuments', search, { readPreference: 'secondaryPreferred' }],
    ]);
    expect(fake.calls[0].args[0]).toBe(search); // the very object: nothing rewritten
    await store.close();
  });

  it('commits a create and an update in one transaction: version-checked current, then history', async () => {
    const fake = fakeHandle();
    const store = storeWith(fake);
    await store.open();
    const v1 = record('Patient', 'a', { index: { family: [{ f: 'smith', e: 'Smith' }] } });
    const v2 = record('Patient', 'a', { versionId: 2 });
    await store.commit([writeOf(v1), writeOf(v2)]);
    expect(fake.calls.map((c) => `${c.on}.${c.method}`)).toEqual([
      'session.startTransaction',
      'current.updateOne',
      'history.replaceOne',
      'current.replaceOne',
      'history.replaceOne',
      'session.commitTransaction',
      'session.endSession',
    ]);
    expect(fake.calls[0].args).toEqual([TRANSACTION_SETTINGS]);
    expect(fake.sent()).toEqual([
      ['current', 'updateOne', { _id: 'Patient/a' }, { $setOnInsert: v1 }, { upsert: true, session: '[session]' }],
      ['history', 'replaceOne', { _id: 'Patient/a/1' }, v1, { upsert: true, session: '[session]' }],
      ['current', 'replaceOne', { _id: 'Patient/a', versionId: 1 }, v2, { session: '[session]' }],
      ['history', 'replaceOne', { _id: 'Patient/a/2' }, v2, { upsert: true, session: '[session]' }],
    ]);
    await store.close();
  });

  it('probes the current version on a failed precondition, aborts, and writes no history', async () => {
    const fake = fakeHandle();
    const store = storeWith(fake);
    await store.open();
    await store.commit([writeOf(record('Patient', 'a'))]);
    await store.commit([writeOf(record('Patient', 'a', { versionId: 2 }))]);
    fake.calls.length = 0;
    const err = await store.commit([{ record: record('Patient', 'a', { versionId: 3 }), expectedVersion: 1 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    expect(err).toMatchObject({ resourceType: 'Patient', id: 'a', expected: 1, actual: 2 });
    expect(fake.calls.map((c) => `${c.on}.${c.method}`)).toEqual(['session.startTransaction', 'current.replaceOne', 'current.findOne', 'session.abortTransaction', 'session.endSession']);
    expect(fake.sent()[1]).toEqual(['current', 'findOne', { _id: 'Patient/a' }, { projection: { _id: 0, versionId: 1 }, session: '[session]' }]);
    await store.close();
  });

  it('sends nothing for an empty commit and rejects malformed writes before any call', async () => {
    const fake = fakeHandle();
    const store = storeWith(fake);
    await store.open();
    await store.commit([]);
    await expect(store.commit([{ record: record('Patient', 'a'), expectedVersion: 1 }])).rejects.toThrow(TypeError);
    expect(fake.calls).toEqual([]);
    await store.close();
  });
});

describe('mongodb adapter: rewrite (key rotation)', () => {
  it('updates history and the current record of each version in one transaction', async () => {
    const fake = fakeHandle();
    const store = storeWith(fake);
    await store.open();
    const v1 = record('Patient', 'a', { index: { family: [{ f: 'hmac:old' }] } });
    await store.commit([writeOf(v1)]);
    fake.calls.length = 0;
    const again = record('Patient', 'a', { index: { family: [{ f: 'hmac:new' }] } });
    await store.rewrite([again]);
    expect(fake.calls.map((c) => `${c.on}.${c.method}`)).toEqual(['session.startTransaction', 'history.updateOne', 'current.updateOne', 'session.commitTransaction', 'session.endSession']);
    const update = { $set: { resource: again.resource, index: again.index } };
    expect(fake.sent()).toEqual([
      ['history', 'updateOne', { _id: 'Patient/a/1' }, update, { session: '[session]' }],
      ['current', 'updateOne', { _id: 'Patient/a', versionId: 1 }, update, { session: '[session]' }],
    ]);
    await store.close();
  });
});

describe('mongodb adapter: availability', () => {
  it('starts without MongoDB: readiness false, 503-class errors, one clear log line, then recovers by itself', async () => {
    const fake = fakeHandle();
    const { lines, logger } = captureLogs();
    let attempts = 0;
    let release!: () => void;
    const third = new Promise<void>((resolve) => (release = resolve));
    const store = storeWith(fake, {
      logger,
      connect: async () => {
        attempts++;
        if (attempts < 3) throw new Error('connect ECONNREFUSED 127.0.0.1:27017');
        release();
        return fake.handle;
      },
    });
    await store.open(); // resolves after the first failed attempt
    expect(attempts).toBe(1);
    expect(await store.ping()).toBe(false);
    await expect(store.find('current', {})).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.commit([writeOf(record('Patient', 'a'))])).rejects.toThrow(/not connected yet/);
    await third;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await store.ping()).toBe(true);
    await store.commit([writeOf(record('Patient', 'a'))]);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1); // the same reason again is logged at debug level
    expect(errors[0]).toMatchObject({ target: 'mongodb://db.example:27017', reason: 'connect ECONNREFUSED 127.0.0.1:27017', attempt: 1 });
    expect(errors[0].msg).toMatch(/readiness stays false .* retried/);
    expect(JSON.stringify(lines)).not.toContain('secret');
    expect(lines.some((l) => l.msg === 'mongodb store: connected' && l.attempts === 3)).toBe(true);
    await store.close();
  });

  it('maps a connection lost mid-operation to StoreUnavailableError and serves again once the driver reconnects', async () => {
    const fake = fakeHandle();
    const store = storeWith(fake);
    await store.open();
    fake.fail(new MongoNetworkError('connection 3 to 10.0.0.5:27017 closed'));
    const err = await store.find('current', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/MongoDB is unavailable: connection 3/);
    fake.setWritable(false);
    expect(await store.ping()).toBe(false);
    fake.setWritable(true);
    expect(await store.ping()).toBe(true);
    await expect(store.find('current', {})).resolves.toEqual([]);
    await store.close();
  });

  it('stops retrying on close, and refuses work afterwards', async () => {
    let attempts = 0;
    const store = storeWith(fakeHandle(), {
      retryDelay: () => 60_000,
      connect: async () => {
        attempts++;
        throw new Error('unreachable');
      },
    });
    await store.open();
    await store.close(); // does not wait for the minute-long pause
    expect(attempts).toBe(1);
    expect(await store.ping()).toBe(false);
    await expect(store.count('current', {})).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('lets operations in flight finish before closing the client', async () => {
    const fake = fakeHandle();
    const store = storeWith(fake);
    await store.open();
    const pending = Array.from({ length: 5 }, (_, i) => store.commit([writeOf(record('Patient', `p${i}`))]));
    await store.close();
    await expect(Promise.all(pending)).resolves.toBeDefined();
    expect(fake.calls.at(-1)).toEqual({ on: 'client', method: 'close', args: [] });
    expect(fake.docs.current.size).toBe(5);
  });
});

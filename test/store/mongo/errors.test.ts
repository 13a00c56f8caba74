import { MongoNetworkError, MongoNetworkTimeoutError, MongoServerError, MongoServerSelectionError, MongoTopologyClosedError, type TopologyDescription } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isUnavailable, isUnreachable, toStoreError } from '../../../src/store/mongo/errors.js';
import { runTransaction, TRANSACTION_SETTINGS, TransactionRetriesExhaustedError, type RetryPolicy, type TransactionSession } from '../../../src/store/mongo/transaction.js';
import { StoreUnavailableError, VersionConflictError } from '../../../src/store/port.js';

const serverError = (code: number, labels: string[] = []): MongoServerError => {
  const err = new MongoServerError({ code, errmsg: `server error ${code}` });
  for (const label of labels) err.addErrorLabel(label);
  return err;
};
// The driver raises this one itself; built here the way it does, with the topology it gave up on.
const selectionError = (message: string): MongoServerSelectionError => new MongoServerSelectionError(message, { servers: new Map() } as unknown as TopologyDescription);
const labelled = (name: string, labels: string[]): Error => Object.assign(new Error(name), { name, errorLabels: labels });

describe('mongodb error classification', () => {
  it.each([
    ['server selection timed out', selectionError('Server selection timed out after 200 ms'), true],
    ['network error', new MongoNetworkError('connection reset'), true],
    ['network timeout', new MongoNetworkTimeoutError('timed out'), true],
    ['topology closed', new MongoTopologyClosedError(), true],
    ['NotWritablePrimary (failover)', serverError(10107), true],
    ['PrimarySteppedDown', serverError(189), true],
    ['InterruptedDueToReplStateChange', serverError(11602), true],
    ['ShutdownInProgress', serverError(91), true],
    ['unknown commit result', labelled('MongoServerError', ['UnknownTransactionCommitResult']), true],
    ['retryable write error', labelled('MongoServerError', ['RetryableWriteError']), true],
    ['write conflicts outlasting the retries', new TransactionRetriesExhaustedError(12, { cause: undefined }), true],
    ['duplicate key', serverError(11000), false],
    ['bad query operator', serverError(2), false],
    ['plain error', new Error('boom'), false],
    ['not an error', 'boom', false],
  ])('%s → unavailable: %s', (_label, err, expected) => {
    expect(isUnavailable(err)).toBe(expected);
    const mapped = toStoreError(err);
    if (expected) {
      expect(mapped).toBeInstanceOf(StoreUnavailableError);
      expect((mapped as StoreUnavailableError).cause).toBe(err);
    } else {
      expect(mapped).toBe(err);
    }
  });

  it('passes the port errors through unchanged', () => {
    const conflict = new VersionConflictError('Patient', 'a', 1, 2);
    const unavailable = new StoreUnavailableError('down');
    const malformed = new TypeError('bad write');
    for (const err of [conflict, unavailable, malformed]) expect(toStoreError(err)).toBe(err);
  });

  it('tells an unreachable deployment from a transient one', () => {
    expect(isUnreachable(selectionError('x'))).toBe(true);
    expect(isUnreachable(serverError(112, ['TransientTransactionError']))).toBe(false);
  });
});

/** A session that records calls and fails as scripted. */
function fakeSession(script: { work?: unknown[]; commit?: unknown[] } = {}) {
  const calls: string[] = [];
  let active = false;
  const session: TransactionSession = {
    startTransaction(options) {
      expect(options).toEqual(TRANSACTION_SETTINGS);
      calls.push('start');
      active = true;
    },
    async commitTransaction() {
      calls.push('commit');
      const err = script.commit?.shift();
      if (err) throw err;
      active = false;
    },
    async abortTransaction() {
      calls.push('abort');
      active = false;
    },
    inTransaction: () => active,
  };
  const work = async (): Promise<string> => {
    calls.push('work');
    const err = script.work?.shift();
    if (err) throw err;
    return 'done';
  };
  return { session, work, calls };
}

const noWait: RetryPolicy = { maxAttempts: 4, maxCommitAttempts: 3, backoff: () => 0, sleep: async () => {} };
const writeConflict = (): MongoServerError => serverError(112, ['TransientTransactionError']);

describe('mongodb transactions', () => {
  it('runs with snapshot reads, majority writes, on the primary', () => {
    expect(TRANSACTION_SETTINGS).toEqual({ readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' }, readPreference: 'primary' });
  });

  it('commits once when nothing goes wrong', async () => {
    const { session, work, calls } = fakeSession();
    await expect(runTransaction(session, work, noWait)).resolves.toBe('done');
    expect(calls).toEqual(['start', 'work', 'commit']);
  });

  it('reruns the whole transaction after a write conflict', async () => {
    const { session, work, calls } = fakeSession({ work: [writeConflict(), writeConflict()] });
    await expect(runTransaction(session, work, noWait)).resolves.toBe('done');
    expect(calls).toEqual(['start', 'work', 'abort', 'start', 'work', 'abort', 'start', 'work', 'commit']);
  });

  it('retries only the commit when its result is unknown', async () => {
    const { session, work, calls } = fakeSession({ commit: [labelled('MongoServerError', ['UnknownTransactionCommitResult'])] });
    await expect(runTransaction(session, work, noWait)).resolves.toBe('done');
    expect(calls).toEqual(['start', 'work', 'commit', 'commit']);
  });

  it('aborts and rethrows a version conflict without retrying', async () => {
    const conflict = new VersionConflictError('Patient', 'a', 1, 2);
    const { session, work, calls } = fakeSession({ work: [conflict] });
    await expect(runTransaction(session, work, noWait)).rejects.toBe(conflict);
    expect(calls).toEqual(['start', 'work', 'abort']);
  });

  it('fails at once when no server can be selected, leaving the wait to the selection timeout', async () => {
    const unreachable = selectionError('Server selection timed out');
    unreachable.addErrorLabel('TransientTransactionError');
    const { session, work, calls } = fakeSession({ work: [unreachable] });
    await expect(runTransaction(session, work, noWait)).rejects.toBe(unreachable);
    expect(calls).toEqual(['start', 'work', 'abort']);
  });

  it('gives up after the last attempt with an error the adapter reports as unavailable', async () => {
    const { session, work } = fakeSession({ work: [writeConflict(), writeConflict(), writeConflict(), writeConflict()] });
    const err = await runTransaction(session, work, noWait).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionRetriesExhaustedError);
    expect(toStoreError(err)).toBeInstanceOf(StoreUnavailableError);
  });

  it('reports an unknown commit result that persists as unavailable, never as success', async () => {
    const unknown = () => labelled('MongoServerError', ['UnknownTransactionCommitResult']);
    const { session, work, calls } = fakeSession({ commit: [unknown(), unknown(), unknown()] });
    const err = await runTransaction(session, work, noWait).catch((e: unknown) => e);
    expect(calls.filter((c) => c === 'commit')).toHaveLength(3);
    expect(toStoreError(err)).toBeInstanceOf(StoreUnavailableError);
  });
});

describe('mongodb transactions: racing creates', () => {
  it('reruns the transaction after a duplicate key, so the version check can report the conflict', async () => {
    const { session, work, calls } = fakeSession({ work: [serverError(11000)] });
    await expect(runTransaction(session, work, noWait)).resolves.toBe('done');
    expect(calls).toEqual(['start', 'work', 'abort', 'start', 'work', 'commit']);
  });
});

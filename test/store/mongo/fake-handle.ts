import type { MongoHandle } from '../../../src/store/mongo/client.js';
import type { TransactionSession } from '../../../src/store/mongo/transaction.js';

/** One call the adapter made on the fake driver: method, collection and arguments, as sent. */
export interface Call {
  on: string;
  method: string;
  args: unknown[];
}

/**
 * A stand-in for the driver objects the adapter touches, recording every document it sends.
 * Not a MongoDB emulation: just enough state (documents by `_id`) for version checks to
 * succeed or fail, and `fail` to throw a given error from the next call.
 */
export function fakeHandle() {
  const calls: Call[] = [];
  const docs = { current: new Map<string, Record<string, unknown>>(), history: new Map<string, Record<string, unknown>>() };
  let nextError: unknown;
  let writable = true;
  const record = (on: string, method: string, args: unknown[]): void => {
    calls.push({ on, method, args });
    if (nextError !== undefined) {
      const err = nextError;
      nextError = undefined;
      throw err;
    }
  };
  const strip = (args: unknown[]): unknown[] => args.map((a) => (a && typeof a === 'object' && 'session' in a ? { ...a, session: '[session]' } : a));
  const collection = (name: 'current' | 'history') => ({
    find(filter: unknown, options: unknown) {
      record(name, 'find', [filter, options]);
      return { toArray: async () => [...docs[name].values()].map(({ _id, ...rest }) => rest) };
    },
    async countDocuments(filter: unknown, options: unknown) {
      record(name, 'countDocuments', [filter, options]);
      return docs[name].size;
    },
    async updateOne(filter: { _id: string }, update: { $setOnInsert: Record<string, unknown> }, options: object) {
      record(name, 'updateOne', strip([filter, update, options]));
      if (docs[name].has(filter._id)) return { matchedCount: 1, upsertedCount: 0 };
      docs[name].set(filter._id, { _id: filter._id, ...update.$setOnInsert });
      return { matchedCount: 0, upsertedCount: 1 };
    },
    async replaceOne(filter: { _id: string; versionId?: number }, replacement: Record<string, unknown>, options: { upsert?: boolean }) {
      record(name, 'replaceOne', strip([filter, replacement, options]));
      const found = docs[name].get(filter._id);
      const matches = found !== undefined && (filter.versionId === undefined || found.versionId === filter.versionId);
      if (!matches && !options.upsert) return { matchedCount: 0, upsertedCount: 0 };
      docs[name].set(filter._id, { _id: filter._id, ...replacement });
      return { matchedCount: matches ? 1 : 0, upsertedCount: matches ? 0 : 1 };
    },
    async findOne(filter: { _id: string }, options: object) {
      record(name, 'findOne', strip([filter, options]));
      const found = docs[name].get(filter._id);
      return found ? { versionId: found.versionId } : null;
    },
  });
  let inTransaction = false;
  const session: TransactionSession & { endSession(): Promise<void> } = {
    startTransaction: (options) => {
      calls.push({ on: 'session', method: 'startTransaction', args: [options] });
      inTransaction = true;
    },
    commitTransaction: async () => {
      calls.push({ on: 'session', method: 'commitTransaction', args: [] });
      inTransaction = false;
    },
    abortTransaction: async () => {
      calls.push({ on: 'session', method: 'abortTransaction', args: [] });
      inTransaction = false;
    },
    inTransaction: () => inTransaction,
    endSession: async () => {
      calls.push({ on: 'session', method: 'endSession', args: [] });
    },
  };
  const handle = {
    client: { startSession: () => session },
    collections: { current: collection('current'), history: collection('history') },
    writable: () => writable,
    close: async () => {
      calls.push({ on: 'client', method: 'close', args: [] });
    },
  } as unknown as MongoHandle;
  return {
    handle,
    calls,
    docs,
    /** Calls on the collections only (not the session), as [collection, method, ...args]. */
    sent: () => calls.filter((c) => c.on !== 'session' && c.on !== 'client').map((c) => [c.on, c.method, ...c.args]),
    fail(err: unknown) {
      nextError = err;
    },
    setWritable(value: boolean) {
      writable = value;
    },
  };
}

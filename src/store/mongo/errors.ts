import { StoreUnavailableError, VersionConflictError } from '../port.js';

/**
 * Which driver errors mean "MongoDB cannot be reached right now" (the edge answers 503 with
 * Retry-After, and the client may retry), as opposed to errors in what was asked (500).
 * Classified by the error's name, labels and server code, so the rules are tested with plain
 * objects as well as the driver's own error classes.
 */

/** Driver error classes raised when no usable server is at hand, or the connection broke. */
const UNAVAILABLE_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
  'MongoOperationTimeoutError',
  // ours (transaction.ts): write conflicts outlasted every retry; the client may retry later
  'TransactionRetriesExhaustedError',
]);

/**
 * Labels meaning the operation may be retried once a server is back, or (commit result
 * unknown) that its outcome cannot be told: like a failed fsync in the embedded store, that
 * is reported as unavailability, never as success. https://www.mongodb.com/docs/manual/core/transactions-in-applications/
 */
const UNAVAILABLE_LABELS = ['RetryableWriteError', 'UnknownTransactionCommitResult', 'ResetPool', 'SystemOverloadedError'];

/**
 * Server error codes of elections, shutdowns and network trouble
 * (https://www.mongodb.com/docs/manual/reference/error-codes/).
 */
export const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  64, // WriteConcernFailed: the write may not have reached a majority
  89, // NetworkTimeout
  91, // ShutdownInProgress
  133, // FailedToSatisfyReadPreference
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10058, // LegacyNotPrimary
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  errorLabels?: unknown;
  hasErrorLabel?: (label: string) => boolean;
  cause?: unknown;
}

/** True when the error carries the given driver label. */
export function hasLabel(err: unknown, label: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as ErrorLike;
  if (typeof e.hasErrorLabel === 'function') return e.hasErrorLabel(label);
  return Array.isArray(e.errorLabels) && e.errorLabels.includes(label);
}

/** True for errors that mean the deployment is unreachable, electing, or shutting down. */
export function isUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as ErrorLike;
  if (err instanceof StoreUnavailableError) return true;
  if (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) return true;
  if (typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return true;
  return UNAVAILABLE_LABELS.some((label) => hasLabel(err, label));
}

/** True when no server could be selected at all: retrying inside this request would only wait longer. */
export function isUnreachable(err: unknown): boolean {
  const name = (err as ErrorLike | null)?.name;
  return name === 'MongoServerSelectionError' || name === 'MongoTopologyClosedError' || name === 'MongoNotConnectedError' || err instanceof StoreUnavailableError;
}

/** What the adapter throws for a driver error: the port's errors pass, connection-class errors become StoreUnavailableError, the rest stay as they are (500). */
export function toStoreError(err: unknown): unknown {
  if (err instanceof VersionConflictError || err instanceof StoreUnavailableError || err instanceof TypeError) return err;
  if (isUnavailable(err)) {
    const reason = err instanceof Error ? err.message : String(err);
    return new StoreUnavailableError(`MongoDB is unavailable: ${reason}`, { cause: err });
  }
  return err;
}

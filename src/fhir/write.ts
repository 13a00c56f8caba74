import { assertBoundedJson } from './limits.js';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { SERVER_EXTENSIONS } from '../audit/audit-event.js';
import { VersionConflictError, type StoredRecord, type WriteOp } from '../store/port.js';
import { conflictError } from './conflicts.js';
import { FhirError } from './errors.js';
import { hasErrors } from './outcome.js';
import type { InteractionDeps, PipelineDeps } from './pipeline.js';
import type { Exchange } from './exchange.js';

/** One intended write: a new version of a resource, or its deletion when `resource` is absent. */
export interface WriteIntent {
  resourceType: string;
  id: string;
  resource?: Resource;
  /** The current record as read before the write (undefined when none exists). */
  current?: StoredRecord;
  /**
   * A server-derived change (issue 17, the workflow rules): `resource` is `base` (the live version,
   * validated when it was stored) with only the top-level `elements` set by the server to values the
   * caller guarantees valid. When nothing else differs (same values, by identity), the unchanged content
   * is not validated again; anything else differing validates the whole resource as usual.
   * `index`, when given, is what the search index would extract from `resource` (the base's stored
   * values with those of the changed elements replaced), used instead of extracting again.
   */
  derivedFrom?: { base: Resource; elements: readonly string[]; index?: Record<string, unknown> };
}

/** A write ready to commit, with the resource as the client will see it. */
export interface PreparedWrite {
  op: WriteOp;
  resource?: Resource;
  /** The version it replaces, as read (undefined for a create): what the workflow rules compare with. */
  current?: StoredRecord;
}

/**
 * The one write path: validate → stamp meta → extract search values → encode (encryption) → a version-checked WriteOp.
 * REST interactions, bundles and HL7 v2 all prepare writes here, so none can skip a step.
 */
export async function prepareWrite(deps: PipelineDeps, intent: WriteIntent): Promise<PreparedWrite> {
  const { resourceType, id, current } = intent;
  const versionId = (current?.versionId ?? 0) + 1;
  const lastUpdated = nextInstant(deps.clock(), current);
  let resource: Resource | undefined;
  let derivedIndex: Record<string, unknown> | undefined;
  if (intent.resource) {
    resource = {
      ...intent.resource,
      id,
      meta: { ...intent.resource.meta, versionId: String(versionId), lastUpdated },
    } as Resource;
    assertNoServerExtensions(resource);
    // Whatever the path (HTTP, a patch result, a bundle entry, HL7): nothing too deep or too long reaches the recursive walkers.
    assertBoundedJson(resource);
    if (changesOnly(intent)) derivedIndex = intent.derivedFrom?.index;
    else await assertValid(deps, resource);
  }
  const record: StoredRecord = {
    resourceType,
    id,
    versionId,
    lastUpdated,
    deleted: !resource,
    // Search values come from the plaintext, before the codec may encrypt it (issue 3): one place for every write path.
    ...(resource ? { index: derivedIndex ?? deps.searchIndex.extract(resource), resource: await deps.codec.encode(resource) } : {}),
    // A deletion keeps the search values of what it deleted: type and system histories withhold it as they withheld that (consent).
    ...(!resource && current?.index ? { index: current.index } : {}),
  };
  return { op: { record, expectedVersion: current?.versionId ?? 0 }, resource, current };
}

/**
 * Makes prepared writes durable, all or nothing, with the interaction's audit record in the same
 * commit (issue 8: an access whose audit record cannot be written does not happen): committed at
 * once through the audit step (`exchange.audit.commit`), or, for an entry of a transaction, staged
 * in its unit for the transaction's single commit. A failed commit throws the store's error
 * unchanged (`runVersioned` retries conflicts) and the audit step then records the failure.
 */
export async function commitWrites(deps: InteractionDeps, exchange: Exchange, writes: readonly PreparedWrite[]): Promise<void> {
  const ops = writes.map((w) => w.op);
  const request = { ...exchange.request, unit: exchange.unit };
  // The workflow rules (issue 17) check the writes and derive writes of their own (a prescription
  // completed, a slot busy), version-checked against what they read: all of it commits together or not at all.
  if (exchange.unit) {
    const derived = deps.workflow ? await deps.workflow(deps, request, writes) : [];
    exchange.unit.stage(ops);
    return exchange.unit.stageDerived(derived);
  }
  // What a rule checks but does not write (overlapping bookings) is held from its check to the commit; a transaction took these keys up front.
  const keys = deps.workflow?.lockKeys(writes.map((w) => w.resource)) ?? [];
  const release = keys.length > 0 ? await deps.locks.acquire(keys) : undefined;
  try {
    const all = [...ops, ...(deps.workflow ? await deps.workflow(deps, request, writes) : [])];
    await exchange.audit.commit(all, { written: all.map((op) => op.record) });
  } finally {
    release?.();
  }
}

/** Whether `intent.resource` differs from `intent.derivedFrom.base` in the named server-owned elements only (meta too must be the same). */
function changesOnly(intent: WriteIntent): boolean {
  const { resource, derivedFrom } = intent;
  if (!resource || !derivedFrom || derivedFrom.base.resourceType !== resource.resourceType) return false;
  const base = derivedFrom.base as unknown as Record<string, unknown>;
  const next = resource as unknown as Record<string, unknown>;
  const free = new Set(derivedFrom.elements);
  const keys = new Set([...Object.keys(base), ...Object.keys(next)]);
  return [...keys].every((key) => free.has(key) || base[key] === next[key]);
}

/** Refuses what only the server may write (the audit chain link, the break-glass flag), so neither can be forged (issue 8). */
function assertNoServerExtensions(resource: Resource): void {
  const extensions = (resource as { extension?: Array<{ url: string }> }).extension ?? [];
  const forged = extensions.find((e) => SERVER_EXTENSIONS.has(e.url));
  if (forged) throw new FhirError('invalid-resource', `The extension ${forged.url} is set by the server only; remove it`);
}

/** Validates and throws a 400 (structure) or 422 (rules) FhirError listing every issue. */
export async function assertValid(deps: PipelineDeps, resource: Resource): Promise<OperationOutcomeIssue[]> {
  const issues = await deps.validator.validate(resource);
  if (hasErrors(issues)) {
    const structural = issues.some((i) => (i.severity === 'error' || i.severity === 'fatal') && i.code === 'structure');
    const count = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').length;
    throw new FhirError(structural ? 'invalid-structure' : 'invalid-resource', `${resource.resourceType} failed validation with ${count} error(s)`, { issues });
  }
  return issues;
}

/**
 * lastUpdated of a new version: now, but strictly after the previous version's,
 * so versions stay ordered even if the wall clock steps back.
 */
function nextInstant(now: Date, current: StoredRecord | undefined): string {
  const previous = current ? Date.parse(current.lastUpdated) : -Infinity;
  return new Date(Math.max(now.getTime(), previous + 1)).toISOString();
}

/**
 * Runs a read-check-prepare-commit attempt against the version it read. The one place a version
 * conflict of a single write is decided: re-run, or 412; the errors step answers what escapes with 409.
 * Without If-Match the client did not pin a version: when another writer commits in between,
 * the attempt is re-run on the new version (last writer wins, nothing is merged away).
 * With If-Match, a writer slipping in between makes the client's version stale: 412.
 */
export async function runVersioned<T>(ifMatch: string | undefined, attempt: (fresh: boolean) => Promise<T>, attempts = 12): Promise<T> {
  for (let i = 1; ; i++) {
    // Jittered exponential backoff, so writers racing on one resource spread out instead of colliding again.
    if (i > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** i, 200)));
    try {
      // A re-run reads afresh: what the request loaded before is the version that lost the race.
      return await attempt(i > 1);
    } catch (err) {
      if (!(err instanceof VersionConflictError)) throw err;
      if (ifMatch !== undefined) throw conflictError(err, true);
      if (i >= attempts) throw err;
    }
  }
}

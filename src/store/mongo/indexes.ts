import type { CreateIndexesOptions, Db, IndexDescription } from 'mongodb';
import type { Logger } from '../../logger.js';
import type { CollectionName } from '../port.js';
import { INDEX_PREFIX, type IndexPlan, type IndexSpec } from './index-plan.js';

/** An index as `listIndexes` reports it. */
export interface ExistingIndex {
  name: string;
  key: Record<string, unknown>;
}

/** What creating the plan on one collection does. */
export interface IndexChanges {
  create: IndexSpec[];
  /** FhirGate indexes whose key differs from the plan: left alone, reported (drop them to have them rebuilt). */
  differing: string[];
  /** FhirGate indexes no longer in the plan (e.g. a parameter removed): left alone, reported. */
  stale: string[];
}

/** Compares the plan of one collection with its indexes (pure). */
export function indexChanges(planned: readonly IndexSpec[], existing: readonly ExistingIndex[]): IndexChanges {
  const byName = new Map(existing.map((i) => [i.name, i]));
  const names = new Set(planned.map((s) => s.name));
  return {
    create: planned.filter((s) => !byName.has(s.name)),
    differing: planned.filter((s) => byName.has(s.name) && !sameKey(s.key, byName.get(s.name)!.key)).map((s) => s.name),
    stale: existing.filter((i) => i.name.startsWith(INDEX_PREFIX) && !names.has(i.name)).map((i) => i.name),
  };
}

/** The `createIndexes` description of a planned index. */
export function indexDescription(spec: IndexSpec): IndexDescription & CreateIndexesOptions {
  return { name: spec.name, key: spec.key, ...(spec.unique ? { unique: true } : {}) };
}

function sameKey(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const entries = (key: Record<string, unknown>): string => JSON.stringify(Object.entries(key).map(([k, v]) => [k, Number(v)]));
  return entries(a) === entries(b);
}

const COLLECTIONS: CollectionName[] = ['current', 'history'];
const NAMESPACE_EXISTS = 48;

/**
 * Creates the collections and every missing index of the plan; idempotent (a second run, or a
 * second FhirGate process, creates nothing) and logged. Collections are created up front
 * because transactions may not always create them.
 */
export async function ensureIndexes(db: Db, plan: IndexPlan, logger: Logger | undefined): Promise<void> {
  const created: string[] = [];
  for (const name of COLLECTIONS) {
    await db.createCollection(name).catch((err: { code?: number }) => {
      if (err.code !== NAMESPACE_EXISTS) throw err;
    });
    const collection = db.collection(name);
    const existing = (await collection.listIndexes().toArray()) as ExistingIndex[];
    const changes = indexChanges(plan.indexes.filter((s) => s.collection === name), existing);
    if (changes.create.length > 0) await collection.createIndexes(changes.create.map(indexDescription));
    created.push(...changes.create.map((s) => `${name}.${s.name}`));
    if (changes.differing.length) logger?.warn({ collection: name, indexes: changes.differing }, 'mongodb store: indexes differ from the plan; drop them and restart to rebuild');
    if (changes.stale.length) logger?.warn({ collection: name, indexes: changes.stale }, 'mongodb store: FhirGate indexes no longer in the plan; drop them if unused');
  }
  if (plan.unindexedSorts.length) logger?.warn({ parameters: plan.unindexedSorts }, 'mongodb store: index budget spent; sorting on these parameters runs without an index');
  logger?.info({ planned: plan.indexes.length, created }, created.length ? 'mongodb store: indexes created' : 'mongodb store: indexes up to date');
}

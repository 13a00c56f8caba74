import type { Document } from 'mongodb';
import type { Filter, GroupCount } from '../port.js';

/**
 * The aggregation of `StorePort.groupCount`: the matches (the filter uses the same indexes as a
 * find), the values at `path` unwound, each record counted once per distinct value, then per value.
 */
export function groupCountPipeline(filter: Filter, path: string): Document[] {
  return [
    { $match: filter },
    { $project: { _id: 1, v: `$${path}` } },
    { $unwind: '$v' },
    { $match: { v: { $type: ['string', 'number'] } } },
    { $group: { _id: { d: '$_id', v: '$v' } } },
    { $group: { _id: '$_id.v', n: { $sum: 1 } } },
  ];
}

/** The aggregation's documents as groups. */
export function groupsOf(documents: readonly Document[]): GroupCount[] {
  return documents.map((d) => ({ value: d._id as string | number, count: d.n as number }));
}

import { describe, expect, it } from 'vitest';
import { r4Definitions } from '../../../src/fhir/definitions.js';
import { SERVED_TYPES } from '../../../src/fhir/registry.js';
import { createSearchIndex } from '../../../src/search/index/index.js';
import { baseIndexes, indexPlan, MAX_INDEXES_PER_COLLECTION, sortableCodes, sortIndexes, type PlannedParam, type SearchParamSource } from '../../../src/store/mongo/index-plan.js';
import { indexChanges, indexDescription } from '../../../src/store/mongo/indexes.js';

const TYPES = Object.keys(SERVED_TYPES);
const searchIndex = createSearchIndex({ definitions: r4Definitions(), resourceTypes: TYPES });
const REGISTRY: SearchParamSource = { resourceTypes: TYPES, params: (type) => searchIndex.params(type) };

function source(params: Record<string, Array<[code: string, type: string]>>): SearchParamSource {
  return {
    resourceTypes: Object.keys(params),
    params: (type) => new Map<string, PlannedParam>(params[type].map(([code, t]) => [code, { code, type: t }])),
  };
}

describe('mongodb index plan', () => {
  it('has the fixed indexes of reads, history and default paging', () => {
    expect(baseIndexes()).toEqual([
      { collection: 'current', name: 'fhirgate_type_id', key: { resourceType: 1, id: 1 }, unique: true },
      { collection: 'current', name: 'fhirgate_type_deleted_id', key: { resourceType: 1, deleted: 1, id: 1 } },
      { collection: 'current', name: 'fhirgate_type_deleted_lastUpdated_asc', key: { resourceType: 1, deleted: 1, lastUpdated: 1, id: 1 } },
      { collection: 'current', name: 'fhirgate_type_deleted_lastUpdated_desc', key: { resourceType: 1, deleted: 1, lastUpdated: -1, id: 1 } },
      { collection: 'current', name: 'fhirgate_type_index_wildcard', key: { resourceType: 1, 'index.$**': 1 } },
      { collection: 'history', name: 'fhirgate_type_id_version', key: { resourceType: 1, id: 1, versionId: 1 }, unique: true },
      { collection: 'history', name: 'fhirgate_type_lastUpdated_id_version', key: { resourceType: 1, lastUpdated: -1, id: -1, versionId: -1 } },
    ]);
  });

  it('gives a parameter one index per sort direction, in the key order keyset paging sorts by', () => {
    // resolveSort: [{ index.<code>__sort_asc: 1 }, { id: 1 }] and [{ index.<code>__sort_desc: -1 }, { id: 1 }]
    expect(sortIndexes('birthdate')).toEqual([
      { collection: 'current', name: 'fhirgate_sort_birthdate_asc', key: { resourceType: 1, deleted: 1, 'index.birthdate__sort_asc': 1, id: 1 } },
      { collection: 'current', name: 'fhirgate_sort_birthdate_desc', key: { resourceType: 1, deleted: 1, 'index.birthdate__sort_desc': -1, id: 1 } },
    ]);
    expect(sortIndexes('address-city')[0].key).toHaveProperty(['index.address-city__sort_asc'], 1);
  });

  it('uses the same field names as the search index', () => {
    for (const type of TYPES) {
      for (const code of ['birthdate', 'family', 'date', 'authoredon', '_lastUpdated']) {
        if (!searchIndex.params(type).has(code)) continue;
        const fields = [1, -1].map((d) => searchIndex.sortField(type, code, d as 1 | -1));
        const keys = indexPlan(REGISTRY).indexes.map((i) => Object.keys(i.key)[2]);
        for (const field of fields) expect(keys, `${type} ${code}`).toContain(field);
      }
    }
  });

  it('derives sort indexes for date, number, quantity and string parameters, once per code', () => {
    const codes = sortableCodes(REGISTRY);
    expect(codes.slice(0, 8)).toEqual(['authoredon', 'birthdate', 'date', 'death-date', 'period', 'start', 'whenhandedover', 'whenprepared']);
    expect(codes).toEqual(expect.arrayContaining(['family', 'given', 'name', 'phonetic', 'address-city']));
    expect(codes).not.toContain('_lastUpdated');
    expect(codes).not.toContain('gender');
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('fits the served registry in the collection limit with unique names', () => {
    const plan = indexPlan(REGISTRY);
    expect(plan.unindexedSorts).toEqual([]);
    const current = plan.indexes.filter((i) => i.collection === 'current');
    expect(current.length + 1).toBeLessThanOrEqual(MAX_INDEXES_PER_COLLECTION);
    expect(new Set(plan.indexes.map((i) => i.name)).size).toBe(plan.indexes.length);
    expect(indexPlan(REGISTRY)).toEqual(plan); // deterministic: the same on every start
  });

  it('reports the parameters beyond the budget instead of exceeding the limit', () => {
    const many = Array.from({ length: 40 }, (_, i) => [`d${String(i).padStart(2, '0')}`, 'date'] as [string, string]);
    const plan = indexPlan(source({ Thing: [...many, ['s1', 'string'], ['t1', 'token']] }));
    expect(plan.indexes.filter((i) => i.collection === 'current').length).toBe(59);
    expect(plan.unindexedSorts).toEqual([...many.slice(27).map(([c]) => c), 's1']);
  });
});

describe('mongodb index creation', () => {
  const planned = [...baseIndexes().filter((i) => i.collection === 'current').slice(0, 2), ...sortIndexes('date')];

  it('sends each index with its stable name, key and uniqueness', () => {
    expect(indexDescription(planned[0])).toEqual({ name: 'fhirgate_type_id', key: { resourceType: 1, id: 1 }, unique: true });
    expect(indexDescription(planned[1])).toEqual({ name: 'fhirgate_type_deleted_id', key: { resourceType: 1, deleted: 1, id: 1 } });
  });

  it('creates only what is missing, and reports changed and stale FhirGate indexes', () => {
    const existing = [
      { name: '_id_', key: { _id: 1 } },
      { name: 'fhirgate_type_id', key: { resourceType: 1, id: 1 } },
      { name: 'fhirgate_type_deleted_id', key: { resourceType: 1, id: 1, deleted: 1 } },
      { name: 'fhirgate_sort_old_asc', key: { 'index.old__sort_asc': 1 } },
      { name: 'operators_own', key: { 'resource.meta.source': 1 } },
    ];
    const changes = indexChanges(planned, existing);
    expect(changes.create.map((s) => s.name)).toEqual(['fhirgate_sort_date_asc', 'fhirgate_sort_date_desc']);
    expect(changes.differing).toEqual(['fhirgate_type_deleted_id']);
    expect(changes.stale).toEqual(['fhirgate_sort_old_asc']);
    expect(indexChanges(planned, planned.map((s) => ({ name: s.name, key: s.key })))).toEqual({ create: [], differing: [], stale: [] });
  });
});

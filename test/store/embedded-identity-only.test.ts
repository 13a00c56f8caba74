import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../src/store/port.js';
import { record } from './contract-support.js';
import { storeHolding } from './embedded-support.js';

/**
 * A join's candidates and a chain's sub-query need only which resources match (issue 13:
 * `Patient?family=…&_has:…` read and parsed each of the family's patients): the embedded store
 * then reads the record columns, not the JSON of resource and index (FindOptions.identityOnly).
 */
const records: StoredRecord[] = Array.from({ length: 30 }, (_, i) => record('Patient', `p${String(i).padStart(2, '0')}`, { resource: { name: [{ family: 'Moore' }] }, index: { family: [{ f: i < 25 ? 'moore' : 'lind' }] } }));
const held = storeHolding(records);

describe('embedded store: identityOnly', () => {
  it.each([
    ['started from the search-value index', { resourceType: 'Patient', deleted: false, 'index.family.f': 'moore' }],
    ['walking the records in sort order', { resourceType: 'Patient', deleted: false }],
  ])('returns the identities only, %s', async (_, filter) => {
    const found = await held.store().find('current', filter, { sort: { id: 1 }, limit: 21, identityOnly: true });
    expect(found).toHaveLength(21);
    expect(found[0]).toEqual({ resourceType: 'Patient', id: 'p00', versionId: 1, lastUpdated: records[0].lastUpdated, deleted: false });
    expect(found.every((r) => r.resource === undefined && r.index === undefined)).toBe(true);
  });
});

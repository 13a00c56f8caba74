import { describe, expect, it } from 'vitest';
import { commitPlan, currentStepApplied, rewriteStep, writeStep } from '../../../src/store/mongo/commit-plan.js';
import { currentKey, findCommand, historyKey, normalizeRecord, readPreferenceFor } from '../../../src/store/mongo/documents.js';
import type { StoredRecord } from '../../../src/store/port.js';
import { record } from '../contract-support.js';

describe('mongodb documents: keys and records', () => {
  it('derives _id from type, id and version', () => {
    expect(currentKey('Patient', 'a-1.b')).toBe('Patient/a-1.b');
    expect(historyKey('Patient', 'a-1.b', 12)).toBe('Patient/a-1.b/12');
  });

  it('stores records as plain JSON, the way the embedded store keeps them', () => {
    const input = { ...record('Patient', 'a'), index: { gone: undefined, at: new Date('2024-01-02T03:04:05.000Z') } } as unknown as StoredRecord;
    const stored = normalizeRecord(input);
    expect(stored.index).toEqual({ at: '2024-01-02T03:04:05.000Z' });
    expect(stored).not.toBe(input);
    expect(stored.resource).not.toBe(input.resource);
  });

  it('leaves resource and index opaque: an encrypted resource and blind-index tokens pass through unchanged', () => {
    const opaque = {
      ...record('Patient', 'a'),
      resource: { resourceType: 'Patient', id: 'a', extension: [{ url: 'https://fhirgate.dev/jwe', valueString: 'eyJhbGciOi.x.y.z' }] },
      index: { family: [{ f: 'hmac:3f9a' }], family__sort_asc: 'hmac:3f9a' },
    } as unknown as StoredRecord;
    const step = writeStep({ record: opaque, expectedVersion: 0 });
    expect(step.history.replacement).toEqual(opaque);
  });
});

describe('mongodb documents: find and count', () => {
  it('sends the port sort and limit, hides _id, never skips', () => {
    expect(findCommand()).toEqual({ projection: { _id: 0 }, limit: 0 });
    expect(findCommand({ sort: { 'index.birthdate__sort_desc': -1, id: 1 }, limit: 21 })).toEqual({
      projection: { _id: 0 },
      sort: { 'index.birthdate__sort_desc': -1, id: 1 },
      limit: 21,
    });
    expect(findCommand({ sort: {}, limit: -5 })).toEqual({ projection: { _id: 0 }, limit: 5 });
    expect(Object.keys(findCommand({ limit: 3 }))).not.toContain('skip');
    // A join's candidates: the record's identity only, neither resource nor index.
    expect(findCommand({ sort: { id: 1 }, limit: 1001, identityOnly: true })).toEqual({
      projection: { _id: 0, resourceType: 1, id: 1, versionId: 1, lastUpdated: 1, deleted: 1 },
      sort: { id: 1 },
      limit: 1001,
    });
  });

  it.each([
    ['a search on current', 'current', { $and: [{ resourceType: 'Patient', deleted: false }, { 'index.family.f': { $regex: '^smi' } }] }, 'secondaryPreferred', 'secondaryPreferred'],
    ['a read by id', 'current', { resourceType: 'Patient', id: 'a' }, 'secondaryPreferred', 'primary'],
    ['a read by id alone', 'current', { id: 'a' }, 'nearest', 'primary'],
    ['history (vread)', 'history', { resourceType: 'Patient', id: 'a', versionId: 2 }, 'secondary', 'primary'],
    ['type history', 'history', { resourceType: 'Patient' }, 'secondary', 'primary'],
    ['primary configured', 'current', { resourceType: 'Patient' }, 'primary', 'primary'],
  ] as const)('reads %s from the right member', (_label, collection, filter, configured, expected) => {
    expect(readPreferenceFor(collection, filter, configured)).toBe(expected);
  });
});

describe('mongodb documents: commit steps', () => {
  const v1 = record('Patient', 'a', { resource: { active: true }, index: { family: [{ f: 'smith', e: 'Smith' }] } });
  const v2 = record('Patient', 'a', { versionId: 2, resource: { active: false } });

  it('creates with an upsert that only inserts, so an existing record is a conflict, not an error', () => {
    expect(writeStep({ record: v1, expectedVersion: 0 })).toEqual({
      resourceType: 'Patient',
      id: 'a',
      expectedVersion: 0,
      current: { kind: 'create', filter: { _id: 'Patient/a' }, update: { $setOnInsert: v1 }, options: { upsert: true } },
      history: { filter: { _id: 'Patient/a/1' }, replacement: v1, options: { upsert: true } },
      probe: { filter: { _id: 'Patient/a' }, projection: { _id: 0, versionId: 1 } },
    });
  });

  it('updates by replacing the current record only at the expected version', () => {
    expect(writeStep({ record: v2, expectedVersion: 1 })).toEqual({
      resourceType: 'Patient',
      id: 'a',
      expectedVersion: 1,
      current: { kind: 'replace', filter: { _id: 'Patient/a', versionId: 1 }, replacement: v2 },
      history: { filter: { _id: 'Patient/a/2' }, replacement: v2, options: { upsert: true } },
      probe: { filter: { _id: 'Patient/a' }, projection: { _id: 0, versionId: 1 } },
    });
  });

  it('writes a tombstone like any version: no resource, deleted true', () => {
    const tombstone = record('Patient', 'a', { versionId: 3, deleted: true });
    const step = writeStep({ record: tombstone, expectedVersion: 2 });
    expect(step.current).toEqual({ kind: 'replace', filter: { _id: 'Patient/a', versionId: 2 }, replacement: tombstone });
    expect(step.history.replacement).not.toHaveProperty('resource');
  });

  it('keeps the order of a commit, so a later write to the same resource follows the earlier one', () => {
    const plan = commitPlan([
      { record: v1, expectedVersion: 0 },
      { record: v2, expectedVersion: 1 },
      { record: record('Observation', 'o'), expectedVersion: 0 },
    ]);
    expect(plan.map((s) => [s.current.kind, s.current.filter, s.history.filter._id])).toEqual([
      ['create', { _id: 'Patient/a' }, 'Patient/a/1'],
      ['replace', { _id: 'Patient/a', versionId: 1 }, 'Patient/a/2'],
      ['create', { _id: 'Observation/o' }, 'Observation/o/1'],
    ]);
  });

  it('tells an applied step from a failed precondition', () => {
    const create = writeStep({ record: v1, expectedVersion: 0 }).current;
    const replace = writeStep({ record: v2, expectedVersion: 1 }).current;
    expect(currentStepApplied(create, { matchedCount: 0, upsertedCount: 1 })).toBe(true);
    expect(currentStepApplied(create, { matchedCount: 1, upsertedCount: 0 })).toBe(false);
    expect(currentStepApplied(replace, { matchedCount: 1, upsertedCount: 0 })).toBe(true);
    expect(currentStepApplied(replace, { matchedCount: 0, upsertedCount: 0 })).toBe(false);
  });
});

describe('mongodb documents: rewriting versions in place (key rotation)', () => {
  it('sets resource and index of that version only, leaving the identity fields as stored', () => {
    const reencrypted = record('Patient', 'a', { versionId: 2, resource: { active: true }, index: { family: [{ f: 'hmac:new' }] } });
    expect(rewriteStep(reencrypted)).toEqual({
      history: { filter: { _id: 'Patient/a/2' }, update: { $set: { resource: reencrypted.resource, index: reencrypted.index } } },
      current: { filter: { _id: 'Patient/a', versionId: 2 }, update: { $set: { resource: reencrypted.resource, index: reencrypted.index } } },
    });
  });

  it('unsets what the rewritten record no longer has (never an empty $set)', () => {
    const tombstone = record('Patient', 'a', { versionId: 3, deleted: true });
    expect(rewriteStep(tombstone).history.update).toEqual({ $unset: { resource: '', index: '' } });
    const noIndex = record('Patient', 'b');
    expect(rewriteStep(noIndex).current.update).toEqual({ $set: { resource: noIndex.resource }, $unset: { index: '' } });
  });
});

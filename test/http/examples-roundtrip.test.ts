import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import { SERVED_TYPES } from '../../src/fhir/registry.js';
import { officialExamples } from '../support/corpus.js';
import { CORPUS_DIR, startServer, type TestServer } from '../support/server.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';

let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  // The examples are records, not workflow: their dispenses name prescriptions this server does not hold (issue 17's rules would refuse them).
  server = await startServer({ FHIR_WORKFLOW_RULES: 'false' });
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

/** The resource without what the server owns (id on create, meta.versionId, meta.lastUpdated). */
function content(resource: Resource, keepId: boolean): unknown {
  const { id, meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...otherMeta } = meta ?? {};
  return { ...rest, ...(keepId ? { id } : {}), ...(Object.keys(otherMeta).length ? { meta: otherMeta } : {}) };
}

// Schedule and Slot (issue 17) have no examples in the shared corpus; test/workflow/scheduling.test.ts stores and reads them.
const WITH_EXAMPLES = Object.keys(SERVED_TYPES).filter((type) => existsSync(path.join(CORPUS_DIR, 'fhir-r4/examples', type)));

describe.each(WITH_EXAMPLES)('official R4 examples of %s', (type) => {
  const examples = officialExamples(type);

  it('exist in the corpus', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(examples.map((e) => [e.file, e.resource] as const))('%s: create then read returns the same content plus meta', async (_file, example) => {
    const created = await fhir.post(type, example);
    expect(created.status, created.text).toBe(201);
    const read = await fhir.get(`${type}/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(content(read.body, false)).toEqual(content(example, false));
    expect(read.body.meta.versionId).toBe('1');
    expect(read.body.meta.lastUpdated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it.each(examples.map((e) => [e.file, e.resource] as const))('%s: update with its own id keeps the id', async (_file, example) => {
    if (!SERVED_TYPES[type].without?.includes('update')) {
      const res = await fhir.put(`${type}/${example.id}`, example);
      expect([200, 201], res.text).toContain(res.status);
      const read = await fhir.get(`${type}/${example.id}`);
      expect(content(read.body, true)).toEqual(content(example, true));
    }
  });
});

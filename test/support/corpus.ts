import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { CORPUS_DIR } from './server.js';

/** The official R4 examples of one resource type, read from the shared corpus (never copied into the repo). */
export function officialExamples(type: string): Array<{ file: string; resource: Resource }> {
  const dir = path.join(CORPUS_DIR, 'fhir-r4/examples', type);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, resource: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Resource }));
}

import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The shared, read-only test corpus (official FHIR R4 examples, Synthea bundles, HL7 v2 samples),
 * never copied into the repository: `../shared/corpus` beside the checkout, or FHIRGATE_CORPUS_DIR.
 */
export const CORPUS_DIR = process.env.FHIRGATE_CORPUS_DIR ? path.resolve(process.env.FHIRGATE_CORPUS_DIR) : path.resolve(import.meta.dirname, '../../../shared/corpus');

/** The official R4 examples, a folder per resource type. */
export const EXAMPLES_DIR = path.join(CORPUS_DIR, 'fhir-r4/examples');

/**
 * Vitest globalSetup: stops the run with one clear message when the corpus is missing (a checkout
 * elsewhere), instead of ~200 tests failing on ENOENT. Not a skip: CI must not pass without it.
 */
export default function setup(): void {
  if (!existsSync(EXAMPLES_DIR)) {
    throw new Error(`The test corpus is not at ${CORPUS_DIR}: check the repository out next to shared/ (README "Tests"), or set FHIRGATE_CORPUS_DIR to the corpus folder.`);
  }
}

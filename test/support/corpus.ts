import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { CORPUS_DIR, EXAMPLES_DIR } from './corpus-dir.js';

/** The official R4 examples of one resource type, read from the shared corpus (never copied into the repo). */
export function officialExamples(type: string): Array<{ file: string; resource: Resource }> {
  const dir = path.join(EXAMPLES_DIR, type);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, resource: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Resource }));
}

const SYNTHEA_DIR = path.join(CORPUS_DIR, 'fhir-r4/synthea');

/** The Synthea patient bundles of the shared corpus (file names). */
export function syntheaFiles(): string[] {
  return readdirSync(SYNTHEA_DIR).filter((f) => f.endsWith('.json'));
}

/** One Synthea patient bundle (a transaction), with its resources counted by type. */
export function syntheaBundle(file: string): { bundle: Bundle; perType: Map<string, number> } {
  const bundle = JSON.parse(readFileSync(path.join(SYNTHEA_DIR, file), 'utf8')) as Bundle;
  const perType = new Map<string, number>();
  for (const e of bundle.entry ?? []) perType.set(e.resource!.resourceType, (perType.get(e.resource!.resourceType) ?? 0) + 1);
  return { bundle, perType };
}

/**
 * The provider directory a Synthea patient bundle presupposes (Synthea ships it as separate
 * hospital and practitioner bundles): one resource per conditional reference `Type?identifier=sys|value`.
 */
export function providerDirectory(bundle: Bundle): Resource[] {
  const refs = new Set<string>();
  JSON.stringify(bundle, (key, value) => {
    if (key === 'reference' && typeof value === 'string' && /^[A-Z][A-Za-z]+\?identifier=/.test(value)) refs.add(value);
    return value;
  });
  return [...refs].map((ref) => {
    const [type, query] = ref.split('?identifier=');
    const [system, value] = decodeURIComponent(query).split('|');
    const identifier = [{ system, value }];
    return type === 'Practitioner' ? { resourceType: 'Practitioner', identifier, name: [{ family: `Npi${value}` }] } : ({ resourceType: type, identifier, name: `${type} ${value}` } as Resource);
  });
}

/** The id the server gave the bundle's Patient, from the transaction-response. */
export function patientIdOf(bundle: Bundle, response: Bundle): string {
  return response.entry![bundle.entry!.findIndex((e) => e.resource!.resourceType === 'Patient')].response!.location!.split('/')[1];
}

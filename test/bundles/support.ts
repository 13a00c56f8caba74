import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FhirClient } from '../support/fhir-client.js';
import { CORPUS_DIR } from '../support/server.js';

/** A transaction (or batch) Bundle of the given entries. */
export function bundleOf(type: 'transaction' | 'batch', entry: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type, entry };
}

/** A POST entry, with an optional fullUrl. */
export function post(resource: Resource, fullUrl?: string, extra: Partial<NonNullable<BundleEntry['request']>> = {}): BundleEntry {
  return { ...(fullUrl ? { fullUrl } : {}), resource, request: { method: 'POST', url: resource.resourceType, ...extra } };
}

/** A small valid Patient with one identifier. */
export function patient(system: string, value: string, family = 'Bundle'): Resource {
  return { resourceType: 'Patient', identifier: [{ system, value }], name: [{ family }], gender: 'female', birthDate: '1980-01-01' } as Resource;
}

/** A small valid MedicationRequest for a subject reference. */
export function medicationRequest(subject: string, text = 'aspirin'): Resource {
  return { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text }, subject: { reference: subject } } as Resource;
}

/** How many current resources of a type match a query (the search's total). */
export async function countOf(fhir: FhirClient, type: string, query = ''): Promise<number> {
  const res = await fhir.get(`${type}?_summary=count${query ? `&${query}` : ''}`);
  if (res.status !== 200) throw new Error(`count ${type}: ${res.status} ${res.text}`);
  return res.body.total as number;
}

/** A Bundle of the shared corpus (never copied into the repository). */
export function corpusBundle(folder: 'hl7-r4-examples' | 'microsoft-fhir-server', file: string): Bundle {
  return JSON.parse(readFileSync(path.join(CORPUS_DIR, 'fhir-r4/bundles', folder, file), 'utf8')) as Bundle;
}

/** The entry a transaction's OperationOutcome names (`Bundle.entry[n]`). */
export function failedEntry(outcome: any): number | undefined {
  const expression: string | undefined = outcome?.issue?.[0]?.expression?.[0];
  const match = expression ? /^Bundle\.entry\[(\d+)\]$/.exec(expression) : null;
  return match ? Number(match[1]) : undefined;
}

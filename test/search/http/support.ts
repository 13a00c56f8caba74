import type { AuditEvent, Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { expect } from 'vitest';
import { linkOf } from '../../../src/audit/chain.js';
import { officialExamples } from '../../support/corpus.js';
import type { FhirClient } from '../../support/fhir-client.js';

/** The official R4 examples of the types search is tested on, stored under their own ids. */
export const CORPUS_TYPES = ['Patient', 'Practitioner', 'MedicationRequest', 'MedicationDispense', 'Appointment', 'Consent', 'AuditEvent'] as const;

/**
 * Stores every official example of the served types under its own id (create-on-update).
 * AuditEvents cannot be updated, so they are created; the result maps their example id to the server's.
 */
export async function seedCorpus(fhir: FhirClient): Promise<Map<string, string>> {
  const auditIds = new Map<string, string>();
  for (const type of CORPUS_TYPES) {
    await Promise.all(
      officialExamples(type).map(async ({ file, resource }) => {
        const res = type === 'AuditEvent' ? await fhir.post(type, resource) : await fhir.put(`${type}/${resource.id}`, resource);
        if (res.status !== 201 && res.status !== 200) throw new Error(`seeding ${file} failed: ${res.status} ${res.text.slice(0, 300)}`);
        if (type === 'AuditEvent') auditIds.set(resource.id!, res.body.id);
      }),
    );
  }
  return auditIds;
}

/** Stores a resource under a chosen id and returns it as stored. */
export async function put<T extends Resource>(fhir: FhirClient, resource: T & { id: string }): Promise<T> {
  const res = await fhir.put<T>(`${resource.resourceType}/${resource.id}`, resource);
  if (res.status !== 201 && res.status !== 200) throw new Error(`put ${resource.resourceType}/${resource.id} failed: ${res.status} ${res.text.slice(0, 300)}`);
  return res.body;
}

/** GETs a search and checks it is a searchset. */
export async function search(fhir: FhirClient, query: string, headers?: Record<string, string>): Promise<Bundle> {
  const res = await fhir.get<Bundle>(query, headers);
  expect(res.status, `${query}: ${res.text.slice(0, 500)}`).toBe(200);
  expect(res.body.type).toBe('searchset');
  return res.body;
}

/** Ids of the matches (search.mode = match), sorted. */
export function matchIds(bundle: Bundle): string[] {
  return (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!).sort();
}

/**
 * Whether an entry is one of the server's own AuditEvents (hash-chained, AUDIT_SINK=store): every
 * request of a test records one, and those about a patient are in its compartment (AuditEvent.patient).
 */
export function isTrail(entry: BundleEntry): boolean {
  return entry.resource?.resourceType === 'AuditEvent' && linkOf(entry.resource as AuditEvent) !== undefined;
}

/** The entries of a bundle without the server's own AuditEvents: what the test seeded. */
export function seeded(bundle: Bundle): Bundle {
  return { ...bundle, entry: (bundle.entry ?? []).filter((e) => !isTrail(e)) };
}

/** `Type/id` of the included entries, sorted. */
export function includeRefs(bundle: Bundle): string[] {
  return (bundle.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();
}

/** Ids of the matches in bundle order. */
export function orderedIds(bundle: Bundle): string[] {
  return (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);
}

/** The diagnostics of the outcome entry (search.mode = outcome), if any. */
export function outcomeDiagnostics(bundle: Bundle): string[] {
  const entry = (bundle.entry ?? []).find((e) => e.search?.mode === 'outcome');
  return ((entry?.resource as { issue?: Array<{ diagnostics?: string }> } | undefined)?.issue ?? []).map((i) => i.diagnostics ?? '');
}

/** The link of a relation, as a path relative to the FHIR base. */
export function link(bundle: Bundle, relation: string, fhirUrl: string): string | undefined {
  const url = bundle.link?.find((l) => l.relation === relation)?.url;
  return url === undefined ? undefined : url.slice(fhirUrl.length + 1);
}

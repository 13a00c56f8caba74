import type { CodeableConcept, Coding, Resource } from '@medplum/fhirtypes';
import type { Interaction } from '../fhir/request.js';
import type { ConsentAction, ConsentData } from './types.js';

/** consentaction codes an interaction performs: reading is `access`, writing is `correct`. */
export function actionsOf(interaction: Interaction): ConsentAction[] {
  switch (interaction) {
    case 'create':
    case 'update':
    case 'patch':
    case 'delete':
      return ['correct'];
    default:
      return ['access'];
  }
}

/** What provisions can match on in one resource: identity, class, codes, labels, clinical date. */
export function dataOf(resource: Resource): ConsentData {
  const r = resource as Resource & Record<string, unknown>;
  const codes: Coding[] = [];
  for (const key of ['code', 'type', 'category', 'medicationCodeableConcept', 'vaccineCode']) {
    for (const cc of asArray(r[key]) as CodeableConcept[]) codes.push(...(cc?.coding ?? []));
  }
  return {
    reference: `${resource.resourceType}/${resource.id ?? ''}`,
    resourceType: resource.resourceType,
    profiles: resource.meta?.profile ?? [],
    codes,
    securityLabels: resource.meta?.security ?? [],
    date: clinicalDate(r),
  };
}

function clinicalDate(r: Record<string, unknown>): string | undefined {
  for (const key of ['effectiveDateTime', 'authoredOn', 'recorded', 'issued', 'occurrenceDateTime', 'whenHandedOver', 'start', 'date']) {
    if (typeof r[key] === 'string') return r[key] as string;
  }
  const period = (r.effectivePeriod ?? r.period) as { start?: string } | undefined;
  return period?.start;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

import type { Coding, ConsentProvision } from '@medplum/fhirtypes';
import { periodCovers, startOf } from './applicable.js';
import { ROLE_SYSTEM, type ConsentQuestion } from './types.js';

/** A provision's conditions against a question: met, not met, or not knowable yet (data a search has not read). */
export type Match = 'yes' | 'no' | 'unknown';

const RESOURCE_TYPES = 'http://hl7.org/fhir/resource-types';

/**
 * Whether every condition of one provision holds (R4 consent.html#provision: the listed elements
 * are ANDed, the repetitions of one element ORed). Conditions on the requester and the moment
 * are always known; conditions on the data are `unknown` when the question carries no data.
 */
export function matchProvision(provision: ConsentProvision, q: ConsentQuestion): Match {
  const results: Match[] = [
    known(provision.period === undefined || periodCovers(provision.period, q.now.getTime())),
    known(isEmpty(provision.actor) || provision.actor!.some((a) => actorMatches(a, q))),
    known(isEmpty(provision.action) || provision.action!.some((cc) => cc.coding?.some((c) => q.actions.includes(c.code as never)))),
    known(isEmpty(provision.purpose) || provision.purpose!.some((p) => p.code !== undefined && q.purposeOfUse.includes(p.code))),
    classMatch(provision.class, q),
    dataMatch(provision.code, q.data.codes, (cc, codes) => cc.coding?.some((c) => codes.some((d) => sameCoding(c, d))) ?? false),
    dataMatch(provision.securityLabel, q.data.securityLabels, (label, labels) => labels.some((l) => sameCoding(label, l))),
    dataMatch(provision.data, q.data.reference, (d, reference) => d.reference?.reference === reference),
    provision.dataPeriod === undefined ? 'yes' : q.data.date === undefined ? 'unknown' : known(periodCovers(provision.dataPeriod, startOf(q.data.date))),
  ];
  if (results.includes('no')) return 'no';
  return results.includes('unknown') ? 'unknown' : 'yes';
}

function actorMatches(actor: NonNullable<ConsentProvision['actor']>[number], q: ConsentQuestion): boolean {
  if (actor.reference?.reference !== undefined && q.actor.includes(actor.reference.reference)) return true;
  // A FhirGate role coded on the actor names everyone holding that role (reference is then informative).
  return actor.role?.coding?.some((c) => c.system === ROLE_SYSTEM && c.code !== undefined && q.roles.includes(c.code)) ?? false;
}

function classMatch(classes: readonly Coding[] | undefined, q: ConsentQuestion): Match {
  if (isEmpty(classes)) return 'yes';
  if (q.data.resourceType === undefined) return 'unknown';
  const type = q.data.resourceType;
  const byType = classes!.some((c) => c.code === type && (c.system === undefined || c.system === RESOURCE_TYPES));
  if (byType) return 'yes';
  // A class naming a profile (a canonical URL) depends on the resource's meta.profile, unknown before it is read.
  if (q.data.profiles === undefined) return classes!.some((c) => c.code?.includes('/')) ? 'unknown' : 'no';
  const profiles = q.data.profiles;
  return known(classes!.some((c) => c.code !== undefined && profiles.includes(c.code)));
}

function dataMatch<C, D>(conditions: readonly C[] | undefined, data: D | undefined, test: (condition: C, data: D) => boolean): Match {
  if (isEmpty(conditions)) return 'yes';
  if (data === undefined) return 'unknown';
  return known(conditions!.some((c) => test(c, data)));
}

/** Codings are equal when codes are and systems are, a missing system matching any. */
function sameCoding(a: Coding, b: Coding): boolean {
  return a.code !== undefined && a.code === b.code && (a.system === undefined || b.system === undefined || a.system === b.system);
}

function known(value: boolean): Match {
  return value ? 'yes' : 'no';
}

function isEmpty(list: readonly unknown[] | undefined): boolean {
  return list === undefined || list.length === 0;
}

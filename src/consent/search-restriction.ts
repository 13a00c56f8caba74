import type { Resource } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import { compartmentFilter, outsideCompartmentsFilter, type Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import { revisionOf, type Filter, type StorePort } from '../store/port.js';
import type { ConsentDirectory, ConsentsByPatient } from './directory.js';
import { classifyConsents, decideOnResource } from './evaluate.js';
import type { ConsentDefault, ConsentQuestion } from './types.js';

export interface SearchRestrictionDeps {
  store: StorePort;
  codec: StorageCodec;
  searchIndex: SearchIndex;
  /** Where resources name their patients (`widenedCompartment`): the same parameters reads decide on. */
  patientCompartment: Compartment;
  /** The patients whose Consents decide on a resource, the searcher's own record left out. */
  patientsDeciding: (resource: Resource, self: string | undefined) => string[];
  directory: ConsentDirectory;
  defaultPolicy: ConsentDefault;
}

/** Who searches: the question without data, and the patient they are (who always sees their own data). */
export interface Searcher {
  question: ConsentQuestion;
  self?: string;
}

/** What the patients' Consents withhold from one searcher on one type. */
export interface Restriction {
  /** The search filter; undefined when nothing is withheld. */
  filter?: Filter;
  /** The Consents that withhold something (at most MAX_NOTED), for the audit trail and break-glass. */
  denying: string[];
}

const MAX_NOTED = 20;
const MAX_KEPT = 512;

interface Kept {
  restriction: Restriction;
  consentRevision: number;
  /** Set when the restriction lists resources one by one: any write of the type makes it stale. */
  typeRevision?: number;
  until: number;
}

/**
 * The consent gate of a search, as a filter the store applies, so `_total`, paging links and
 * counts never see what is withheld (issue 8). Per patient with Consents, the question is
 * classified on the searched type alone: decided (the whole of that patient's data of the type is
 * in or out, one reference filter) or depending on each resource's content (a Consent on codes,
 * security labels, dates or instances), in which case that patient's resources of the type are
 * read and decided one by one, and the filter lists their ids. Restrictions are kept until a
 * Consent is written, a period boundary passes, or (for id lists) a resource of the type is written.
 */
export function createSearchRestriction(deps: SearchRestrictionDeps) {
  const kept = new Map<string, Kept>();

  async function compute(searcher: Searcher, type: string, consents: ConsentsByPatient): Promise<{ restriction: Restriction; perResource: boolean }> {
    const q = { ...searcher.question, data: { resourceType: type } };
    const optIn = deps.defaultPolicy === 'opt-in';
    const decided: string[] = [];
    const depends: string[] = [];
    const denying = new Set<string>();
    for (const [patient, list] of consents) {
      if (patient === searcher.self) continue;
      const answer = classifyConsents(list, q, deps.defaultPolicy);
      if (answer.kind === 'depends') depends.push(patient);
      else if (answer.decision.decision === (optIn ? 'permit' : 'deny')) decided.push(patient);
      if (answer.kind === 'decided' && answer.decision.decision === 'deny' && answer.decision.consent) denying.add(answer.decision.consent);
    }
    // Each depending patient's resources of the type, decided on their content: ids withheld (opt-out) or granted (opt-in).
    const listed: string[] = [];
    if (depends.length > 0) {
      const filter = { $and: [{ resourceType: type, deleted: false }, compartmentFilter(deps.patientCompartment, deps.searchIndex, depends, type)!] };
      for (const record of await deps.store.find('current', filter)) {
        const resource = await deps.codec.decode(record.resource!);
        const decisions = decideOnResource(resource, deps.patientsDeciding(resource, searcher.self), consents, searcher.question, deps.defaultPolicy);
        const denied = decisions.filter((d) => d.decision === 'deny');
        denied.forEach((d) => d.consent && denying.add(d.consent));
        if (optIn ? denied.length === 0 : denied.length > 0) listed.push(record.id);
      }
    }
    const filter = optIn ? inclusionOf(type, searcher.self ? [searcher.self, ...decided] : decided, listed) : exclusionOf(type, decided, listed);
    return { restriction: { ...(filter ? { filter } : {}), denying: [...denying].slice(0, MAX_NOTED) }, perResource: depends.length > 0 };
  }

  function exclusionOf(type: string, patients: readonly string[], ids: readonly string[]): Filter | undefined {
    const parts: Filter[] = [];
    if (patients.length > 0) parts.push(outsideCompartmentsFilter(deps.patientCompartment, deps.searchIndex, patients, type)!);
    if (ids.length > 0) parts.push({ id: { $nin: [...ids] } });
    return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { $and: parts };
  }

  function inclusionOf(type: string, patients: readonly string[], ids: readonly string[]): Filter {
    const whole = compartmentFilter(deps.patientCompartment, deps.searchIndex, patients, type)!;
    return ids.length === 0 ? whole : { $or: [whole, { id: { $in: [...ids] } }] };
  }

  return {
    /** The restriction of `type` for this searcher; undefined filter when the type is outside the patient compartment. */
    async restrict(searcher: Searcher, type: string, now: Date): Promise<Restriction> {
      if (!deps.patientCompartment.members.has(type)) return { denying: [] };
      const key = `${type}\u0000${keyOf(searcher)}`;
      const consentRevision = await deps.directory.revision();
      const entry = kept.get(key);
      if (entry && entry.consentRevision === consentRevision && now.getTime() < entry.until) {
        if (entry.typeRevision === undefined || entry.typeRevision === (await revisionOf(deps.store, type))) return entry.restriction;
      }
      // Revisions are read before the data they describe, so a write in between only makes the entry stale early.
      const typeRevision = await revisionOf(deps.store, type);
      const { consents, until } = await deps.directory.everyone(now);
      const { restriction, perResource } = await compute(searcher, type, consents);
      kept.delete(key);
      if (kept.size >= MAX_KEPT) kept.delete(kept.keys().next().value!);
      kept.set(key, { restriction, consentRevision, until, ...(perResource ? { typeRevision } : {}) });
      return restriction;
    },
  };
}

/** Everything of the question a restriction depends on (its data is always just the type). */
function keyOf({ question, self }: Searcher): string {
  return JSON.stringify([question.actor, question.roles, question.actions, question.purposeOfUse, self ?? null]);
}

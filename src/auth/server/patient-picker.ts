import { randomUUID } from 'node:crypto';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/errors.js';
import type { FhirRequest, FhirResult, RequestContext } from '../../fhir/request.js';
import type { Account } from './accounts.js';

/** What a user types into the sign-in's patient picker (issue 15 item 5). */
export interface PatientQuery {
  name?: string;
  birthdate?: string;
  identifier?: string;
}

/** A patient offered in the picker, as the user may see it. */
export interface PickablePatient {
  id: string;
  label: string;
}

export type PickerAnswer = { patients: PickablePatient[]; more: boolean } | { refused: string };

/** Who searches, from where, for which app: the user's own authority, as a token of theirs would carry it. */
export interface PickerCaller {
  account: Account;
  clientId: string;
  source?: string;
}

export interface PatientPicker {
  /** Searches patients as the signed-in user; an empty or malformed query is refused without searching. */
  search(caller: PickerCaller, query: PatientQuery): Promise<PickerAnswer>;
  /** Whether the user may open this patient's record (a read through the same pipeline); what the picker binds to the grant. */
  mayOpen(caller: PickerCaller, patientId: string): Promise<boolean>;
}

/** At most this many patients are shown: the picker is a search, not a list; more asks the user to narrow it. */
export const PICKER_PAGE = 20;
const MAX_INPUT = 100;
// search.html#date: a date (or year, year-month) the birthdate parameter takes as is.
const BIRTHDATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;

/**
 * The patient picker of a standalone `launch/patient` sign-in by a clinician (issue 15 item 5). It
 * searches by name, birth date or identifier through the one pipeline, as the signed-in user with
 * `user/Patient.rs`: the role table decides whether the user may search patients at all (an admin
 * may not), the consent gate withholds the patients who deny the user, and each search (and the
 * read of the chosen patient) is audited like any FHIR search, at the pipeline boundary.
 */
export function createPatientPicker(options: { execute: (request: FhirRequest) => Promise<FhirResult>; baseUrl: string }): PatientPicker {
  const contextOf = (caller: PickerCaller): RequestContext => ({
    requestId: randomUUID(),
    baseUrl: options.baseUrl,
    actor: caller.account.fhirUser,
    role: caller.account.roles[0],
    roles: caller.account.roles,
    clientId: caller.clientId,
    subject: caller.account.id,
    scopes: ['user/Patient.rs'],
    purposeOfUse: [],
    source: caller.source,
    authenticated: true,
  });

  return {
    async search(caller, query) {
      const parsed = paramsOf(query);
      if ('refused' in parsed) return parsed;
      const { params } = parsed;
      try {
        const result = await options.execute({ interaction: 'search-type', resourceType: 'Patient', params: { ...params, _count: [String(PICKER_PAGE)] }, context: contextOf(caller) });
        const bundle = result.resource as Bundle<Patient>;
        const patients = (bundle.entry ?? []).flatMap((e) => (e.resource?.resourceType === 'Patient' && e.resource.id ? [{ id: e.resource.id, label: patientLabel(e.resource, e.resource.id) }] : []));
        return { patients, more: (bundle.link ?? []).some((l) => l.relation === 'next') };
      } catch (err) {
        if (err instanceof FhirError) return { refused: err.code === 'forbidden' ? 'Your role may not search patients.' : 'The search could not be run; change it and try again.' };
        throw err;
      }
    },
    async mayOpen(caller, patientId) {
      if (!/^[A-Za-z0-9.-]{1,64}$/.test(patientId)) return false;
      try {
        const result = await options.execute({ interaction: 'read', resourceType: 'Patient', id: patientId, params: {}, context: contextOf(caller) });
        return result.resource?.resourceType === 'Patient';
      } catch (err) {
        if (err instanceof FhirError) return false;
        throw err;
      }
    },
  };
}

/** The search parameters of a query; at least one criterion, each bounded. */
function paramsOf(query: PatientQuery): { params: Record<string, string[]> } | { refused: string } {
  const name = query.name?.trim() ?? '';
  const birthdate = query.birthdate?.trim() ?? '';
  const identifier = query.identifier?.trim() ?? '';
  if (!name && !birthdate && !identifier) return { refused: 'Search by name, birth date or identifier.' };
  if (name.length > MAX_INPUT || identifier.length > MAX_INPUT) return { refused: `Names and identifiers have at most ${MAX_INPUT} characters.` };
  if (name && name.length < 2) return { refused: 'Type at least two letters of the name.' };
  if (birthdate && !BIRTHDATE.test(birthdate)) return { refused: 'Give the birth date as YYYY-MM-DD (or YYYY-MM, YYYY).' };
  return {
    params: {
      // A comma would make the value a list of alternatives (search.html#escaping).
      ...(name ? { name: [name.replace(/[\\,$|]/g, (c) => `\\${c}`)] } : {}),
      ...(birthdate ? { birthdate: [birthdate] } : {}),
      ...(identifier ? { identifier: [identifier] } : {}),
    },
  };
}

/** "Ana Silva (p1, born 1980-02-03)", so that namesakes can be told apart; the id when the patient has no name. */
export function patientLabel(patient: Patient, id: string): string {
  const name = patient.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  const born = patient.birthDate ? `, born ${patient.birthDate}` : '';
  return text ? `${text} (${id}${born})` : `${id}${born}`;
}

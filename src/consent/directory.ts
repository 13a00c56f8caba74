import type { Consent, ConsentProvision } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import type { SearchIndex } from '../search/types.js';
import { revisionOf, type Filter, type StorePort } from '../store/port.js';
import { endOf, isConsentInForce, startOf } from './applicable.js';

export interface ConsentDirectoryDeps {
  store: StorePort;
  codec: StorageCodec;
  searchIndex: SearchIndex;
}

/** Patients' Consents in force, by patient id. */
export type ConsentsByPatient = ReadonlyMap<string, readonly Consent[]>;

/**
 * The patients' Consents, decoded once and kept until a Consent is written. Every call first asks
 * the store for the revision of Consent (`StorePort.revision`: a counter in the embedded store, a
 * count on MongoDB, so a write by another instance counts too): a changed revision drops all that
 * was kept, which is how a revocation takes effect on the very next request.
 */
export interface ConsentDirectory {
  /** The revision the answers below were read at (changes with every Consent write). */
  revision(): Promise<number>;
  /** The Consents in force at `now` of these patients. */
  forPatients(patients: readonly string[], now: Date): Promise<ConsentsByPatient>;
  /**
   * The Consents in force at `now` of every patient that has any, and until when that holds by the
   * clock (the next period start or end among all active Consents, `nextChange`).
   */
  everyone(now: Date): Promise<{ consents: ConsentsByPatient; until: number }>;
}

interface Kept {
  revision: number;
  /** Active patient-privacy Consents of every patient (periods are decided at use); loaded on demand. */
  all?: Promise<{ byPatient: Map<string, Consent[]>; boundaries: number[] }>;
  byPatient: Map<string, Promise<Consent[]>>;
}

export function createConsentDirectory(deps: ConsentDirectoryDeps): ConsentDirectory {
  let kept: Kept = { revision: -1, byPatient: new Map() };

  async function current(): Promise<Kept> {
    const revision = await revisionOf(deps.store, 'Consent');
    // Read the revision before the Consents: what is kept is never older than its revision says.
    if (revision !== kept.revision) kept = { revision, byPatient: new Map() };
    return kept;
  }

  async function load(filter: Filter): Promise<Map<string, Consent[]>> {
    const records = await deps.store.find('current', { $and: [{ resourceType: 'Consent', deleted: false }, filter] });
    const grouped = new Map<string, Consent[]>();
    for (const record of records) {
      const consent = (await deps.codec.decode(record.resource!)) as Consent;
      const patient = patientOf(consent);
      if (patient === undefined || consent.status !== 'active') continue;
      grouped.set(patient, [...(grouped.get(patient) ?? []), consent]);
    }
    return grouped;
  }

  const inForce = (patient: string, consents: readonly Consent[], now: Date): Consent[] => consents.filter((c) => isConsentInForce(c, `Patient/${patient}`, now));

  return {
    revision: async () => (await current()).revision,

    async forPatients(patients, now) {
      const state = await current();
      const found = new Map<string, Consent[]>();
      if (state.all) {
        const all = (await state.all).byPatient;
        for (const p of patients) found.set(p, inForce(p, all.get(p) ?? [], now));
        return found;
      }
      const missing = patients.filter((p) => !state.byPatient.has(p));
      if (missing.length > 0) {
        const loading = load(deps.searchIndex.compileReferenceIn('Consent', 'patient', missing.map((p) => `Patient/${p}`)));
        for (const p of missing) state.byPatient.set(p, loading.then((m) => m.get(p) ?? []));
        // A failed load must not be kept: the next request tries again.
        loading.catch(() => missing.forEach((p) => state.byPatient.delete(p)));
      }
      for (const p of patients) found.set(p, inForce(p, await state.byPatient.get(p)!, now));
      return found;
    },

    async everyone(now) {
      const state = await current();
      state.all ??= load({}).then((byPatient) => ({ byPatient, boundaries: boundariesOf([...byPatient.values()].flat()) }));
      state.all.catch(() => (state.all = undefined));
      const { byPatient, boundaries } = await state.all;
      const consents = new Map<string, Consent[]>();
      for (const [p, all] of byPatient) {
        const active = inForce(p, all, now);
        if (active.length > 0) consents.set(p, active);
      }
      return { consents, until: boundaries.find((b) => b > now.getTime()) ?? Infinity };
    },
  };
}

function patientOf(consent: Consent): string | undefined {
  const reference = consent.patient?.reference;
  return reference?.startsWith('Patient/') ? reference.slice('Patient/'.length) : undefined;
}

/**
 * The instants at which time alone changes what these Consents decide, in order: a Consent's issue
 * date, a (nested) provision period starting or ending. Decisions may be kept until the next one.
 */
function boundariesOf(consents: readonly Consent[]): number[] {
  const instants = new Set<number>();
  const walk = (provision: ConsentProvision | undefined): void => {
    if (!provision) return;
    if (provision.period?.start) instants.add(startOf(provision.period.start));
    if (provision.period?.end) instants.add(endOf(provision.period.end));
    provision.provision?.forEach(walk);
  };
  for (const consent of consents) {
    if (consent.dateTime) instants.add(startOf(consent.dateTime));
    walk(consent.provision);
  }
  return [...instants].filter((i) => !Number.isNaN(i)).sort((a, b) => a - b);
}

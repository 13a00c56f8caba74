import type { Consent, ConsentProvision } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import type { SearchIndex } from '../search/types.js';
import type { Filter, StorePort } from '../store/port.js';
import { createRevisionCache } from '../store/revision-cache.js';
import { endOf, isConsentInForce, startOf } from './applicable.js';

export interface ConsentDirectoryDeps {
  store: StorePort;
  codec: StorageCodec;
  searchIndex: SearchIndex;
}

/** Patients' Consents in force, by patient id. */
export type ConsentsByPatient = ReadonlyMap<string, readonly Consent[]>;

/**
 * The patients' Consents, decoded once and kept until a Consent is written (`revision-cache.ts`),
 * which is how a revocation takes effect on the very next request.
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

// Patients whose Consents are kept decoded at once; the least recently asked about go first.
const MAX_PATIENTS_KEPT = 20_000;

export function createConsentDirectory(deps: ConsentDirectoryDeps): ConsentDirectory {
  const cache = createRevisionCache<Consent[]>(deps.store, 'Consent', MAX_PATIENTS_KEPT);

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

  // Active patient-privacy Consents of every patient (periods are decided at use), with the instants time changes them.
  const everyConsent = () => load({}).then((byPatient) => ({ byPatient, boundaries: boundariesOf([...byPatient.values()].flat()) }));

  const inForce = (patient: string, consents: readonly Consent[], now: Date): Consent[] => consents.filter((c) => isConsentInForce(c, `Patient/${patient}`, now));

  return {
    revision: async () => (await cache.view()).revision,

    async forPatients(patients, now) {
      const view = await cache.view();
      // Once every Consent is kept (`everyone`), it answers for any patient without another read.
      const every = view.wholeIfKept<Awaited<ReturnType<typeof everyConsent>>>();
      if (every) {
        const { byPatient } = await every;
        return new Map(patients.map((p) => [p, inForce(p, byPatient.get(p) ?? [], now)]));
      }
      const found = await view.getMany(
        patients,
        (missing) => load(deps.searchIndex.compileReferenceIn('Consent', 'patient', missing.map((p) => `Patient/${p}`))),
        [],
      );
      return new Map(patients.map((p) => [p, inForce(p, found.get(p)!, now)]));
    },

    async everyone(now) {
      const { byPatient, boundaries } = await (await cache.view()).whole(everyConsent);
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

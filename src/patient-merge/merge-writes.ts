import type { Identifier, Patient, Reference, Resource } from '@medplum/fhirtypes';

/** A reference to a transaction entry, assignable to any typed Reference. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EntryReference = Reference<any>;

/** Current resources matching a search (`subject=Patient/1`), as the caller may find them. */
export type ReferrerLookup = (resourceType: string, query: string) => Promise<Resource[]>;

/**
 * The transaction a merge is written into (HL7 v2's `TransactionBuilder` is one): entries refer
 * to each other by reference, so the old Patient, the survivor and the moved references commit together.
 */
export interface MergeTransaction {
  /** Update of a known version (`PUT Type/id`, `If-Match` when `versionId` is given). */
  update(resource: Resource & { id: string }, versionId?: string): EntryReference;
  /** Conditional update by identifier, for an old Patient not stored yet. */
  upsert(resource: Resource, by: Identifier): EntryReference;
  /** Replaces the resource of an entry added earlier. */
  replace(reference: EntryReference, resource: Resource): void;
  get<T extends Resource>(reference: EntryReference): T | undefined;
}

/** Resource types whose references to a merged-away Patient move to the survivor, with the search parameter finding them. */
export const REFERRERS: ReadonlyArray<readonly [string, string]> = [
  ['MedicationRequest', 'subject'],
  ['MedicationDispense', 'subject'],
  ['Appointment', 'actor'],
  ['Consent', 'patient'],
];

/** What is merged away: a stored Patient (with `id`), or one known only by identifiers (HL7 MRG), written as an inactive stub upserted by `key`. */
export interface MergeSource {
  patient: Patient;
  key?: Identifier;
}

/**
 * The writes of a Patient merge (patient.html#merge, R5 Patient/$merge; HL7 v2 ADT^A40), shared by
 * the HL7 adapter and `Patient/$merge`: the source becomes inactive with a `replaced-by` link to
 * the survivor, the survivor gets a `replaces` link back (a repeated merge replaces the link rather
 * than adding one), and every stored reference to the source moves to the survivor. The survivor
 * must already be an entry of `tx`. Returns the reference to the source's entry.
 */
export async function writeMerge(tx: MergeTransaction, lookup: ReferrerLookup, source: MergeSource, survivor: EntryReference): Promise<EntryReference> {
  const stored = source.patient.id !== undefined;
  const old: Patient = { ...source.patient, active: false };
  old.link = [...(old.link ?? []).filter((l) => l.type !== 'replaced-by'), { other: survivor, type: 'replaced-by' }];
  let oldRef: EntryReference;
  if (stored) oldRef = tx.update({ ...old, id: source.patient.id!, meta: undefined }, source.patient.meta?.versionId);
  else if (source.key) oldRef = tx.upsert(old, source.key);
  else throw new Error('A merge source that is not stored needs an identifier to be written by');
  const surviving = tx.get<Patient>(survivor)!;
  const sameOld = (ref: string | undefined): boolean => ref === oldRef.reference || (stored && ref === `Patient/${source.patient.id}`);
  tx.replace(survivor, { ...surviving, link: [...(surviving.link ?? []).filter((l) => !sameOld(l.other.reference)), { other: oldRef, type: 'replaces' }] });
  if (stored) await moveReferences(`Patient/${source.patient.id}`, survivor.reference!, tx, lookup);
  return oldRef;
}

async function moveReferences(from: string, to: string, tx: MergeTransaction, lookup: ReferrerLookup): Promise<void> {
  for (const [type, param] of REFERRERS) {
    for (const resource of await lookup(type, `${param}=${encodeURIComponent(from)}`)) {
      const moved = replaceReference(resource, from, to) as Resource & { id: string };
      tx.update({ ...moved, meta: undefined } as Resource & { id: string }, resource.meta?.versionId);
    }
  }
}

/** A deep copy of `value` with every `reference: from` replaced by `to`. */
export function replaceReference(value: unknown, from: string, to: string): unknown {
  if (Array.isArray(value)) return value.map((v) => replaceReference(v, from, to));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'reference' && v === from ? to : replaceReference(v, from, to)]));
  }
  return value;
}

import type { PractitionerRole } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import type { SearchIndex } from '../search/types.js';
import type { StorePort } from '../store/port.js';
import { createRevisionCache } from '../store/revision-cache.js';
import { periodCovers } from './applicable.js';

export interface AffiliationsDeps {
  store: StorePort;
  codec: StorageCodec;
  searchIndex: SearchIndex;
}

/**
 * Where a requester works, as a Consent's `provision.actor` may name it (issue 21): a Consent
 * granting or denying `Organization/x` is about everyone who acts for x. A practitioner acts for
 * the Organizations of their PractitionerRoles in force (R4 practitionerrole.html: `practitioner`
 * is the fhirUser, `active` not false, `period` covering now), and as those PractitionerRoles; a
 * PractitionerRole fhirUser acts for its own Organization while it is in force.
 */
export interface Affiliations {
  /** The references a requester is known by besides its fhirUser (PractitionerRoles, Organizations), at `now`. */
  of(fhirUser: string | undefined, now: Date): Promise<string[]>;
}

// A fhirUser is a reference, relative or absolute (SMART app-launch `fhirUser`): its last two segments name the resource.
const MAX_KEPT = 4096;
const ROLE_HOLDER = /(?:^|\/)(Practitioner|PractitionerRole)\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * PractitionerRoles are decoded once and kept until a PractitionerRole is written
 * (`revision-cache.ts`), so a role ended or deactivated takes effect on the next request. Periods
 * are decided at each call, on `now`.
 */
export function createAffiliations(deps: AffiliationsDeps): Affiliations {
  const cache = createRevisionCache<PractitionerRole[]>(deps.store, 'PractitionerRole', MAX_KEPT);

  async function rolesOf(type: string, id: string): Promise<Map<string, PractitionerRole[]>> {
    const filter = type === 'Practitioner' ? deps.searchIndex.compileReferenceIn('PractitionerRole', 'practitioner', [`Practitioner/${id}`]) : { id };
    const records = await deps.store.find('current', { $and: [{ resourceType: 'PractitionerRole', deleted: false }, filter] });
    const roles = await Promise.all(records.map(async (r) => (await deps.codec.decode(r.resource!)) as PractitionerRole));
    return new Map([[`${type}/${id}`, roles]]);
  }

  return {
    async of(fhirUser, now) {
      const match = fhirUser === undefined ? null : ROLE_HOLDER.exec(fhirUser);
      if (!match) return [];
      const [, type, id] = match as unknown as [string, string, string];
      const key = `${type}/${id}`;
      const roles = (await (await cache.view()).getMany([key], () => rolesOf(type, id), [])).get(key)!;
      const found = new Set<string>();
      for (const role of roles) {
        if (role.active === false || !periodCovers(role.period, now.getTime())) continue;
        if (type === 'Practitioner' && role.id) found.add(`PractitionerRole/${role.id}`);
        const organization = role.organization?.reference;
        if (organization?.startsWith('Organization/')) found.add(organization);
      }
      return [...found];
    },
  };
}

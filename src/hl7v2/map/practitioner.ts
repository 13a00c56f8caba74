import type { Practitioner } from '@medplum/fhirtypes';
import type { V2Repetition } from '../message.js';
import type { AnyReference, TransactionBuilder } from './bundle.js';
import type { MapContext } from './context.js';
import { authoritySystem, comp, compact } from './datatypes.js';

/**
 * XCN → Practitioner (IG `datatypes/XCN-to-Practitioner.csv`): XCN-1 with XCN-9 (assigning
 * authority) as identifier, XCN-2..7 as name. A practitioner with an identifier is upserted by it;
 * one with a name only becomes a display-only reference (nothing to match a later message on).
 */
export function practitionerFromXcn(rep: V2Repetition | undefined, ctx: MapContext, tx: TransactionBuilder): AnyReference | undefined {
  if (!rep) return undefined;
  const id = comp(rep, 1);
  const name = compact({
    family: comp(rep, 2, 1),
    given: [comp(rep, 3), ...(comp(rep, 4) ?? '').split(' ').filter(Boolean)],
    suffix: [comp(rep, 5)],
    prefix: [comp(rep, 6)],
  });
  const display = [name?.prefix?.[0], ...(name?.given ?? []), name?.family].filter(Boolean).join(' ') || undefined;
  if (!id) return display ? { display } : undefined;
  const hd = { namespace: comp(rep, 9, 1), universalId: comp(rep, 9, 2), type: comp(rep, 9, 3) };
  const system = authoritySystem(hd.namespace || hd.universalId ? hd : { namespace: ctx.sendingFacility }, ctx);
  const type = comp(rep, 13);
  const identifier = compact({ system, value: id, type: type ? { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: type }] } : undefined })!;
  const practitioner: Practitioner = compact({ resourceType: 'Practitioner' as const, identifier: [identifier], name: name ? [name] : undefined, active: true })!;
  return { ...tx.upsert(practitioner, identifier), ...(display ? { display } : {}) };
}

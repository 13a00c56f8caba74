import path from 'node:path';
import type { AuditEvent, Bundle, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminEventOf } from '../../src/audit/admin-event.js';
import { auditEventOf, BREAK_GLASS_EXTENSION, sourceOf } from '../../src/audit/audit-event.js';
import type { AuditEntry } from '../../src/audit/audit-sink.js';
import { authenticationEventOf } from '../../src/audit/authentication-event.js';
import { withLink } from '../../src/audit/chain.js';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { FhirError } from '../../src/fhir/errors.js';
import type { FhirRequest } from '../../src/fhir/request.js';
import { auditEventIndexer } from '../../src/search/index/audit-event-index.js';
import { extractIndex } from '../../src/search/index/extract.js';
import type { ExtractContext } from '../../src/search/index/extracted.js';
import { createImpliedSystems } from '../../src/search/index/implied-system.js';
import { createSearchIndex } from '../../src/search/index/index.js';
import { buildParamTable } from '../../src/search/index/param-table.js';
import type { StoredRecord } from '../../src/store/port.js';
import { withBreakGlassSearch } from '../../src/subscriptions/break-glass-search.js';
import { loadTerminology } from '../../src/validation/terminology.js';
import { officialExamples } from '../support/corpus.js';
import { ROOT_DIR } from '../support/server.js';

/**
 * Issue 14: an AuditEvent's `record.index` is computed from its fixed shape (audit-event-index.ts)
 * instead of parameter by parameter. It must be exactly what the generic extraction stores, for
 * events of every kind the server writes (and chains), and the generic way must still answer for
 * events of shapes the direct code does not read (a client may POST an AuditEvent).
 */

const BASE = 'http://localhost:8080/fhir';
const definitions = withBreakGlassSearch(r4Definitions());
const table = buildParamTable(definitions.searchParameters, ['AuditEvent']).get('AuditEvent')!;
let context: ExtractContext;
let direct: (event: unknown) => Record<string, unknown> | undefined;
let served: ReturnType<typeof createSearchIndex>;

beforeAll(async () => {
  const terminology = await loadTerminology(path.join(ROOT_DIR, 'terminology'));
  context = { baseUrl: BASE, impliedSystem: createImpliedSystems(definitions.structureDefinitions, terminology) };
  direct = auditEventIndexer(table, context)!;
  served = createSearchIndex({ definitions, resourceTypes: ['AuditEvent'], terminology, baseUrl: BASE });
});

const generic = (event: AuditEvent): Record<string, unknown> => extractIndex(event, table.values(), context);

const recorded = '2026-12-04T10:00:00.123Z';
const caller = { requestId: 'req-1', baseUrl: BASE, actor: 'Practitioner/d1', clientId: 'ehr', subject: 'alice', roles: ['practitioner'], scopes: [], purposeOfUse: ['TREAT'], source: '10.1.2.3' };
const request = (data: Record<string, unknown>, context: Record<string, unknown> = caller): FhirRequest => ({ params: {}, ...data, context }) as unknown as FhirRequest;
const stored = (version: number, resourceType: string, id: string): StoredRecord => ({ resourceType, id, versionId: version, lastUpdated: recorded, deleted: false });
const patient = (id: string, version = '1'): Resource => ({ resourceType: 'Patient', id, meta: { versionId: version } });
const message = { messageCode: 'ADT', triggerEvent: 'A01', controlId: 'MSG-1', sendingApplication: 'EPIC', sendingFacility: 'GENHOSP', version: '2.5.1' };

/** As the chain writer stores an event: with its id, chain link and meta. */
function chained(event: AuditEvent, sequence = 7): AuditEvent {
  return { ...withLink({ ...event, id: `audit-${sequence}` }, sequence, 'a'.repeat(64)), meta: { versionId: '1', lastUpdated: recorded } };
}
const of = (entry: Partial<AuditEntry> & { request: FhirRequest }, note?: { breakGlass: boolean; consents: string[] }, written: Resource[] = []): AuditEvent =>
  chained(auditEventOf({ startedAt: new Date(recorded), ...entry }, note, BASE, recorded, written));
const finish = (draft: Omit<AuditEvent, 'recorded' | 'source'>): AuditEvent => chained({ ...draft, recorded, source: sourceOf(BASE) } as AuditEvent);

const searchPage: Bundle = {
  resourceType: 'Bundle',
  type: 'searchset',
  entry: [
    { resource: patient('p1', '3') },
    { resource: patient('p2') },
    { resource: { resourceType: 'Observation', id: 'o1', meta: { versionId: '2' }, status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p3' } } },
    { resource: { resourceType: 'MedicationRequest', id: 'm1', status: 'active', intent: 'order', subject: { reference: `${BASE}/Patient/p4` }, medicationCodeableConcept: { text: 'x' } } },
    { resource: { resourceType: 'OperationOutcome', issue: [] } as Resource },
  ],
};

/** Events of every kind the server writes, built by the same functions, chained as stored. */
const SERVER_EVENTS: Array<[string, () => AuditEvent]> = [
  ['read', () => of({ request: request({ interaction: 'read', resourceType: 'Patient', id: 'p1' }), result: { resource: patient('p1') } as never, action: 'R' })],
  ['vread', () => of({ request: request({ interaction: 'vread', resourceType: 'Patient', id: 'p1', versionId: '2' }), result: { resource: patient('p1', '2') } as never, action: 'R' })],
  ['read by a client without fhirUser', () => of({ request: request({ interaction: 'read', resourceType: 'Patient', id: 'p1' }, { requestId: 'r', baseUrl: BASE, clientId: 'backend', scopes: [], purposeOfUse: [] }), result: { resource: patient('p1') } as never, action: 'R' })],
  ['search page of Patients, Observations and a MedicationRequest', () => of({ request: request({ interaction: 'search-type', resourceType: 'Patient' }), result: { resource: searchPage } as never, action: 'E' })],
  ['history of a Patient', () => of({ request: request({ interaction: 'history-instance', resourceType: 'Patient', id: 'p1' }), result: { resource: { resourceType: 'Bundle', type: 'history', entry: [{ resource: patient('p1', '2') }, { resource: patient('p1', '1') }] } } as never, action: 'R' })],
  ['everything of a Patient', () => of({ request: request({ interaction: 'everything', resourceType: 'Patient', id: 'p1' }), result: { resource: searchPage } as never, action: 'E' })],
  ['create with its commit', () => of({ request: request({ interaction: 'create', resourceType: 'Observation' }), result: { resource: searchPage.entry![2].resource, version: stored(1, 'Observation', 'o1') } as never, written: [stored(1, 'Observation', 'o1')], action: 'C' }, undefined, [searchPage.entry![2].resource!])],
  ['update of a Patient', () => of({ request: request({ interaction: 'update', resourceType: 'Patient', id: 'p1' }), result: { resource: patient('p1', '4'), version: stored(4, 'Patient', 'p1') } as never, written: [stored(4, 'Patient', 'p1')], action: 'U' }, undefined, [patient('p1', '4')])],
  ['delete', () => of({ request: request({ interaction: 'delete', resourceType: 'Observation', id: 'o1' }), written: [{ ...stored(3, 'Observation', 'o1'), deleted: true }], action: 'D' })],
  ['refused read (403)', () => of({ request: request({ interaction: 'read', resourceType: 'Patient', id: 'p9' }), error: new FhirError('forbidden', 'no'), action: 'R' })],
  ['failed search (500)', () => of({ request: request({ interaction: 'search-type', resourceType: 'Observation' }), error: new Error('boom') as never, action: 'E' })],
  ['HL7 v2 message (import of a transaction)', () => of({ request: request({ interaction: 'transaction' }, { ...caller, actor: undefined, clientId: undefined, inboundMessage: message, source: '192.168.1.5' }), result: { resource: { resourceType: 'Bundle', type: 'transaction-response', entry: [{ resource: patient('p7') }] } } as never, written: [stored(1, 'Patient', 'p7')], action: 'E' }, undefined, [patient('p7')])],
  ['break-glass read, with the Consent it overrode', () => of({ request: request({ interaction: 'read', resourceType: 'Patient', id: 'p2' }), result: { resource: patient('p2') } as never, action: 'R' }, { breakGlass: true, consents: ['Consent/c-deny'] })],
  ['read decided by Consents (permit and a withheld one)', () => of({ request: request({ interaction: 'search-type', resourceType: 'Patient' }), result: { resource: searchPage } as never, action: 'E' }, { breakGlass: false, consents: ['Consent/c-permit', 'Consent/c-deny'] })],
  ['login ok', () => finish(authenticationEventOf({ method: 'password', ok: true, user: { id: 'u1', username: 'alice', fhirUser: 'Practitioner/p1' }, clientId: 'portal', address: '10.0.0.1' }))],
  ['login failed', () => finish(authenticationEventOf({ method: 'password', ok: false, reason: 'invalid', user: { username: 'mallory' }, address: '10.0.0.2' }))],
  ['admin: create a launch for a patient', () => finish(adminEventOf({ action: 'create-launch', target: { kind: 'patient', id: 'p7' }, caller: { actor: 'Practitioner/d1', roles: ['practitioner'] } }))],
  ['admin: refused', () => finish(adminEventOf({ action: 'list-users', caller: { actor: 'Practitioner/d1', roles: ['practitioner'] }, failure: { code: 'insufficient_scope' } }))],
];

/** Client-made events: some the direct code reads, some it hands to the generic extraction. */
const CLIENT_EVENTS: Array<[string, AuditEvent, 'direct' | 'generic']> = [
  ['minimal', { resourceType: 'AuditEvent', type: { code: 'x' }, recorded, agent: [{ requestor: true }], source: { observer: { display: 'o' } } }, 'direct'],
  ['empty strings, nulls in arrays, a reference with only an identifier, an absolute one', { resourceType: 'AuditEvent', type: { code: '', display: 'Ünïcode Display' }, subtype: [null, { system: 's', code: 'c' }, { system: 's', code: 'c' }], action: '', recorded: '2026-12-04', agent: [{ requestor: true, altId: '', name: 'Dr. Ärzt', who: { reference: `${BASE}/Patient/abs` }, policy: ['http://pol|2', null, ''], role: [{ text: 'Nurse' }, { coding: [null, { code: 'n' }] }], network: { address: '' } }, null, { requestor: false, who: { identifier: { system: 'urn:x', value: 'y' } } }], source: { site: 'Ward 5', observer: { reference: 'Device/d1' } }, entity: [{ what: { reference: 'Patient/p1/_history/2' }, name: 'P', role: { code: '1' }, type: { system: 'x' } }, {}, { what: { reference: '#contained' } }, { what: { reference: 'urn:uuid:1' } }] } as unknown as AuditEvent, 'direct'],
  ['recorded with an offset, a leap day, an impossible day', { resourceType: 'AuditEvent', type: { code: 'x' }, recorded: '2024-02-29T23:59:59.999+02:00', agent: [{ requestor: true }], source: { observer: { display: 'o' } } }, 'direct'],
  ['recorded on a day that does not exist', { resourceType: 'AuditEvent', type: { code: 'x' }, recorded: '2026-02-30T10:00:00.000Z', agent: [{ requestor: true }], source: { observer: { display: 'o' } } }, 'direct'],
  ['break-glass true and false, another url', { resourceType: 'AuditEvent', type: { code: 'x' }, recorded, extension: [{ url: BREAK_GLASS_EXTENSION, valueBoolean: true }, { url: 'https://other', valueString: 'x' }, { url: BREAK_GLASS_EXTENSION, valueBoolean: false }], agent: [], source: {} } as unknown as AuditEvent, 'direct'],
  ['codings that would run together: a separator character inside a system and a code', { resourceType: 'AuditEvent', type: { code: 'x' }, recorded, subtype: [{ system: 'a\u0000b', code: 'c' }, { system: 'a', code: 'b\u0000c' }, { system: 'a', code: 'b\u0000c' }], agent: [], source: {} } as unknown as AuditEvent, 'direct'],
  ['references alike and not: the same target with and without an identifier, versions, identifiers only, a type only', { resourceType: 'AuditEvent', type: { code: 'x' }, recorded, agent: [{ who: { reference: 'Patient/p1' } }, { who: { type: 'Patient', identifier: { value: 'v' } } }], source: {}, entity: [{ what: { reference: 'Patient/p1' } }, { what: { reference: 'Patient/p1', identifier: { system: 's', value: 'v' } } }, { what: { reference: 'Patient/p1/_history/3' } }, { what: { identifier: { value: 'v' } } }, { what: { identifier: { value: 'v' } } }, { what: { type: 'Patient', identifier: { value: 'v' } } }, { what: { type: 'Patient' } }, { what: { reference: `${BASE}/Patient/p2` } }, { what: { reference: 'Patient/p2' } }] } as unknown as AuditEvent, 'direct'],
  ['meta with tags and profiles', { resourceType: 'AuditEvent', meta: { profile: ['http://p'], tag: [{ code: 't' }], security: [{ system: 's', code: 'R' }], source: 'urn:s' }, type: { code: 'x' }, recorded, agent: [], source: {} } as unknown as AuditEvent, 'generic'],
  ['break-glass valued otherwise', { resourceType: 'AuditEvent', type: { code: 'x' }, recorded, extension: [{ url: BREAK_GLASS_EXTENSION, valueCoding: { code: 'c' } }], agent: [], source: {} } as unknown as AuditEvent, 'generic'],
  ['wrong JSON shapes: a string for a Reference, an object for a code, a singleton for a list', { resourceType: 'AuditEvent', type: [{ code: 'x' }], action: { x: 1 }, recorded: 5, subtype: { code: 'c' }, agent: [{ who: 'Patient/p1', role: 'nurse' }], source: { site: ['a'] }, entity: { what: { reference: 'Patient/p1' } } } as unknown as AuditEvent, 'generic'],
];

describe('AuditEvent index computed from its fixed shape equals the generic extraction (issue 14)', () => {
  it('answers the parameter table it was written for, and no other', () => {
    expect(direct).toBeTypeOf('function');
    // Without the server's break-glass parameter, the table is still the R4 one.
    const r4 = buildParamTable(r4Definitions().searchParameters, ['AuditEvent']).get('AuditEvent')!;
    expect(auditEventIndexer(r4, context)).toBeTypeOf('function');
    // A deployment's own parameter (here `address` read elsewhere) sends every event the generic way.
    const changed = new Map(table);
    changed.set('address', { ...table.get('address')!, def: { ...table.get('address')!.def, expression: 'AuditEvent.agent.network' } });
    expect(auditEventIndexer(changed, context)).toBeUndefined();
  });

  it.each(SERVER_EVENTS.map(([name, build]) => ({ name, build })))('server event: $name', ({ build }) => {
    const event = build();
    const values = direct(event);
    expect(values).toBeDefined();
    expect(values).toEqual(generic(event));
    expect(served.extract(event)).toEqual(generic(event));
  });

  it('the server events cover patients, entities, agents, break-glass and consents', () => {
    const all = SERVER_EVENTS.map(([, build]) => direct(build())!);
    for (const key of ['patient', 'entity', 'agent', 'agent-role', 'altid', 'address', 'entity-role', 'entity-type', 'entity-name', 'break-glass', 'outcome', 'subtype', 'type', 'action', 'date']) {
      expect(all.some((index) => Array.isArray(index[key]) && (index[key] as unknown[]).length > 0), key).toBe(true);
    }
  });

  it.each(CLIENT_EVENTS.map(([name, event, way]) => ({ name, event, way })))('client event ($way): $name', ({ event, way }) => {
    const values = direct(event);
    if (way === 'direct') expect(values).toEqual(generic(event));
    else expect(values).toBeUndefined();
    expect(served.extract(event)).toEqual(generic(event));
  });

  it('each official AuditEvent example of the corpus', () => {
    const examples = officialExamples('AuditEvent');
    expect(examples.length).toBeGreaterThan(5);
    for (const { file, resource } of examples) expect(served.extract(resource), file).toEqual(generic(resource as AuditEvent));
  });
});

import path from 'node:path';
import type { AuditEvent, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminEventOf } from '../../src/audit/admin-event.js';
import { sourceOf } from '../../src/audit/audit-event.js';
import { authenticationEventOf } from '../../src/audit/authentication-event.js';
import { messageAgent, messageEntity, messageSubtypes } from '../../src/audit/inbound-message.js';
import { IMPORT } from '../../src/audit/vocabulary.js';
import { BREAK_GLASS_EXTENSION } from '../../src/audit/audit-event.js';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { withBreakGlassSearch } from '../../src/subscriptions/break-glass-search.js';
import { loadTerminology } from '../../src/validation/terminology.js';
import { extractIndex } from '../../src/search/index/extract.js';
import type { ExtractContext } from '../../src/search/index/extracted.js';
import { createImpliedSystems } from '../../src/search/index/implied-system.js';
import { typedValues } from '../../src/search/index/node.js';
import { buildParamTable, type IndexedParam } from '../../src/search/index/param-table.js';
import { adminApi } from '../auth/support/oauth.js';
import { officialExamples, syntheaBundle, syntheaFiles } from '../support/corpus.js';
import { fhirClient } from '../support/fhir-client.js';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';

/**
 * Issue 14: an AuditEvent's search values are read directly from its JSON (direct-values.ts), not
 * through fhirpath.js. They must equal what the generic FHIRPath extraction stores, for the events
 * the server really writes (reads, writes, failures, admin actions, recorded by a running server),
 * the HL7 v2 import and login shapes, and hand-made edge cases (a client may POST an AuditEvent).
 */

// With the server's own AuditEvent parameter (break-glass: an extension's value), as app.ts builds them.
const definitions = withBreakGlassSearch(r4Definitions());
const params = [...buildParamTable(definitions.searchParameters, ['AuditEvent']).get('AuditEvent')!.values()];
const generic: IndexedParam[] = params.map((p) => ({ ...p, branches: p.branches.map(({ direct: _direct, ...b }) => b) }));
// The terminology the server loads (its required bindings give plain codes their implied system).
let context: ExtractContext;

const recorded = '2026-12-04T10:00:00.123Z';
const finish = (draft: Omit<AuditEvent, 'recorded' | 'source'>): AuditEvent => ({ ...draft, recorded, source: sourceOf('fhirgate') });
const message = { messageCode: 'ADT', triggerEvent: 'A01', controlId: 'MSG-1', sendingApplication: 'EPIC', sendingFacility: 'GENHOSP', version: '2.5.1' };

const BUILT: Array<[string, AuditEvent]> = [
  ['login ok, password, user with fhirUser', finish(authenticationEventOf({ method: 'password', ok: true, user: { id: 'u1', username: 'alice', fhirUser: 'Practitioner/p1' }, clientId: 'portal', address: '10.0.0.1' }))],
  ['login failed, unknown user', finish(authenticationEventOf({ method: 'password', ok: false, reason: 'invalid', user: { username: 'mallory' }, address: '10.0.0.2' }))],
  ['logout', finish(authenticationEventOf({ method: 'password', ok: true, logout: true, user: { id: 'u1', username: 'alice' } }))],
  ['token request, client credentials', finish(authenticationEventOf({ method: 'client_credentials', ok: true, clientId: 'backend' }))],
  ['admin: create user', finish(adminEventOf({ action: 'create-user', target: { kind: 'user', id: 'u9' }, caller: { actor: 'Practitioner/admin', subject: 'admin', roles: ['admin'], clientId: 'console', source: '::1' }, requestId: 'r1' }))],
  ['admin: remove client, admin without fhirUser', finish(adminEventOf({ action: 'remove-client', target: { kind: 'client', id: 'c1' }, caller: { subject: 'root' } }))],
  ['admin: list users refused (403)', finish(adminEventOf({ action: 'list-users', caller: { actor: 'Practitioner/d1', roles: ['practitioner'] }, failure: { code: 'insufficient_scope' } }))],
  ['admin: launch for a patient', finish(adminEventOf({ action: 'create-launch', target: { kind: 'patient', id: 'p7' }, caller: { actor: 'Practitioner/d1', roles: ['practitioner'] } }))],
  [
    'HL7 v2 import',
    {
      resourceType: 'AuditEvent',
      type: IMPORT,
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'transaction' }, ...messageSubtypes(message)],
      action: 'E',
      recorded,
      outcome: '0',
      agent: [messageAgent(message, '192.168.1.5')],
      source: sourceOf('fhirgate'),
      entity: [{ what: { reference: 'Patient/p7/_history/1' }, type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1' } }, { what: { reference: 'Patient/p7' } }, messageEntity(message)],
    },
  ],
  [
    'client-made: meta, policies, an absolute reference, primitives with extensions only, nulls in arrays',
    {
      resourceType: 'AuditEvent',
      meta: { profile: ['http://example.org/p'], security: [{ system: 'http://s', code: 'R' }], source: 'urn:src', tag: [{ code: 't' }] },
      type: { code: 'x' },
      _action: { extension: [{ url: 'http://x', valueString: 'y' }] },
      recorded,
      agent: [
        { who: { reference: 'http://localhost:8080/fhir/Patient/abs' }, requestor: true, policy: ['http://pol/1', null, 'http://pol/2'], role: [{ text: 'nurse' }, { coding: [{ system: 'r', code: 'n' }] }], name: 'Nurse' },
        { who: { reference: 'Device/d1' }, requestor: false, network: { address: 'host.example' } },
      ],
      source: { site: 'Ward 5', observer: { reference: 'Device/d1' } },
      entity: [{ what: { reference: 'Patient/p1' }, role: { code: '1' }, type: { code: '1' }, name: 'Patient p1' }, {}],
    } as unknown as AuditEvent,
  ],
  [
    'extensions: break-glass true and false, another url, a value with extensions only, a value of another type, a null',
    {
      resourceType: 'AuditEvent',
      extension: [
        { url: BREAK_GLASS_EXTENSION, valueBoolean: true },
        { url: 'https://fhirgate.dev/other', valueString: 'x' },
        { url: BREAK_GLASS_EXTENSION, valueBoolean: false },
        { url: BREAK_GLASS_EXTENSION, _valueBoolean: { extension: [{ url: 'u', valueString: 'v' }] } },
        { url: BREAK_GLASS_EXTENSION, valueCoding: { system: 's', code: 'c' } },
        null,
      ],
      type: { code: 'x' },
      recorded,
      agent: [{ requestor: true }],
      source: { observer: { display: 'o' } },
    } as unknown as AuditEvent,
  ],
  ['minimal', { resourceType: 'AuditEvent', type: { code: 'x' }, recorded, agent: [{ requestor: true }], source: { observer: { display: 'o' } } }],
];

const STORED: Array<[string, AuditEvent]> = [];
let server: TestServer;

beforeAll(async () => {
  context = { baseUrl: 'http://localhost:8080/fhir', impliedSystem: createImpliedSystems(definitions.structureDefinitions, await loadTerminology(path.join(ROOT_DIR, 'terminology'))) };
  server = await startServer({ AUDIT_SINK: 'store' });
  const fhir = fhirClient(server.fhirUrl);
  const patient = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Audited' }] });
  await fhir.get(`Patient/${patient.id}`);
  await fhir.put(`Patient/${patient.id}`, { resourceType: 'Patient', id: patient.id, name: [{ family: 'Audited2' }] });
  await fhir.create({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient.id}` } });
  await fhir.get(`Observation?subject=Patient/${patient.id}`);
  await fhir.get('Patient/missing'); // a failure: 404
  const limited = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'patient/*.rs', patient: 'other', fhirUser: 'Patient/other', role: 'patient' }) });
  await limited.get(`Patient/${patient.id}`); // a failure: refused
  await adminApi(server, 'POST', '/admin/users', { username: 'audit-direct', roles: ['patient'], fhirUser: `Patient/${patient.id}` });
  for (const record of await server.app.store.find('current', { resourceType: 'AuditEvent' })) {
    const event = (await server.app.crypto.codec.decode(record.resource!)) as AuditEvent;
    STORED.push([`stored ${event.type?.code} ${event.subtype?.map((s) => s.code).join('/')} outcome ${event.outcome}`, event]);
  }
});
afterAll(() => server.destroy());

describe('AuditEvent search values read directly equal the FHIRPath extraction', () => {
  it('every AuditEvent parameter with a branch has a direct path (none falls back to fhirpath.js)', () => {
    const missing = params.flatMap((p) => p.branches.filter((b) => !b.direct).map(() => p.def.code));
    expect(missing).toEqual([]);
  });

  it('the running server recorded reads, writes, searches, failures and admin actions', () => {
    const outcomes = new Set(STORED.map(([, e]) => e.outcome));
    const actions = new Set(STORED.map(([, e]) => e.action));
    expect(STORED.length).toBeGreaterThanOrEqual(8);
    expect([...outcomes].sort()).toEqual(expect.arrayContaining(['0', '4']));
    expect([...actions]).toEqual(expect.arrayContaining(['C', 'R', 'U', 'E']));
  });

  it.each(BUILT.map(([name, event]) => ({ name, event })))('$name', ({ event }) => expectSameValues(event));

  // STORED is filled in beforeAll, after it.each has made its cases: one test walks it.
  it('each AuditEvent the running server stored', () => {
    for (const [name, event] of STORED) expectSameValues(event, name);
  });
});

/**
 * Issue 19 item 8: every branch of every type that only navigates (a path, a `.where(x='v')` filter,
 * a cast choice) is read directly, AuditEvent or not. Each official example of the corpus and every
 * resource of its Synthea bundles (~20 types) gives the same typed values and the same stored index
 * both ways, plus hand-made edge cases of the shapes the direct reading handles.
 */
const tables = new Map<string, { direct: IndexedParam[]; generic: IndexedParam[] }>();
function tableOf(type: string): { direct: IndexedParam[]; generic: IndexedParam[] } {
  let table = tables.get(type);
  if (!table) {
    const direct = [...buildParamTable(definitions.searchParameters, [type]).get(type)!.values()];
    tables.set(type, (table = { direct, generic: direct.map((p) => ({ ...p, branches: p.branches.map(({ direct: _direct, ...b }) => b) })) }));
  }
  return table;
}

const EDGES: Array<[string, Resource]> = [
  ['telecom filtered by system: a value with extensions only, a system absent, nulls', { resourceType: 'Patient', telecom: [{ system: 'email', value: 'a@x' }, { system: 'phone', value: '1' }, { value: '2' }, { system: 'email', _value: { extension: [{ url: 'u', valueString: 'v' }] } }, null, { _system: { extension: [{ url: 'u', valueString: 'v' }] }, value: '3' }] } as unknown as Resource],
  ['deceased as dateTime, and as boolean', { resourceType: 'Patient', deceasedDateTime: '2020-01-01' }],
  ['deceased as boolean', { resourceType: 'Patient', deceasedBoolean: true }],
  ['deceased false', { resourceType: 'Patient', deceasedBoolean: false }],
  ['no deceased at all (deceased is false, computed directly)', { resourceType: 'Patient', name: [{ family: 'Alive' }] }],
  ['a choice with both types present (fhirpath.js takes the first of the model)', { resourceType: 'Patient', deceasedBoolean: false, deceasedDateTime: '2020-01-01' } as Resource],
  ['a choice with only its extension', { resourceType: 'Patient', _deceasedDateTime: { extension: [{ url: 'u', valueString: 'v' }] } } as unknown as Resource],
  ['medication as reference and as concept', { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/1' }, medicationReference: { reference: 'Medication/m' } }],
  ['medication as concept', { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/1' }, medicationCodeableConcept: { coding: [{ system: 's', code: 'c' }] } }],
  ['wrong JSON shapes: a string for an object, an object for a string, nested nulls', { resourceType: 'Patient', name: ['Smith', { family: { x: 1 }, given: [null, 'Ann'] }], address: [{ city: 'C', line: 'not a list' }], gender: 'other', birthDate: '1970' } as unknown as Resource],
  ['meta and contact nesting', { resourceType: 'Practitioner', meta: { tag: [{ code: 't' }], security: [{ system: 's', code: 'R' }], profile: ['http://p'] }, name: [{ family: 'F', given: ['G'] }], address: [{ use: 'home', postalCode: '1234', country: 'NL' }], qualification: [{ code: { text: 'x' } }] }],
];

describe('every type: search values read directly equal the FHIRPath extraction (issue 19 item 8)', () => {
  const examples = ['AuditEvent', 'Appointment', 'Consent', 'MedicationDispense', 'MedicationRequest', 'Patient', 'Practitioner'].flatMap((type) => officialExamples(type).map((e): [string, Resource] => [e.file, e.resource]));
  const synthea = syntheaFiles().flatMap((file) => (syntheaBundle(file).bundle.entry ?? []).map((e, i): [string, Resource] => [`${file} #${i} ${e.resource!.resourceType}`, e.resource!]));

  it('the types HL7 v2 and REST write most have every branch read directly', () => {
    const generic = (type: string): string[] => tableOf(type).direct.flatMap((p) => p.branches.filter((b) => !b.direct).map(() => p.def.code));
    expect(generic('Patient')).toEqual([]);
    // `deceased` is computed; without deceased[x] it is false, read directly, which fhirpath.js agrees with.
    const deceased = tableOf('Patient').direct.find((p) => p.def.code === 'deceased')!.branches[0];
    expect(deceased.direct!({ resourceType: 'Patient' })).toEqual(typedValues(deceased.evaluate({ resourceType: 'Patient' })));
    expect(deceased.direct!({ resourceType: 'Patient', deceasedBoolean: true })).toBeUndefined();
    expect(generic('Practitioner')).toEqual([]);
    expect(generic('MedicationRequest')).toEqual([]);
    expect(generic('AuditEvent')).toEqual([]);
  });

  it.each(EDGES.map(([name, resource]) => ({ name, resource })))('$name', ({ resource }) => expectSameOf(resource));

  it(`each official example of the corpus (${examples.length})`, () => {
    for (const [name, resource] of examples) expectSameOf(resource, name);
  });

  it(`each resource of the Synthea bundles (${synthea.length}, ${new Set(synthea.map(([, r]) => r.resourceType)).size} types)`, () => {
    expect(synthea.length).toBeGreaterThan(100);
    for (const [name, resource] of synthea) expectSameOf(resource, name);
  });
});

function expectSameOf(resource: Resource, name = ''): void {
  const { direct, generic: viaFhirpath } = tableOf(resource.resourceType);
  expect(extractIndex(resource, direct, context), name).toEqual(extractIndex(resource, viaFhirpath, context));
  for (const param of direct) for (const branch of param.branches) if (branch.direct) expect(branch.direct(resource) ?? typedValues(branch.evaluate(resource)), `${name} ${param.def.code}`).toEqual(typedValues(branch.evaluate(resource)));
}

function expectSameValues(event: AuditEvent, name = ''): void {
  // Whole index first: what the store keeps.
  const direct = extractIndex(event as Resource, params, context);
  expect(direct, name).toEqual(extractIndex(event as Resource, generic, context));
  expect(Object.keys(direct).length, name).toBeGreaterThan(3);
  // Then each branch's typed values, types and element paths included (bindings hang off them).
  for (const param of params) for (const branch of param.branches) expect(branch.direct!(event), `${name} ${param.def.code}`).toEqual(typedValues(branch.evaluate(event)));
}

import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, fhirClient, type FhirClient } from '../../support/fhir-client.js';
import { startServer, type TestServer } from '../../support/server.js';
import { includeRefs, isTrail, matchIds, put, search, seedCorpus, seeded } from './support.js';

let server: TestServer;
let fhir: FhirClient;

const SYS = 'urn:fhirgate:test:includes';

const GENERATED: Array<Resource & { id: string }> = [
  { resourceType: 'Practitioner', id: 'doc-a', name: [{ family: 'Alpha', given: ['Ann'] }], identifier: [{ system: SYS, value: 'doc-a' }] },
  { resourceType: 'Practitioner', id: 'doc-b', name: [{ family: 'Beta', given: ['Ben'] }], identifier: [{ system: SYS, value: 'doc-b' }] },
  { resourceType: 'Patient', id: 'pt-peter', name: [{ family: 'Zed', given: ['Peter'] }], generalPractitioner: [{ reference: 'Practitioner/doc-a' }] },
  { resourceType: 'Patient', id: 'pt-paul', name: [{ family: 'Zed', given: ['Paul'] }], generalPractitioner: [{ reference: 'Practitioner/doc-b' }] },
  medicationRequest('mr1', 'pt-peter', 'doc-b', 'active'),
  medicationRequest('mr2', 'pt-paul', 'doc-a', 'completed'),
  medicationRequest('mr3', 'pt-peter', 'doc-a', 'completed'),
  {
    resourceType: 'MedicationDispense',
    id: 'md1',
    status: 'completed',
    medicationCodeableConcept: { text: 'aspirin' },
    subject: { reference: 'Patient/pt-peter' },
    authorizingPrescription: [{ reference: 'MedicationRequest/mr1' }],
  },
  {
    resourceType: 'Appointment',
    id: 'ap1',
    status: 'booked',
    start: '2024-03-05T10:00:00Z',
    end: '2024-03-05T10:30:00Z',
    participant: [
      { actor: { reference: 'Patient/pt-peter' }, status: 'accepted' },
      { actor: { reference: 'Practitioner/doc-a' }, status: 'accepted' },
    ],
  },
];

function medicationRequest(id: string, patient: string, requester: string, status: string): Resource & { id: string } {
  return {
    resourceType: 'MedicationRequest',
    id,
    status,
    intent: 'order',
    medicationCodeableConcept: { text: 'aspirin' },
    subject: { reference: `Patient/${patient}` },
    requester: { reference: `Practitioner/${requester}` },
  } as Resource & { id: string };
}

beforeAll(async () => {
  // The official examples are historical records (dispenses of other drugs, of stopped orders): loaded as data, without the workflow rules (issue 17).
  server = await startServer({ FHIR_WORKFLOW_RULES: 'false' });
  fhir = fhirClient(server.fhirUrl);
  await seedCorpus(fhir);
  for (const r of GENERATED) await put(fhir, r);
});
afterAll(() => server.destroy());

describe('chained parameters', () => {
  it('one level, with and without the target type', async () => {
    expect(matchIds(await search(fhir, 'MedicationRequest?subject:Patient.name=peter'))).toEqual(['mr1', 'mr3']);
    expect(matchIds(await search(fhir, 'MedicationRequest?subject.given=paul'))).toEqual(['mr2']);
    expect(matchIds(await search(fhir, `Appointment?actor:Practitioner.identifier=${encodeURIComponent(`${SYS}|doc-a`)}`))).toEqual(['ap1']);
    const acme = encodeURIComponent('http://www.acme.org/practitioners|23');
    expect(matchIds(await search(fhir, `Appointment?actor:Practitioner.identifier=${acme}`))).toEqual(['2docs', 'example']);
  });

  it('two levels', async () => {
    expect(matchIds(await search(fhir, 'MedicationRequest?subject:Patient.general-practitioner:Practitioner.name=alpha'))).toEqual(['mr1', 'mr3']);
    expect(matchIds(await search(fhir, 'MedicationDispense?prescription.subject.name=peter'))).toEqual(['md1']);
    expect(matchIds(await search(fhir, 'MedicationDispense?prescription.requester:Practitioner.family=beta'))).toEqual(['md1']);
  });

  it('combines with other criteria and with OR values', async () => {
    expect(matchIds(await search(fhir, 'MedicationRequest?subject:Patient.name=peter&status=completed'))).toEqual(['mr3']);
    expect(matchIds(await search(fhir, 'MedicationRequest?subject:Patient.given=peter,paul&requester=Practitioner/doc-a'))).toEqual(['mr2', 'mr3']);
  });

  it('reports a chain through a non-reference or unknown parameter, and ignores it', async () => {
    const bundle = await search(fhir, 'MedicationRequest?status.name=x&subject:Patient.nonsense=y&_id=mr1');
    expect(matchIds(bundle)).toEqual(['mr1']);
    const outcome = bundle.entry!.find((e) => e.search?.mode === 'outcome')!.resource as { issue: unknown[] };
    expect(outcome.issue).toHaveLength(2);
  });
});

describe('_has (reverse chaining)', () => {
  it('selects resources referenced by matching resources', async () => {
    expect(matchIds(await search(fhir, 'Patient?_has:MedicationRequest:subject:status=active'))).toEqual(['pat1', 'pt-peter']);
    expect(matchIds(await search(fhir, 'Practitioner?_has:MedicationRequest:requester:status=completed&identifier=' + encodeURIComponent(`${SYS}|`)))).toEqual(['doc-a']);
  });

  it('nests', async () => {
    expect(matchIds(await search(fhir, 'Practitioner?_has:Patient:general-practitioner:_has:MedicationRequest:subject:status=active'))).toEqual(['doc-a']);
  });

  it('reports a malformed _has', async () => {
    const res = await fhir.get('Patient?_has:MedicationRequest:status=active', { Prefer: 'handling=strict' });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

describe('_include and _revinclude', () => {
  it('_include adds the referenced resources as include entries, not counted in the total', async () => {
    const bundle = await search(fhir, 'MedicationRequest?_id=mr1,mr3&_include=MedicationRequest:subject&_include=MedicationRequest:requester:Practitioner');
    expect(matchIds(bundle)).toEqual(['mr1', 'mr3']);
    expect(includeRefs(bundle)).toEqual(['Patient/pt-peter', 'Practitioner/doc-a', 'Practitioner/doc-b']);
    expect(bundle.total).toBe(2);
  });

  it('_include=* follows every reference parameter', async () => {
    const bundle = await search(fhir, 'Appointment?_id=ap1&_include=*');
    expect(includeRefs(bundle)).toEqual(['Patient/pt-peter', 'Practitioner/doc-a']);
  });

  it(':iterate follows references of included resources', async () => {
    const once = await search(fhir, 'MedicationDispense?_id=md1&_include=MedicationDispense:prescription&_include=MedicationRequest:subject');
    expect(includeRefs(once)).toEqual(['MedicationRequest/mr1']);
    const iterated = await search(fhir, 'MedicationDispense?_id=md1&_include=MedicationDispense:prescription&_include:iterate=MedicationRequest:subject&_include:iterate=Patient:general-practitioner');
    expect(includeRefs(iterated)).toEqual(['MedicationRequest/mr1', 'Patient/pt-peter', 'Practitioner/doc-a']);
  });

  it('_revinclude adds the resources referencing the matches; :iterate and * too', async () => {
    const rev = await search(fhir, 'Patient?_id=pt-peter&_revinclude=MedicationRequest:subject');
    expect(includeRefs(rev)).toEqual(['MedicationRequest/mr1', 'MedicationRequest/mr3']);
    const iterated = await search(fhir, 'Patient?_id=pt-peter&_revinclude=MedicationRequest:subject&_revinclude:iterate=MedicationDispense:prescription');
    expect(includeRefs(iterated)).toEqual(['MedicationDispense/md1', 'MedicationRequest/mr1', 'MedicationRequest/mr3']);
    const star = await search(fhir, 'Patient?_id=pt-peter&_revinclude=*');
    expect(includeRefs(seeded(star))).toEqual(['Appointment/ap1', 'MedicationDispense/md1', 'MedicationRequest/mr1', 'MedicationRequest/mr3']);
    // `*` follows AuditEvent's references too: the server's audit trail of pt-peter's record (its seeding, these searches).
    const trail = (star.entry ?? []).filter(isTrail);
    expect(trail.length).toBeGreaterThan(0);
    // Named plainly, or by the version written (issue 14: a Patient is named once per event).
    expect(trail.every((e) => /"Patient\/pt-peter(\/_history\/[^"]+)?"/.test(JSON.stringify(e.resource)))).toBe(true);
  });

  it('_include follows what the matches reference now, read from the search index (issue 13)', async () => {
    await put(fhir, { resourceType: 'Patient', id: 'pt-mover', name: [{ family: 'Mover' }], generalPractitioner: [{ reference: 'Practitioner/doc-a' }] });
    expect(includeRefs(await search(fhir, 'Patient?_id=pt-mover&_include=Patient:general-practitioner'))).toEqual(['Practitioner/doc-a']);
    // Updated: the earlier version's reference is gone; this server's absolute URL counts, another server's does not.
    const generalPractitioner = [{ reference: `${server.fhirUrl}/Practitioner/doc-b` }, { reference: 'http://elsewhere.example/fhir/Practitioner/doc-a' }];
    await put(fhir, { resourceType: 'Patient', id: 'pt-mover', name: [{ family: 'Mover' }], generalPractitioner });
    expect(includeRefs(await search(fhir, 'Patient?_id=pt-mover,pt-peter&_include=Patient:general-practitioner'))).toEqual(['Practitioner/doc-a', 'Practitioner/doc-b']);
    expect(includeRefs(await search(fhir, 'Patient?_id=pt-mover&_include=Patient:general-practitioner'))).toEqual(['Practitioner/doc-b']);
    // The AuditEvents of those requests, whose index rows the store writes in batches, include the patient at once.
    const trail = await search(fhir, 'AuditEvent?entity=Patient/pt-mover&_include=AuditEvent:patient&_count=1');
    expect(includeRefs(trail)).toEqual(['Patient/pt-mover']);
  });

  it('never repeats a resource: matches are not included again, includes appear once', async () => {
    const bundle = await search(fhir, 'Patient?_id=pt-peter,pt-paul&_revinclude=MedicationRequest:subject&_include:iterate=MedicationRequest:subject');
    const refs = bundle.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
    expect(new Set(refs).size).toBe(refs.length);
    expect(matchIds(bundle)).toEqual(['pt-paul', 'pt-peter']);
    expect(includeRefs(bundle)).toEqual(['MedicationRequest/mr1', 'MedicationRequest/mr2', 'MedicationRequest/mr3']);
  });

  it('includes of the official examples: the 40 requests of pat1 include each referenced resource once', async () => {
    const bundle = await search(fhir, 'MedicationRequest?subject=Patient/pat1&_count=100&_include=MedicationRequest:subject&_include=MedicationRequest:requester');
    expect(matchIds(bundle)).toHaveLength(40);
    expect(includeRefs(bundle)).toEqual(['Patient/pat1', 'Practitioner/f007']);
    // `*` also follows performer (f204) and intended-dispenser (f001) of medrx0301.
    const star = await search(fhir, 'MedicationRequest?subject=Patient/pat1&_count=100&_include=*');
    expect(includeRefs(star)).toEqual(['Patient/pat1', 'Practitioner/f001', 'Practitioner/f007', 'Practitioner/f204']);
  });

  it('reports an include of an unknown parameter', async () => {
    const res = await fhir.get('MedicationRequest?_include=MedicationRequest:nonsense', { Prefer: 'handling=strict' });
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('bad-request');
  });
});

describe('sub-query bound', () => {
  // 1001 patients named Multitude, all but many-7 with doc-a as their practitioner (many-7: doc-b); two have prescriptions.
  beforeAll(async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `many-${i}`);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(ids.slice(i, i + 50).map((id) => put(fhir, { resourceType: 'Patient', id, name: [{ family: 'Multitude' }], generalPractitioner: [{ reference: `Practitioner/${id === 'many-7' ? 'doc-b' : 'doc-a'}` }] })));
    }
    await put(fhir, medicationRequest('mr-many-3', 'many-3', 'doc-b', 'active'));
    await put(fhir, medicationRequest('mr-many-4', 'many-4', 'doc-b', 'completed'));
  }, 60_000);

  it('a chain or _has matching too many resources, with nothing else to narrow it, is a clear 400, even when lenient', async () => {
    const chain = await fhir.get('MedicationRequest?subject:Patient.family=multitude');
    expect(chain.status).toBe(400);
    expect(errorCode(chain.body)).toBe('bad-request');
    expect(chain.body.issue[0].diagnostics).toMatch(/more than 1000/);
    const has = await fhir.get('Practitioner?_has:Patient:general-practitioner:family=multitude');
    expect(has.status).toBe(400);
    expect(has.body.issue[0].diagnostics).toMatch(/more than 1000/);
    // Other criteria that match past the bound too do not narrow it.
    const both = await fhir.get('Patient?family=multitude&link:Patient.family=multitude');
    expect(both.status).toBe(400);
    expect(both.body.issue[0].diagnostics).toMatch(/more than 1000/);
  });

  it('a chain past the bound is answered for what the other criteria match', async () => {
    // Active prescriptions are few: the chain is asked of the patients they name.
    const active = await search(fhir, 'MedicationRequest?subject:Patient.family=multitude&status=active');
    expect(matchIds(active)).toEqual(['mr-many-3']);
    const both = await search(fhir, 'MedicationRequest?subject:Patient.family=multitude&requester=Practitioner/doc-b&_total=accurate');
    expect(matchIds(both)).toEqual(['mr-many-3', 'mr-many-4']);
    expect(both.total).toBe(2);
    expect(matchIds(await search(fhir, 'MedicationRequest?subject:Patient.family=multitude&requester=Practitioner/doc-a'))).toEqual([]);
    // And it pages like any search: the criteria are compiled again for the next page.
    const first = await search(fhir, 'MedicationRequest?subject:Patient.family=multitude&requester=Practitioner/doc-b&_count=1');
    const next = first.link?.find((l) => l.relation === 'next')?.url;
    expect(next).toBeDefined();
    const second = await search(fhir, next!.slice(next!.indexOf('/fhir/') + 6));
    expect([...matchIds(first), ...matchIds(second)].sort()).toEqual(['mr-many-3', 'mr-many-4']);
  });

  it('a _has is answered for what the other criteria match, however many its own sub-query matches', async () => {
    const practitioners = (id: string): string => 'Practitioner?_has:Patient:general-practitioner:family=multitude&identifier=' + encodeURIComponent(`${SYS}|${id}`);
    // doc-b is named by one of them, doc-a by 1000, both by 1001 (past the bound): the references
    // to the candidates are read as distinct values, however many patients hold them.
    expect(matchIds(await search(fhir, practitioners('doc-b')))).toEqual(['doc-b']);
    expect(matchIds(await search(fhir, practitioners('doc-a')))).toEqual(['doc-a']);
    expect(matchIds(await search(fhir, practitioners('')))).toEqual(['doc-a', 'doc-b']);
    expect(matchIds(await search(fhir, 'Practitioner?_has:Patient:general-practitioner:family=multitude&_id=doc-a,doc-b,f007'))).toEqual(['doc-a', 'doc-b']);
  });
});

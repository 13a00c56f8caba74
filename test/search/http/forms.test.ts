import type { Bundle, CapabilityStatement } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, fhirClient, type FhirClient } from '../../support/fhir-client.js';
import { startServer, type TestServer } from '../../support/server.js';
import { includeRefs, isTrail, link, matchIds, orderedIds, outcomeDiagnostics, put, search, seedCorpus, seeded } from './support.js';

let server: TestServer;
let fhir: FhirClient;
let seededAt: string;
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

beforeAll(async () => {
  // The official examples are historical records (dispenses of other drugs, of stopped orders): loaded as data, without the workflow rules (issue 17).
  server = await startServer({ FHIR_WORKFLOW_RULES: 'false' });
  fhir = fhirClient(server.fhirUrl);
  await seedCorpus(fhir);
  seededAt = new Date().toISOString();
});
afterAll(() => server.destroy());

/** Every page of a search or operation, following `next` links. */
async function walk(first: string): Promise<Bundle[]> {
  const pages: Bundle[] = [];
  for (let next: string | undefined = first; next; next = link(pages.at(-1)!, 'next', server.fhirUrl)) {
    pages.push(await search(fhir, next));
    if (pages.length > 50) throw new Error('paging does not end');
  }
  return pages;
}

/** `Type/id` of the entries in `mode`, sorted; without the server's own AuditEvents unless `trail`. */
const refsOf = (pages: Bundle[], mode: string, trail = false): string[] =>
  pages
    .flatMap((p) => p.entry ?? [])
    .filter((e) => e.search?.mode === mode && (trail || !isTrail(e)))
    .map((e) => `${e.resource!.resourceType}/${e.resource!.id}`)
    .sort();

describe('POST [type]/_search', () => {
  it('gives the same results as GET, with form parameters merged with the URL', async () => {
    const get = await search(fhir, 'MedicationRequest?subject=Patient/pat1&status=active&_sort=-_id&_count=5');
    const post = await fhir.request<Bundle>('POST', 'MedicationRequest/_search?_count=5', { raw: 'subject=Patient%2Fpat1&status=active&_sort=-_id', headers: FORM });
    expect(post.status).toBe(200);
    expect(orderedIds(post.body)).toEqual(orderedIds(get));
    expect(post.body.total).toBe(get.total);
    // The links are GET URLs with every applied parameter, so paging continues with GET.
    expect(link(post.body, 'next', server.fhirUrl)).toContain('status=active');
    const next = await search(fhir, link(post.body, 'next', server.fhirUrl)!);
    expect(orderedIds(next)).toEqual(orderedIds(await search(fhir, link(get, 'next', server.fhirUrl)!)));
  });

  it('accepts an empty body, and refuses a body that is not a form', async () => {
    const empty = await fhir.request<Bundle>('POST', 'Patient/_search?gender=female', { raw: '', headers: FORM });
    expect(empty.status).toBe(200);
    expect(matchIds(empty.body)).toEqual(matchIds(await search(fhir, 'Patient?gender=female')));
    const json = await fhir.request('POST', 'Patient/_search', { body: { gender: 'female' } });
    expect(json.status).toBe(415);
    expect(json.body.resourceType).toBe('OperationOutcome');
  });
});

describe('compartment search', () => {
  it('Patient/[id]/[type] equals the search on the compartment parameters, with further criteria', async () => {
    const compartment = await walk('Patient/pat1/MedicationRequest?_count=15');
    expect(refsOf(compartment, 'match')).toHaveLength(40);
    expect(link(compartment[0], 'self', server.fhirUrl)).toMatch(/^Patient\/pat1\/MedicationRequest\?/);
    const completed = await search(fhir, 'Patient/pat1/MedicationDispense?status=completed&_count=50');
    expect(matchIds(completed)).toEqual(matchIds(await search(fhir, 'MedicationDispense?patient=pat1&status=completed&_count=50')));
  });

  it('ORs the compartment parameters of a type (Appointment actor, AuditEvent patient)', async () => {
    expect(matchIds(await search(fhir, 'Patient/example/Appointment'))).toEqual(['2docs', 'example', 'examplereq']);
    expect(matchIds(await search(fhir, 'Patient/example/Consent'))).toEqual(['consent-example-pkb']);
    const audits = await search(fhir, 'Patient/example/AuditEvent?_count=1000');
    expect(matchIds(seeded(audits))).toHaveLength(2);
    // The server's own trail of the patient's record (its seeding) is in the compartment as well, and only that.
    const trail = (audits.entry ?? []).filter(isTrail);
    expect(trail.length).toBeGreaterThan(0);
    // Named plainly, or by the version written (issue 14: a Patient is named once per event).
    expect(trail.every((e) => /"Patient\/example(\/_history\/[^"]+)?"/.test(JSON.stringify(e.resource)))).toBe(true);
    expect(matchIds(await search(fhir, 'Patient/example/Patient'))).toEqual(['example']);
  });

  it('refuses types outside the compartment, unknown patients and other compartments', async () => {
    const practitioner = await fhir.get('Patient/example/Practitioner');
    expect(practitioner.status).toBe(400);
    expect(errorCode(practitioner.body)).toBe('bad-request');
    expect((await fhir.get('Patient/nobody/MedicationRequest')).status).toBe(404);
    const other = await fhir.get('Practitioner/f007/MedicationRequest');
    expect(other.status).toBe(501);
    expect(other.body.resourceType).toBe('OperationOutcome');
  });
});

describe('Patient/[id]/$everything', () => {
  it('returns the patient and its compartment, plus the practitioners they reference, paged', async () => {
    const pages = await walk('Patient/example/$everything?_count=2');
    expect(pages.length).toBeGreaterThan(2);
    const matches = refsOf(pages, 'match');
    expect(matches).toEqual(expect.arrayContaining(['Patient/example', 'Appointment/2docs', 'Appointment/example', 'Appointment/examplereq', 'Consent/consent-example-pkb']));
    // The audit trail is in the compartment but is not the patient's record: $everything leaves it out (issue 15).
    expect(refsOf(pages, 'match', true).filter((r) => r.startsWith('AuditEvent/'))).toEqual([]);
    expect(matches).toHaveLength(5);
    const all = refsOf(pages, 'match', true);
    expect(new Set(all).size).toBe(all.length);
    expect(pages[0].total).toBe(5);
    expect(refsOf(pages, 'include')).toEqual(expect.arrayContaining(['Practitioner/example', 'Practitioner/f202']));
  });

  it('_type restricts the types; _since the last update', async () => {
    const typed = await search(fhir, 'Patient/example/$everything?_type=Patient,Appointment');
    expect(includeRefs(typed)).toEqual([]);
    expect(refsOf([typed], 'match')).toEqual(['Appointment/2docs', 'Appointment/example', 'Appointment/examplereq', 'Patient/example']);
    await put(fhir, {
      resourceType: 'Appointment',
      id: 'later',
      status: 'proposed',
      participant: [{ actor: { reference: 'Patient/example' }, status: 'needs-action' }],
    });
    const since = await search(fhir, `Patient/example/$everything?_since=${encodeURIComponent(seededAt)}`);
    expect(refsOf([since], 'match')).toEqual(['Appointment/later']);
  });

  it('answers 404 for an unknown patient and 501 for other instance operations', async () => {
    expect((await fhir.get('Patient/nobody/$everything')).status).toBe(404);
    const op = await fhir.get('Patient/example/$nonsense');
    expect(op.status).toBe(501);
    expect(op.body.resourceType).toBe('OperationOutcome');
  });
});

describe('lenient and strict handling', () => {
  it('lenient (default): unknown and malformed parameters are ignored and reported; self shows what applied', async () => {
    const bundle = await search(fhir, 'Patient?gender=female&foo=bar&birthdate=notadate&gender:exact=x&_count=abc');
    expect(matchIds(bundle)).toEqual(matchIds(await search(fhir, 'Patient?gender=female')));
    const diagnostics = outcomeDiagnostics(bundle).join('\n');
    for (const name of ['foo', 'birthdate', 'gender:exact', '_count']) expect(diagnostics).toContain(`'${name}'`);
    expect(bundle.entry!.at(-1)!.search?.mode).toBe('outcome');
    expect(link(bundle, 'self', server.fhirUrl)).toBe('Patient?gender=female&_count=20');
  });

  it('Prefer: handling=lenient is the same as no preference', async () => {
    const bundle = await search(fhir, 'Patient?foo=bar', { Prefer: 'handling=lenient' });
    expect(outcomeDiagnostics(bundle).join()).toContain('foo');
  });

  it('strict: any parameter that cannot be applied is a 400 naming each one', async () => {
    const res = await fhir.get('Patient?foo=bar&birthdate=notadate', { Prefer: 'handling=strict' });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(errorCode(res.body)).toBe('bad-request');
    const text = JSON.stringify(res.body.issue);
    expect(text).toContain("'foo'");
    expect(text).toContain("'birthdate'");
    expect((await fhir.get('Patient?gender=female', { Prefer: 'handling=strict' })).status).toBe(200);
  });

  it('every error is an OperationOutcome', async () => {
    for (const [path, status] of [
      ['Nonsense?name=x', 404],
      ['Patient?_cursor=garbage', 400],
      ['Patient/example/$everything?_cursor=garbage', 400],
    ] as const) {
      const res = await fhir.get(path);
      expect(res.status, path).toBe(status);
      expect(res.body.resourceType, path).toBe('OperationOutcome');
    }
  });
});

describe('write-time extraction', () => {
  it('an update re-indexes the resource and a delete removes it from every search', async () => {
    await put(fhir, { resourceType: 'Patient', id: 'moving', name: [{ family: 'Before' }] });
    expect(matchIds(await search(fhir, 'Patient?family=before'))).toEqual(['moving']);
    await put(fhir, { resourceType: 'Patient', id: 'moving', name: [{ family: 'After' }] });
    expect(matchIds(await search(fhir, 'Patient?family=before'))).toEqual([]);
    expect(matchIds(await search(fhir, 'Patient?family=after'))).toEqual(['moving']);
    expect((await fhir.delete('Patient/moving')).status).toBeLessThan(300);
    expect(matchIds(await search(fhir, 'Patient?family=after'))).toEqual([]);
    expect(matchIds(await search(fhir, 'Patient?_id=moving'))).toEqual([]);
  });
});

describe('CapabilityStatement', () => {
  it('lists each type’s search parameters, includes, revincludes and Patient $everything', async () => {
    const cs = (await fhir.get<CapabilityStatement>('metadata')).body;
    const patient = cs.rest![0].resource!.find((r) => r.type === 'Patient')!;
    expect(patient.interaction!.map((i) => i.code)).toContain('search-type');
    expect(patient.searchParam).toContainEqual({ name: 'family', type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/individual-family' });
    expect(patient.searchParam!.map((p) => p.name)).toEqual(expect.arrayContaining(['_id', '_lastUpdated', '_tag', '_profile', '_security', 'birthdate']));
    expect(patient.searchInclude).toContain('Patient:general-practitioner');
    expect(patient.searchRevInclude).toContain('MedicationRequest:subject');
    expect(patient.operation!.map((o) => o.name)).toContain('everything');
    const practitioner = cs.rest![0].resource!.find((r) => r.type === 'Practitioner')!;
    expect(practitioner.operation!.map((o) => o.name)).not.toContain('everything');
  });
});

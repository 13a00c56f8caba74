import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient, type FhirClient } from '../../support/fhir-client.js';
import { startServer, type TestServer } from '../../support/server.js';
import { link, orderedIds, outcomeDiagnostics, put, search } from './support.js';

const SYS = 'urn:fhirgate:test:results';
const SCOPE = `identifier=${encodeURIComponent(`${SYS}|`)}`;
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

let server: TestServer;
let fhir: FhirClient;

// 12 patients: families A..D (3 each), birth years spread, one without a birth date.
const PATIENTS: Array<Patient & { id: string }> = Array.from({ length: 12 }, (_, i) => ({
  resourceType: 'Patient',
  id: `r${String(i).padStart(2, '0')}`,
  identifier: [{ system: SYS, value: `r${i}` }],
  name: [{ family: `Fam${'ABCD'[i % 4]}`, given: [`G${i}`] }],
  gender: i % 2 === 0 ? 'female' : 'male',
  ...(i === 5 ? {} : { birthDate: `${1950 + ((i * 7) % 12)}-01-01` }),
  text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">Patient ${i}</div>` },
  telecom: [{ system: 'phone', value: `555-${i}` }],
}));

beforeAll(async () => {
  server = await startServer({ FHIR_DEFAULT_PAGE_SIZE: '5', FHIR_MAX_PAGE_SIZE: '50' });
  fhir = fhirClient(server.fhirUrl);
  for (const p of PATIENTS) await put(fhir, p);
});
afterAll(() => server.destroy());

/** Every page of a search, following `next` links. */
async function walk(first: string): Promise<Bundle[]> {
  const pages: Bundle[] = [];
  let next: string | undefined = first;
  while (next) {
    const page = await search(fhir, next);
    pages.push(page);
    next = link(page, 'next', server.fhirUrl);
    if (pages.length > 100) throw new Error('paging does not end');
  }
  return pages;
}

describe('_sort', () => {
  it('sorts by several keys, - descending, with _id as the final tiebreaker', async () => {
    const bundle = await search(fhir, `Patient?${SCOPE}&_sort=family,-birthdate&_count=50`);
    const expected = [...PATIENTS]
      .sort((a, b) => a.name![0].family!.localeCompare(b.name![0].family!) || (b.birthDate ?? '').localeCompare(a.birthDate ?? '') || a.id.localeCompare(b.id))
      .map((p) => p.id);
    expect(orderedIds(bundle)).toEqual(expected);
    expect(bundle.link?.find((l) => l.relation === 'self')?.url).toContain('_sort=family%2C-birthdate');
  });

  it('sorts by _id and _lastUpdated; a missing value sorts first ascending, last descending', async () => {
    const byId = orderedIds(await search(fhir, `Patient?${SCOPE}&_sort=-_id&_count=50`));
    expect(byId).toEqual(PATIENTS.map((p) => p.id).reverse());
    const byUpdate = orderedIds(await search(fhir, `Patient?${SCOPE}&_sort=_lastUpdated&_count=50`));
    expect(byUpdate).toEqual(PATIENTS.map((p) => p.id));
    const asc = orderedIds(await search(fhir, `Patient?${SCOPE}&_sort=birthdate&_count=50`));
    expect(asc[0]).toBe('r05');
    const desc = orderedIds(await search(fhir, `Patient?${SCOPE}&_sort=-birthdate&_count=50`));
    expect(desc.at(-1)).toBe('r05');
  });

  it('pages through a multi-key sort with missing values without losing or repeating anyone', async () => {
    const pages = await walk(`Patient?${SCOPE}&_sort=-birthdate,family&_count=2`);
    const all = await search(fhir, `Patient?${SCOPE}&_sort=-birthdate,family&_count=50`);
    expect(pages.flatMap(orderedIds)).toEqual(orderedIds(all));
  });

  it('reports an unknown sort parameter and sorts by the rest', async () => {
    const bundle = await search(fhir, `Patient?${SCOPE}&_sort=nonsense,-_id&_count=50`);
    expect(orderedIds(bundle)[0]).toBe('r11');
    expect(outcomeDiagnostics(bundle).join()).toContain('nonsense');
    expect(bundle.link?.find((l) => l.relation === 'self')?.url).toContain('_sort=-_id');
  });
});

describe('_count and paging', () => {
  it('defaults to FHIR_DEFAULT_PAGE_SIZE and caps at FHIR_MAX_PAGE_SIZE', async () => {
    expect(orderedIds(await search(fhir, `Patient?${SCOPE}`))).toHaveLength(5);
    const capped = await search(fhir, `Patient?${SCOPE}&_count=500`);
    expect(orderedIds(capped)).toHaveLength(12);
    expect(link(capped, 'self', server.fhirUrl)).toContain('_count=50');
  });

  it('links first, next and previous; previous walks back to the same pages', async () => {
    const pages = await walk(`Patient?${SCOPE}&_count=5`);
    expect(pages.map((p) => orderedIds(p).length)).toEqual([5, 5, 2]);
    expect(link(pages[0], 'previous', server.fhirUrl)).toBeUndefined();
    expect(link(pages[2], 'next', server.fhirUrl)).toBeUndefined();
    const back = await search(fhir, link(pages[2], 'previous', server.fhirUrl)!);
    expect(orderedIds(back)).toEqual(orderedIds(pages[1]));
    const first = await search(fhir, link(pages[2], 'first', server.fhirUrl)!);
    expect(orderedIds(first)).toEqual(orderedIds(pages[0]));
  });

  it('_count=0 returns only the total', async () => {
    const bundle = await search(fhir, `Patient?${SCOPE}&_count=0`);
    expect(bundle.total).toBe(12);
    expect(bundle.entry ?? []).toHaveLength(0);
  });

  it('stays correct under concurrent inserts: every resource present at the start is seen exactly once', async () => {
    const tag = `run-${Date.now()}`;
    const base = Array.from({ length: 30 }, (_, i): Patient & { id: string } => ({
      resourceType: 'Patient',
      id: `c-${tag}-${String(i).padStart(3, '0')}`,
      meta: { tag: [{ system: 'urn:paging', code: tag }] },
      name: [{ family: `Concurrent${i % 7}` }],
    }));
    for (const p of base) await put(fhir, p);
    let inserting = true;
    let inserted = 0;
    const writer = (async () => {
      while (inserting) {
        // New ids land before, between and after the ones being paged.
        const id = `c-${tag}-${String(Math.floor(Math.random() * 30)).padStart(3, '0')}-${inserted++}`;
        await put(fhir, { resourceType: 'Patient', id, meta: { tag: [{ system: 'urn:paging', code: tag }] }, name: [{ family: `Concurrent${inserted % 7}` }] });
      }
    })();
    try {
      for (const sort of ['', '&_sort=family', '&_sort=-_lastUpdated']) {
        const pages = await walk(`Patient?_tag=${encodeURIComponent(`urn:paging|${tag}`)}&_count=4${sort}`);
        const seen = pages.flatMap(orderedIds);
        expect(new Set(seen).size, `duplicates with ${sort}`).toBe(seen.length);
        for (const p of base) expect(seen, `gap with ${sort}`).toContain(p.id);
      }
    } finally {
      inserting = false;
      await writer;
    }
    expect(inserted).toBeGreaterThan(0);
  });

  it('refuses a tampered cursor with a 400 OperationOutcome', async () => {
    const res = await fhir.get(`Patient?${SCOPE}&_cursor=not-a-cursor`);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

describe('_total', () => {
  it('is accurate by default, also on later pages', async () => {
    const pages = await walk(`Patient?${SCOPE}&gender=female&_count=4`);
    expect(pages.map((p) => p.total)).toEqual([6, 6]);
  });

  it('none leaves it out; estimate and accurate give the count', async () => {
    expect((await search(fhir, `Patient?${SCOPE}&_total=none`)).total).toBeUndefined();
    expect((await search(fhir, `Patient?${SCOPE}&_total=estimate`)).total).toBe(12);
    expect((await search(fhir, `Patient?${SCOPE}&_total=accurate`)).total).toBe(12);
  });
});

describe('_summary and _elements', () => {
  it('_summary=count: the total and no entries', async () => {
    const bundle = await search(fhir, `Patient?${SCOPE}&_summary=count`);
    expect(bundle.total).toBe(12);
    expect(bundle.entry ?? []).toHaveLength(0);
  });

  it('a Bundle without entries has no entry array (JSON arrays are never empty), pretty-printed or not', async () => {
    for (const query of [`Patient?${SCOPE}&_summary=count`, `Patient?${SCOPE}&_count=0`, 'Patient?family=NoSuchFamily', 'Patient?family=NoSuchFamily&_pretty=true']) {
      const res = await fhir.get<Bundle>(query);
      expect(res.status, query).toBe(200);
      expect(res.body.resourceType).toBe('Bundle');
      expect(Object.keys(res.body), query).not.toContain('entry');
      expect(res.text, query).not.toContain('"entry"');
    }
  });

  it('_summary=true keeps summary elements only, tagged SUBSETTED', async () => {
    const bundle = await search(fhir, `Patient?${SCOPE}&_id=r00&_summary=true`);
    const p = bundle.entry![0].resource as Patient;
    expect(p.name).toBeDefined();
    expect(p.birthDate).toBeDefined();
    expect(p.text).toBeUndefined();
    expect(p.meta?.tag).toContainEqual(expect.objectContaining(SUBSETTED));
  });

  it('_summary=text keeps text, id and meta; _summary=data drops text', async () => {
    const text = (await search(fhir, `Patient?${SCOPE}&_id=r00&_summary=text`)).entry![0].resource as Patient;
    expect(Object.keys(text).sort()).toEqual(['id', 'meta', 'resourceType', 'text']);
    const data = (await search(fhir, `Patient?${SCOPE}&_id=r00&_summary=data`)).entry![0].resource as Patient;
    expect(data.text).toBeUndefined();
    expect(data.telecom).toBeDefined();
    expect(data.meta?.tag).toContainEqual(expect.objectContaining(SUBSETTED));
  });

  it('_elements keeps the named elements (plus id and meta), tagged SUBSETTED', async () => {
    const p = (await search(fhir, `Patient?${SCOPE}&_id=r00&_elements=gender,telecom`)).entry![0].resource as Patient;
    expect(Object.keys(p).sort()).toEqual(['gender', 'id', 'meta', 'resourceType', 'telecom']);
    expect(p.meta?.tag).toContainEqual(expect.objectContaining(SUBSETTED));
  });

  it('_summary=false returns resources whole and untagged', async () => {
    const p = (await search(fhir, `Patient?${SCOPE}&_id=r00&_summary=false`)).entry![0].resource as Patient;
    expect(p.text).toBeDefined();
    expect(p.meta?.tag ?? []).not.toContainEqual(expect.objectContaining(SUBSETTED));
  });
});

describe('the resources of a page (issue 13: each written once, a resource needing no decoding sent as stored)', () => {
  it('are the resources a read returns: decrypted Patients, Practitioners as stored, included ones too', async () => {
    const practitioner = { resourceType: 'Practitioner' as const, id: 'r-doc', name: [{ family: 'Doc "Quote"', given: ['\u00c9mile'] }], active: true };
    await put(fhir, practitioner);
    await put(fhir, { ...PATIENTS[0], id: 'r-gp', identifier: [{ system: SYS, value: 'r-gp' }], generalPractitioner: [{ reference: 'Practitioner/r-doc' }] });
    const page = await search(fhir, `Patient?${SCOPE}&_count=50&_include=Patient:general-practitioner`);
    expect(page.entry!.map((e) => e.search?.mode)).toContain('include');
    for (const entry of page.entry!) {
      const read = await fhir.get(`${entry.resource!.resourceType}/${entry.resource!.id}`);
      expect(entry.resource).toEqual(read.body);
    }
    const gp = page.entry!.find((e) => e.resource!.id === 'r-gp')!.resource as Patient;
    expect(gp.telecom).toEqual(PATIENTS[0].telecom);
  });
});

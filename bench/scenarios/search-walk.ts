import type { FhirApi } from './search-load.js';

export interface WalkResult {
  /** The first page's path. */
  start: string;
  pages: number;
  results: number;
  seconds: number;
  /** Per page, in milliseconds. */
  p50: number;
  p99: number;
  firstPageMs: number;
  lastPageMs: number;
}

/** Entries per page of the walk. */
export const WALK_PAGE_SIZE = 100;

/**
 * Follows `next` links from `Patient?_count=100` until `results` patients have been read, one page
 * at a time as a client exporting a list would, and times every page. The links are the server's
 * own (keyset cursors), used exactly as given.
 */
export async function pagedWalk(api: FhirApi, results: number): Promise<WalkResult> {
  const start = `/fhir/Patient?_count=${WALK_PAGE_SIZE}`;
  let url: string | undefined = api.origin + start;
  const times: number[] = [];
  let read = 0;
  const began = performance.now();
  while (url && read < results) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { Accept: 'application/fhir+json', Authorization: api.authorization, Prefer: 'handling=strict' } });
    const text = await res.text();
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`paged walk: page ${times.length} (${url}) answered ${res.status}: ${text.slice(0, 2_000)}`);
    const bundle = JSON.parse(text) as { entry?: Array<{ search?: { mode?: string } }>; link?: Array<{ relation: string; url: string }> };
    read += (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').length;
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  const seconds = (performance.now() - began) / 1000;
  if (read < results) throw new Error(`paged walk: the links ended after ${read} results, ${results} expected`);
  const sorted = [...times].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  return { start, pages: times.length, results: read, seconds, p50: at(0.5), p99: at(0.99), firstPageMs: times[0], lastPageMs: times[times.length - 1] };
}

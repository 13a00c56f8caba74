import os from 'node:os';
import type autocannon from 'autocannon';
import { startFhirGate } from '../lib/fhirgate.js';
import { DEFAULT_SEED, patientId } from '../lib/generate.js';
import { measure, type Measurement } from '../lib/load.js';
import { median } from '../lib/median.js';
import type { Service } from '../lib/processes.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { fixed } from '../lib/table.js';
import { loadPatients, type FhirApi } from './search-load.js';
import { READ_QUERY, searchQueries, type SearchQuery } from './search-queries.js';
import { renderSearchReport, sizeLabel, type MemoryResult, type QueryCell, type RestartResult, type SizeRun } from './search-report.js';
import { pagedWalk } from './search-walk.js';

/**
 * Connections per measurement: one. A search is CPU work on the server's single event loop, so
 * further connections add no throughput, only queueing (p50 ≈ connections × one search). Worse, at
 * 100k patients a search holds the loop for seconds, and a request queued behind others for more
 * than Node's 5 s keep-alive timeout finds its connection closed by the server (seen at 4
 * connections: ECONNRESET). With one connection p50 and p99 are the time of one search, and they
 * compare across sizes.
 */
const CONNECTIONS = 1;
/** Each connection completes at least this many requests per cell: a cell is lengthened for slow queries. */
const MIN_REQUESTS_PER_CONNECTION = 5;
/** How often a cell left thin by a server pause is measured again (each time twice as long). */
const MAX_REMEASURES = 2;
const DEFAULT_SIZES = [1_000, 10_000, 100_000];
/**
 * The data set is a hospital's history (completed prescriptions with their dispenses, past
 * appointments): loaded as an import, with the workflow rules off, which would rightly refuse
 * today a dispense of a prescription completed since (the rules are measured by `workflow`).
 */
// MALLOC_ARENA_MAX as `npm start` and the Docker image set it (README "Storage", Memory).
export const LOAD_ENV = { FHIR_WORKFLOW_RULES: 'false', MALLOC_ARENA_MAX: '2' };
const QUICK_SIZES = [1_000, 5_000];
// Lets the store finish what a cell queued before the next cell starts.
const SETTLE_MS = 500;

export const search: Scenario = {
  name: 'search',
  description: 'searches of issue 3 (family, identifier, active prescriptions, appointments, _include, a paged walk) at growing data sizes',
  async run(context) {
    const { settings, processes, log } = context;
    const sizes = readSizes(process.env.BENCH_SEARCH_SIZES, settings.quick);
    log(`sizes: ${sizes.join(', ')} patients; starting FhirGate`);
    const { service, authorization, dataDir } = await startFhirGate(processes, { clientId: 'bench-search', env: LOAD_ENV });
    const api: FhirApi = { origin: service.origin, authorization };
    const runs: SizeRun[] = [];
    let loaded = 0;
    for (const patients of sizes) {
      const loadBefore = os.loadavg()[0];
      const load = await guarded(service, () => loadPatients(api, DEFAULT_SEED, loaded, patients, log));
      loaded = patients;
      log(`${patients} patients: loaded ${load.resources} resources in ${fixed(load.seconds, 0)} s`);
      const cells: QueryCell[] = [];
      // Each search between two reads by id (the first query), its yardstick (search-report.ts `perRead`).
      let read: { query: SearchQuery; before: Measurement } | undefined;
      for (const query of searchQueries(DEFAULT_SEED, patients)) {
        const cell = await guarded(service, () => measureQuery(context, service, api, query, patients));
        cells.push(cell);
        if (query.name === READ_QUERY) read = { query, before: cell.measurement };
        else if (read) {
          const { query: readQuery, before } = read;
          const after = await guarded(service, () => measureRead(context, service, api, readQuery, patients));
          cell.readsAround = [before, after];
          read = { query: readQuery, before: after };
        }
      }
      const rssAfterLoadMiB = service.rssMiB();
      const walk = await guarded(service, () => pagedWalk(api, patients));
      log(`${patients} patients: paged walk over ${walk.results} results in ${fixed(walk.seconds, 1)} s (${fixed(walk.pages / walk.seconds, 1)} pages/s)`);
      runs.push({ patients, load, cells, walk, rssAfterLoadMiB, loadAverage: [loadBefore, os.loadavg()[0]] });
    }
    const memory = await guarded(service, () => memoryUnderReads(context, service, api, loaded, settings.quick ? 10 : 1));
    const restart = await restartTime(context, dataDir, service);
    return {
      title: `Search at ${sizes.map(sizeLabel).join(', ')} patients`,
      body: renderSearchReport(runs, service, { connections: CONNECTIONS, minRequestsPerConnection: MIN_REQUESTS_PER_CONNECTION }, { memory, restart }),
    };
  },
};

/**
 * Reads by id after loading: RSS over the first 20k and the last 20k of 200k, so a leak per request
 * shows (issue 13). RSS is sampled every RSS_SAMPLE_MS while the reads run, and each window
 * reports the median of its samples: one sample at the end of a block lands anywhere between two
 * major GCs (seen: 309–508 MiB at 15k patients between blocks of 10k reads), which is V8's
 * garbage, not what the server keeps. A hospital's monitoring sees the same sawtooth.
 */
const READS_FIRST = 20_000;
const READS_TOTAL = 200_000;
const READ_CONNECTIONS = 16;
const RSS_SAMPLE_MS = 250;

async function memoryUnderReads(context: ScenarioContext, service: Service, api: FhirApi, patients: number, scaleDown: number): Promise<MemoryResult> {
  const [readsFirst, readsTotal] = [READS_FIRST / scaleDown, READS_TOTAL / scaleDown];
  const ids = Array.from({ length: 997 }, (_, k) => patientId(Math.floor((k * patients) / 997)));
  const run = async (requests: number): Promise<{ measurement: Measurement; rss: number[] }> => {
    let next = 0;
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(service.rssMiB()), RSS_SAMPLE_MS);
    try {
      const measurement = await measure({
        origin: service.origin,
        connections: READ_CONNECTIONS,
        amount: requests,
        request: { method: 'GET', path: `/fhir/Patient/${ids[0]}`, headers: searchHeaders(api), setupRequest: (r) => Object.assign(r, { path: `/fhir/Patient/${ids[next++ % ids.length]}` }) },
        label: `read ×${requests}`,
      });
      return { measurement, rss };
    } finally {
      clearInterval(sampler);
    }
  };
  context.log(`memory: ${readsFirst} reads by id on ${READ_CONNECTIONS} connections, RSS sampled every ${RSS_SAMPLE_MS} ms`);
  await run(readsFirst / 2);
  const first = await run(readsFirst / 2);
  context.log(`memory: RSS median ${fixed(median(first.rss), 0)} MiB over reads ${readsFirst / 2}–${readsFirst} (${fixed(first.measurement.requestsPerSecond, 0)}/s); ${readsTotal - readsFirst} more`);
  await run(readsTotal - 2 * readsFirst);
  const last = await run(readsFirst);
  context.log(`memory: RSS median ${fixed(median(last.rss), 0)} MiB over the last ${readsFirst} of ${readsTotal} reads (${fixed(last.measurement.requestsPerSecond, 0)}/s)`);
  return {
    readsFirst,
    readsTotal,
    rssAfterFirstMiB: median(first.rss),
    rssAfterAllMiB: median(last.rss),
    rangeFirstMiB: [Math.min(...first.rss), Math.max(...first.rss)],
    rangeAllMiB: [Math.min(...last.rss), Math.max(...last.rss)],
    samples: first.rss.length + last.rss.length,
    readsPerSecond: last.measurement.requestsPerSecond,
  };
}

/**
 * Stops the server and starts a new one on the same DATA_DIR: seconds from spawn to `/readyz` 200.
 * Then the same on an empty DATA_DIR, so the share of the data in the start-up time shows.
 */
async function restartTime(context: ScenarioContext, dataDir: string, service: Service): Promise<RestartResult> {
  await service.stop();
  const timed = async (name: string, dir?: string): Promise<{ seconds: number; service: Service }> => {
    const started = performance.now();
    const { service: started_ } = await startFhirGate(context.processes, { clientId: 'bench-search', name, env: LOAD_ENV, ...(dir ? { dataDir: dir } : {}) });
    return { seconds: (performance.now() - started) / 1000, service: started_ };
  };
  const again = await timed('FhirGate (restarted)', dataDir);
  const rssMiB = again.service.rssMiB();
  await again.service.stop();
  const empty = await timed('FhirGate (empty DATA_DIR)');
  await empty.service.stop();
  context.log(`restart: ready in ${fixed(again.seconds, 2)} s (empty DATA_DIR: ${fixed(empty.seconds, 2)} s), RSS ${fixed(rssMiB, 0)} MiB`);
  return { seconds: again.seconds, emptySeconds: empty.seconds, rssMiB };
}

/** `BENCH_SEARCH_SIZES=10000,100000`: patient counts, loaded one after the other into the same server. */
function readSizes(raw: string | undefined, quick: boolean): number[] {
  if (raw === undefined || raw.trim() === '') return quick ? QUICK_SIZES : DEFAULT_SIZES;
  const sizes = raw.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 100 || n > 10_000_000)) {
    throw new Error(`BENCH_SEARCH_SIZES must be patient counts between 100 and 10000000, separated by commas, got '${raw}'`);
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/** Runs a step; if it fails because the server died, says so rather than "fetch failed". */
async function guarded<T>(service: Service, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    service.assertAlive();
    throw err;
  }
}

function searchHeaders(api: FhirApi): Record<string, string> {
  // Strict handling: a parameter the server cannot apply is a 400, which fails the run, instead of a fast wrong answer.
  return { Accept: 'application/fhir+json', Authorization: api.authorization, Prefer: 'handling=strict' };
}

/** GETs of `paths` in turn, with the search headers. */
function rotating(api: FhirApi, paths: readonly string[]): autocannon.Request {
  let next = 0;
  return {
    method: 'GET',
    path: paths[0],
    headers: searchHeaders(api),
    // autocannon hands setupRequest a fresh copy per request, so mutating it is safe.
    setupRequest: (r) => Object.assign(r, { path: paths[next++ % paths.length] }),
  };
}

async function measureQuery(context: ScenarioContext, service: Service, api: FhirApi, query: SearchQuery, patients: number): Promise<QueryCell> {
  const { matches, included, slowestMs } = await preflight(api, query);
  const request = (): autocannon.Request => rotating(api, query.paths);
  const label = `${query.name} @${sizeLabel(patients)}`;
  const { settings } = context;
  // A slow search (seconds, on a busy machine at 100k) queues behind the others: the cell is made
  // long enough for every connection to finish a few, and the request timeout generous enough.
  const seconds = Math.max(settings.seconds, Math.ceil((CONNECTIONS * MIN_REQUESTS_PER_CONNECTION * slowestMs) / 1000));
  const warmup = Math.max(settings.warmupSeconds, Math.ceil((CONNECTIONS * slowestMs) / 1000));
  const timeoutSeconds = Math.max(10, Math.ceil((3 * CONNECTIONS * slowestMs) / 1000));
  const cell = { origin: service.origin, connections: CONNECTIONS, timeoutSeconds };
  await measure({ ...cell, seconds: warmup, request: request(), label: `warm-up ${label}` });
  let measurement = await measure({ ...cell, seconds, request: request(), label });
  // A server pause the preflight could not foresee (seconds, at 100k patients) can leave a cell
  // with one or two requests; such a cell is measured again, twice as long.
  let remeasured = 0;
  while (measurement.requests < CONNECTIONS * MIN_REQUESTS_PER_CONNECTION && remeasured < MAX_REMEASURES) {
    remeasured++;
    context.log(`${label}: only ${measurement.requests} requests in ${seconds} s; measuring again for ${seconds * 2 ** remeasured} s`);
    measurement = await measure({ ...cell, seconds: seconds * 2 ** remeasured, request: request(), label });
  }
  service.assertAlive();
  const measured = seconds * 2 ** remeasured;
  context.log(`${label}: ${fixed(measurement.requestsPerSecond, 1)} req/s, p50 ${fixed(measurement.p50, 1)} ms, p99 ${fixed(measurement.p99, 1)} ms, ${fixed(matches, 1)} matches, ${measured} s`);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return { query, matches, included, measurement, seconds: measured, remeasured: remeasured > 0 };
}

/** A read-by-id cell between two searches: the read is warm (measured first at every size), so no warm-up. */
async function measureRead(context: ScenarioContext, service: Service, api: FhirApi, read: SearchQuery, patients: number): Promise<Measurement> {
  const request = rotating(api, read.paths);
  const label = `${read.name} (yardstick) @${sizeLabel(patients)}`;
  const measurement = await measure({ origin: service.origin, connections: CONNECTIONS, seconds: context.settings.seconds, request, label });
  service.assertAlive();
  context.log(`${label}: ${fixed(measurement.requestsPerSecond, 1)} req/s`);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return measurement;
}

/** Runs every target once: checks it answers 200, counts its matches (`total`) and included entries, times it. */
async function preflight(api: FhirApi, query: SearchQuery): Promise<{ matches: number; included: number; slowestMs: number }> {
  let matches = 0;
  let included = 0;
  let slowestMs = 0;
  for (const path of query.paths) {
    const started = performance.now();
    const res = await fetch(api.origin + path, { headers: searchHeaders(api) });
    const text = await res.text();
    slowestMs = Math.max(slowestMs, performance.now() - started);
    if (res.status !== 200) throw new Error(`preflight: GET ${path} answered ${res.status}: ${text.slice(0, 2_000)}`);
    const bundle = JSON.parse(text) as { resourceType?: string; total?: number; entry?: Array<{ search?: { mode?: string } }> };
    matches += bundle.resourceType === 'Bundle' ? (bundle.total ?? Number.NaN) : 1;
    included += (bundle.entry ?? []).filter((e) => e.search?.mode === 'include').length;
  }
  return { matches: matches / query.paths.length, included: included / query.paths.length, slowestMs };
}

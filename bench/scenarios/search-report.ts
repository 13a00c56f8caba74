import os from 'node:os';
import { PATIENTS_PER_PRACTITIONER } from '../lib/generate.js';
import type { Measurement } from '../lib/load.js';
import type { Service } from '../lib/processes.js';
import { fixed, markdownTable } from '../lib/table.js';
import type { LoadResult } from './search-load.js';
import { APPOINTMENTS_FROM, READ_QUERY, type SearchQuery } from './search-queries.js';
import { WALK_PAGE_SIZE, type WalkResult } from './search-walk.js';
import { serverDescription } from '../lib/server-command.js';

/** What one query measured at one size. */
export interface QueryCell {
  query: SearchQuery;
  /** Mean `total` over the query's targets. */
  matches: number;
  /** Mean `_include`d resources on the first page. */
  included: number;
  measurement: Measurement;
  /** Seconds measured (longer than the setting when the query is slow). */
  seconds: number;
  /** Measured again, longer, because a server pause left too few requests in the first attempt. */
  remeasured: boolean;
  /** Reads by id measured just before and just after this query (a search's yardstick, see `perRead`). */
  readsAround?: [Measurement, Measurement];
}

/** Everything measured at one data size. */
export interface SizeRun {
  patients: number;
  load: LoadResult;
  cells: QueryCell[];
  walk: WalkResult;
  /** Resident set size of the server right after loading this size. */
  rssAfterLoadMiB: number;
  /** The 1-minute load average before loading and after measuring: the machine may be shared. */
  loadAverage: [before: number, after: number];
}

/** How the scenario measured, for the notes. */
export interface SearchSettings {
  connections: number;
  minRequestsPerConnection: number;
}

/** RSS of the server under a read-only load after the last size was loaded. */
export interface MemoryResult {
  readsFirst: number;
  readsTotal: number;
  /** Median of the RSS samples over the last half of the first `readsFirst` reads (V8 garbage comes and goes between major GCs: one sample swung ±100 MiB). */
  rssAfterFirstMiB: number;
  /** Median of the RSS samples over the last `readsFirst` reads. */
  rssAfterAllMiB: number;
  /** Range of the samples of each window, [min, max]. */
  rangeFirstMiB: [number, number];
  rangeAllMiB: [number, number];
  samples: number;
  readsPerSecond: number;
}

/** A restart over the largest data set. */
export interface RestartResult {
  seconds: number;
  /** The same start on an empty DATA_DIR: what does not depend on the data. */
  emptySeconds: number;
  rssMiB: number;
}

export interface ServerFigures {
  memory: MemoryResult;
  restart: RestartResult;
}

/** The Markdown body of the search report: queries, paged walk, loading, then what was measured. */
export function renderSearchReport(runs: SizeRun[], service: Service, settings: SearchSettings, server: ServerFigures): string {
  return [queryTable(runs), '', walkTable(runs), '', serverTable(runs, server), '', loadTable(runs), '', notes(runs, service, settings)].join('\n');
}

/** Memory after each load, under 200k reads, and the time to restart over the largest size. */
function serverTable(runs: SizeRun[], server: ServerFigures): string {
  const largest = sizeLabel(runs[runs.length - 1].patients);
  const { memory, restart } = server;
  const rows = [
    ...runs.map((r) => [`RSS after loading ${sizeLabel(r.patients)} patients`, `${fixed(r.rssAfterLoadMiB, 0)} MiB`]),
    [`RSS during reads ${memory.readsFirst / 2000}k–${memory.readsFirst / 1000}k by id (16 connections) at ${largest}: median [min–max]`, `${fixed(memory.rssAfterFirstMiB, 0)} MiB [${fixed(memory.rangeFirstMiB[0], 0)}–${fixed(memory.rangeFirstMiB[1], 0)}]`],
    [
      `RSS during reads ${(memory.readsTotal - memory.readsFirst) / 1000}k–${memory.readsTotal / 1000}k by id at ${largest}: median [min–max]`,
      `${fixed(memory.rssAfterAllMiB, 0)} MiB [${fixed(memory.rangeAllMiB[0], 0)}–${fixed(memory.rangeAllMiB[1], 0)}] (${fixed((memory.rssAfterAllMiB / memory.rssAfterFirstMiB - 1) * 100, 1)}%, ${fixed(memory.readsPerSecond, 0)} reads/s)`,
    ],
    [`Restart over ${largest} patients: spawn to \`/readyz\` 200`, `${fixed(restart.seconds, 2)} s (RSS then ${fixed(restart.rssMiB, 0)} MiB)`],
    ['Start on an empty `DATA_DIR`, same command', `${fixed(restart.emptySeconds, 2)} s`],
  ];
  return ['### Server: memory and start', '', markdownTable([{ header: 'Figure' }, right('value')], rows)].join('\n');
}

/** 10000 → `10k`. */
export function sizeLabel(patients: number): string {
  if (patients % 1_000_000 === 0) return `${patients / 1_000_000}M`;
  return patients % 1_000 === 0 ? `${patients / 1_000}k` : String(patients);
}

/** A query shape as inline code; a `|` ends a table cell even inside a code span (GFM) unless escaped. */
const code = (shape: string): string => `\`${shape.replaceAll('|', '\\|')}\``;

const right = (header: string) => ({ header, align: 'right' as const });

/** Last figure over first: how much a figure grew from the smallest to the largest size. */
function growth(first: number, last: number): string {
  return `${fixed(last / first, 2)}×`;
}

function queryTable(runs: SizeRun[]): string {
  const labels = runs.map((r) => sizeLabel(r.patients));
  const ratio = runs.length > 1 ? `${labels[labels.length - 1]}/${labels[0]}` : undefined;
  const figure = (name: string, value: (m: Measurement) => number) => ({
    columns: [...labels.map((l) => right(`${name} ${l}`)), ...(ratio ? [right(`${name} ${ratio}`)] : [])],
    cells: (i: number) => {
      const values = runs.map((r) => value(r.cells[i].measurement));
      return [...values.map((v) => fixed(v, 1)), ...(ratio ? [growth(values[0], values[values.length - 1])] : [])];
    },
  });
  const readAt = (r: SizeRun): number => r.cells.find((c) => c.query.name === READ_QUERY)?.measurement.requestsPerSecond ?? Number.NaN;
  // A search against the reads measured around it: the machine's drift over the minutes of a size's cells falls on both.
  const yardstick = (r: SizeRun, cell: QueryCell): number => (cell.readsAround ? (cell.readsAround[0].requestsPerSecond + cell.readsAround[1].requestsPerSecond) / 2 : readAt(r));
  const perRead = {
    columns: labels.map((l) => right(`req/s ÷ read ${l}`)),
    cells: (i: number) => runs.map((r) => `${fixed(r.cells[i].measurement.requestsPerSecond / yardstick(r, r.cells[i]), 2)}×`),
  };
  const figures = [figure('req/s', (m) => m.requestsPerSecond), perRead, figure('p50 ms', (m) => m.p50), figure('p99 ms', (m) => m.p99)];
  const matches = (cell: QueryCell): string => (cell.included > 0 ? `${fixed(cell.matches, 1)} (+${fixed(cell.included, 1)})` : fixed(cell.matches, 1));
  const rows = runs[0].cells.map((cell, i) => [
    code(cell.query.shape),
    ...runs.map((r) => matches(r.cells[i])),
    ...figures.flatMap((f) => f.cells(i)),
  ]);
  return markdownTable([{ header: 'Query' }, ...labels.map((l) => right(`matches ${l}`)), ...figures.flatMap((f) => f.columns)], rows);
}

function walkTable(runs: SizeRun[]): string {
  const rows = runs.map((r) => {
    const w = r.walk;
    return [sizeLabel(r.patients), String(w.results), String(w.pages), fixed(w.seconds, 1), fixed(w.pages / w.seconds, 1), fixed(w.p50, 1), fixed(w.p99, 1), fixed(w.firstPageMs, 1), fixed(w.lastPageMs, 1)];
  });
  if (runs.length > 1) {
    const [a, b] = [runs[0].walk, runs[runs.length - 1].walk];
    rows.push([`${sizeLabel(runs[runs.length - 1].patients)}/${sizeLabel(runs[0].patients)}`, '', '', growth(a.seconds, b.seconds), growth(a.pages / a.seconds, b.pages / b.seconds), growth(a.p50, b.p50), growth(a.p99, b.p99), growth(a.firstPageMs, b.firstPageMs), growth(a.lastPageMs, b.lastPageMs)]);
  }
  return [
    `### Paged walk: \`${runs[0].walk.start}\`, following \`next\``,
    '',
    markdownTable(
      [{ header: 'Patients' }, right('results'), right('pages'), right('seconds'), right('pages/s'), right('p50 ms/page'), right('p99 ms/page'), right('first page ms'), right('last page ms')],
      rows,
    ),
  ].join('\n');
}

function loadTable(runs: SizeRun[]): string {
  const types = ['Patient', 'Practitioner', 'MedicationRequest', 'MedicationDispense', 'Appointment'];
  const rows = runs.map((r, i) => [
    `${i === 0 ? 0 : sizeLabel(runs[i - 1].patients)} → ${sizeLabel(r.patients)}`,
    ...types.map((t) => String(r.load.byType[t] ?? 0)),
    String(r.load.resources),
    fixed(r.load.seconds, 0),
    fixed(r.load.resources / r.load.seconds, 0),
  ]);
  const retries = runs.reduce((sum, r) => sum + r.load.retries, 0);
  return [
    `### Loading, through the HTTP API: ${runs[0].load.method}`,
    '',
    markdownTable([{ header: 'Patients' }, ...types.map(right), right('resources'), right('seconds'), right('resources/s')], rows),
    ...(retries > 0 ? ['', `${retries} write(s) were sent again after a network error (a reset connection); the writes are idempotent PUTs.`] : []),
  ].join('\n');
}

/** How long the cells were and how many requests the thinnest one holds (its p99 is then nearly its maximum). */
function cellNote(runs: SizeRun[], settings: SearchSettings): string {
  const cells = runs.flatMap((r) => r.cells.map((cell) => ({ cell, patients: r.patients })));
  const thinnest = cells.reduce((a, b) => (b.cell.measurement.requests < a.cell.measurement.requests ? b : a));
  const longest = Math.max(...cells.map((c) => c.cell.seconds));
  const lengthened = longest > Math.min(...cells.map((c) => c.cell.seconds)) ? `, lengthened up to ${longest} s for slow queries so that about ${settings.minRequestsPerConnection} requests complete per connection (with a request timeout to match)` : '';
  const again = cells.filter((c) => c.cell.remeasured).map((c) => `${code(c.cell.query.shape)} at ${sizeLabel(c.patients)}`);
  const remeasured = again.length > 0 ? ` Measured again, longer, because a pause of the server left fewer requests than that in the first attempt: ${again.join(', ')}.` : '';
  const n = thinnest.cell.measurement.requests;
  return `- Cells: ${Math.min(...cells.map((c) => c.cell.seconds))} s${lengthened}.${remeasured} The thinnest cell (${code(thinnest.cell.query.shape)} at ${sizeLabel(thinnest.patients)}) completed ${n} request${n === 1 ? '' : 's'}.`;
}

function notes(runs: SizeRun[], service: Service, settings: SearchSettings): string {
  const lines = [
    '## What was measured',
    '',
    `- One FhirGate (${serverDescription()}, embedded store in a fresh temp \`DATA_DIR\`, \`LOG_LEVEL=warn\`), loaded with the seeded data set of \`bench/lib/generate.ts\` up to each size in turn: ${runs.map((r) => r.patients).join(', ')} patients, one Practitioner per ${PATIENTS_PER_PRACTITIONER} patients, about one MedicationRequest, MedicationDispense and Appointment per patient.`,
    `- Each query: ${settings.connections === 1 ? 'one keep-alive connection' : `${settings.connections} keep-alive connections`} (autocannon), rotating through up to 16 targets spread over the data set (family names, MRNs, patients with an active prescription, practitioners); default \`_count\` (20), \`_total\` accurate (the default), \`Prefer: handling=strict\`. Every request carries a \`system/*.*\` Bearer token signed by the embedded authorization server's key, verified by the server as any other.`,
    `- **matches**: the mean \`total\` over the targets; \`(+n)\`: the mean number of \`_include\`d resources on the first page. Appointments are counted from ${APPOINTMENTS_FROM} on (about half of them).`,
    `- Paged walk: one client reading ${WALK_PAGE_SIZE} patients per page by following the \`next\` links (keyset cursors) through every patient of the size. Every page decrypts its patients' encrypted elements (telecom, address) and counts the total.`,
    '- **req/s ÷ read**: the query\'s throughput divided by the mean throughput of the reads by id (`Patient/{id}`, same connection count) measured just before and just after it at the same size (the first row: the first of those reads). A single read cell at the start of a size, as before 2026-12-05, let the machine\'s drift over the following minutes move the ratios by ±0.1–0.15 between runs of the same code.',
    settings.connections === 1
      ? '- One connection, because a search is CPU work on the server\'s single event loop: more connections add queueing, not throughput, and at 100k patients requests queued for more than Node\'s 5 s keep-alive timeout lose their connection (4 connections: ECONNRESET). So p50 and p99 are the time of one search as the client sees it, and req/s is about 1 / the mean.'
      : `- Latency is measured at the client, so it includes queueing: with the server saturated, p50 is about ${settings.connections} × the time of one search and req/s about 1 / that time.`,
    cellNote(runs, settings),
    `- 1-minute load average (before loading → after measuring): ${runs.map((r) => `${sizeLabel(r.patients)}: ${fixed(r.loadAverage[0], 1)} → ${fixed(r.loadAverage[1], 1)}`).join('; ')}, on ${os.cpus().length} cores. Above the core count, other processes shared the machine and the absolute figures are pessimistic.`,
  ];
  if (runs.length > 1) {
    const factor = runs[runs.length - 1].patients / runs[0].patients;
    // The median, not req/s: a single pause of the server (seconds, at 100k) moves the mean of a short cell, hardly its median.
    const linear = runs[0].cells
      .map((cell, i) => ({ shape: cell.query.shape, grew: runs[runs.length - 1].cells[i].measurement.p50 / cell.measurement.p50 }))
      .filter((q) => q.grew >= factor / 2);
    lines.push(`- **Growth columns** divide the figure at ${sizeLabel(runs[runs.length - 1].patients)} by the one at ${sizeLabel(runs[0].patients)} patients (${factor}× the data). A search whose time grows by about ${factor}× costs time in proportion to the data, not to its result.`);
    if (linear.length > 0) {
      lines.push(`- **Scales with the data set** (p50 grew by at least ${factor / 2}×): ${linear.map((q) => `${code(q.shape)} (${fixed(q.grew, 1)}×)`).join(', ')}.`);
    }
  }
  if (os.cpus().length <= 4) {
    lines.push(`- This machine has ${os.cpus().length} cores, shared by the load generator and the server.`);
  }
  if (service.outputLines() > 0) lines.push(`- FhirGate wrote ${service.outputLines()} lines at level warn during the run (e.g. a dependency's start-up notice).`);
  return lines.join('\n');
}

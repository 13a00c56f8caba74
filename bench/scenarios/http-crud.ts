import os from 'node:os';
import type autocannon from 'autocannon';
import { benchPatientJson } from '../fixtures/patient.js';
import { measure, type Measurement } from '../lib/load.js';
import { median } from '../lib/median.js';
import { startFhirGate } from '../lib/fhirgate.js';
import type { ProcessGroup, Service } from '../lib/processes.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { fixed, markdownTable } from '../lib/table.js';
import { loadAverage, targetsTable } from './http-crud-targets.js';
import { serverDescription } from '../lib/server-command.js';

const CONNECTIONS = [1, 16, 64];
// A quick run skips 64 connections: the issue 14 targets need 1 and 16.
const QUICK_CONNECTIONS = [1, 16];
const WARMUP_CONNECTIONS = 16;
const FHIR_JSON = 'application/fhir+json';
// Lets a store finish work a cell queued (group commit, compaction) before the next cell starts.
const SETTLE_MS = 500;

/** A request shape measured against both servers. */
interface Shape {
  name: 'read' | 'create';
  describe: string;
  /** A fresh request object per run: autocannon caches the built request on it. */
  request(): autocannon.Request;
}

export const httpCrud: Scenario = {
  name: 'http-crud',
  description: 'create (POST) and read by id (GET) of a Patient, FhirGate vs a bare Koa handler, at 1/16/64 connections; secure defaults vs encryption off + audit to the log; the issue 14 targets',
  async run(context) {
    const { settings, processes, log } = context;
    const loadBefore = loadAverage();
    log('starting FhirGate (defaults, and encryption off + AUDIT_SINK=log) and the bare Koa baseline');
    const [{ service: fhirgate, authorization }, bare, relaxedGate] = await Promise.all([
      startFhirGate(processes, { clientId: 'bench-http-crud' }),
      startBareKoa(processes),
      startFhirGate(processes, { clientId: 'bench-http-crud', name: 'FhirGate relaxed', env: { FHIRGATE_ENCRYPTED_ELEMENTS: '{}', AUDIT_SINK: 'log' } }),
    ]);
    const relaxed = relaxedGate.service;
    const seedCount = settings.quick ? 200 : 1_000;
    log(`creating ${seedCount} patients to read, on each FhirGate`);
    const ids = await seedPatients(fhirgate.origin, authorization, seedCount);
    const relaxedIds = await seedPatients(relaxed.origin, relaxedGate.authorization, seedCount);
    await preflight(fhirgate.origin, authorization, ids[0]);
    await preflight(relaxed.origin, relaxedGate.authorization, relaxedIds[0]);

    const shapes: Shape[] = [readShape(ids, authorization), createShape(authorization)];
    const targets = [bare, fhirgate];
    let created = 0;
    for (const shape of shapes) {
      for (const target of targets) {
        const warm = await cell(context, target, shape, WARMUP_CONNECTIONS, settings.warmupSeconds, 'warm-up ');
        if (target === fhirgate && shape.name === 'create') created += warm.requests;
      }
    }

    const rows: string[][] = [];
    const cells = new Map<string, { measured: Measurement; baseline: Measurement }>();
    for (const shape of shapes) {
      for (const connections of settings.quick ? QUICK_CONNECTIONS : CONNECTIONS) {
        // Each pair runs back to back, so both sides of a ratio see the same machine state.
        const baseline = await cell(context, bare, shape, connections, settings.seconds);
        const measured = await cell(context, fhirgate, shape, connections, settings.seconds);
        if (shape.name === 'create') created += measured.requests;
        rows.push(row(shape, connections, measured, baseline));
        cells.set(`${shape.name}@${connections}`, { measured, baseline });
      }
    }
    // Secure defaults vs encryption off and audit to the log, reads at 16 connections, in rounds.
    const relaxedRead = readShape(relaxedIds, relaxedGate.authorization);
    // Longer than the other warm-ups: the defaults server has served every cell above, and a relaxed
    // server warmed for 2 s still sped up round after round (3.9k → 5.1k reads/s over three rounds).
    await cell(context, relaxed, relaxedRead, WARMUP_CONNECTIONS, settings.quick ? settings.warmupSeconds : 5 * settings.warmupSeconds, 'warm-up ');
    const arms: Record<Arm, ArmTarget> = { secure: { target: fhirgate, shape: shapes[0] }, relaxed: { target: relaxed, shape: relaxedRead } };
    const rounds = await secureVsRelaxed(context, arms, settings.quick ? QUICK_SECURE_ROUNDS : SECURE_ROUNDS, settings.seconds / 2);
    const secureRatios = rounds.map((r) => r.secure.requestsPerSecond / r.relaxed.requestsPerSecond);

    const goals = targetsTable({
      read1: cells.get('read@1')!.measured,
      read16: cells.get('read@16')!.measured,
      bareRead16: cells.get('read@16')!.baseline,
      create16: cells.get('create@16')!.measured,
      bareCreate16: cells.get('create@16')!.baseline,
      secureRelaxed: median(secureRatios),
    });
    const right = (header: string) => ({ header, align: 'right' as const });
    const secureRows = rounds.map((r, i) => [
      `round ${i + 1} (${i % 2 === 0 ? 'relaxed first' : 'defaults first'})`,
      String(Math.round(r.secure.requestsPerSecond)),
      fixed(r.secure.p50, 2),
      String(Math.round(r.relaxed.requestsPerSecond)),
      fixed(r.relaxed.p50, 2),
      `${fixed(secureRatios[i], 2)}×`,
    ]);
    secureRows.push(['**median**', '', '', '', '', `**${fixed(median(secureRatios), 2)}×** (${fixed(Math.min(...secureRatios), 2)}–${fixed(Math.max(...secureRatios), 2)}×)`]);
    const secureTable = markdownTable([{ header: 'Reads @16' }, right('Defaults read/s'), right('p50 ms'), right('Relaxed read/s'), right('p50 ms'), right('Defaults / relaxed')], secureRows);

    return {
      title: 'HTTP create and read: FhirGate vs bare Koa',
      body: [
        table(rows),
        '',
        secureTable,
        '',
        goals,
        '',
        notes(shapes, seedCount, created, fhirgate),
        `- **Relaxed**: a second FhirGate with \`FHIRGATE_ENCRYPTED_ELEMENTS={}\` (nothing encrypted at rest) and \`AUDIT_SINK=log\` (no AuditEvent committed, no fsync per read); **Defaults / relaxed** is what the secure defaults keep of its read throughput: ${rounds.length} round(s) of two ${fixed(settings.seconds / 2, 1)}-s cells per server in the order relaxed, defaults, defaults, relaxed (or the reverse, alternating), each round's ratio from its own four cells; the target is checked on the median round (one pair of cells swung 0.23–0.37× between runs).`,
        `- Load average (1 / 5 / 15 min) at the start: ${loadBefore}; at the end: ${loadAverage()} (the machine's other work competes for the same cores).`,
      ].join('\n'),
    };
  },
};


type Arm = 'secure' | 'relaxed';

interface ArmTarget {
  target: Service;
  shape: Shape;
}

/** Rounds of the defaults vs relaxed reads (ABBA); odd, so the median is one round's ratio. */
const SECURE_ROUNDS = 3;
const QUICK_SECURE_ROUNDS = 1;

/**
 * Reads at 16 connections on the defaults and the relaxed server in rounds, as the workflow
 * scenario compares its arms: each round's cells ABBA (the first arm alternating), so a drift of
 * the machine within a round falls on both; each arm's rate over a round is the mean of its two
 * equal-length cells.
 */
async function secureVsRelaxed(context: ScenarioContext, arms: Record<Arm, ArmTarget>, rounds: number, seconds: number): Promise<Array<Record<Arm, Measurement>>> {
  const out: Array<Record<Arm, Measurement>> = [];
  for (let round = 0; round < rounds; round++) {
    const order: Arm[] = round % 2 === 0 ? ['relaxed', 'secure', 'secure', 'relaxed'] : ['secure', 'relaxed', 'relaxed', 'secure'];
    const taken: Record<Arm, Measurement[]> = { secure: [], relaxed: [] };
    for (const arm of order) taken[arm].push(await cell(context, arms[arm].target, arms[arm].shape, 16, seconds, `round ${round + 1} `));
    out.push({ secure: meanOf(taken.secure), relaxed: meanOf(taken.relaxed) });
  }
  return out;
}

/** Two equal-length cells as one: mean rate and latencies, summed counts. */
function meanOf(cells: readonly Measurement[]): Measurement {
  const mean = (key: 'requestsPerSecond' | 'p50' | 'p99'): number => cells.reduce((sum, c) => sum + c[key], 0) / cells.length;
  return { requests: cells.reduce((sum, c) => sum + c.requests, 0), requestsPerSecond: mean('requestsPerSecond'), p50: mean('p50'), p99: mean('p99'), non2xx: cells.reduce((sum, c) => sum + c.non2xx, 0) };
}

async function startBareKoa(processes: ProcessGroup): Promise<Service> {
  return processes.start({ name: 'bare Koa', args: ['--import', 'tsx', 'bench/bare-koa.ts'], readyPath: '/readyz' });
}

/** Creates `count` patients through the API (8 at a time) and returns their ids. */
async function seedPatients(origin: string, authorization: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = next++;
      const res = await fetch(`${origin}/fhir/Patient`, {
        method: 'POST',
        headers: { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: authorization },
        body: benchPatientJson(`BENCH-SEED-${n}`),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`seeding: POST /fhir/Patient answered ${res.status}: ${text.slice(0, 2_000)}`);
      ids.push((JSON.parse(text) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return ids;
}

/** One read through fetch before any load, so a broken read fails with the server's own message. */
async function preflight(origin: string, authorization: string, id: string): Promise<void> {
  const res = await fetch(`${origin}/fhir/Patient/${id}`, { headers: { Accept: FHIR_JSON, Authorization: authorization } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`preflight: GET /fhir/Patient/${id} answered ${res.status}: ${text.slice(0, 2_000)}`);
}

function readShape(ids: string[], authorization: string): Shape {
  return {
    name: 'read',
    describe: `\`GET /fhir/Patient/{id}\`, rotating through the pre-created patients`,
    request() {
      let next = 0;
      return {
        method: 'GET',
        path: `/fhir/Patient/${ids[0]}`,
        headers: { Accept: FHIR_JSON, Authorization: authorization },
        // autocannon hands setupRequest a fresh copy per request, so mutating it is safe.
        setupRequest: (request) => Object.assign(request, { path: `/fhir/Patient/${ids[next++ % ids.length]}` }),
      };
    },
  };
}

function createShape(authorization: string): Shape {
  let runs = 0;
  return {
    name: 'create',
    describe: '`POST /fhir/Patient` with a ~1.3 KB registration Patient, a distinct MRN per request',
    request() {
      const run = runs++;
      let next = 0;
      return {
        method: 'POST',
        path: '/fhir/Patient',
        headers: { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: authorization },
        body: benchPatientJson(`BENCH-${run}-0`),
        setupRequest: (request) => Object.assign(request, { body: benchPatientJson(`BENCH-${run}-${next++}`) }),
      };
    },
  };
}

async function cell(
  context: ScenarioContext,
  target: Service,
  shape: Shape,
  connections: number,
  seconds: number,
  phase = '',
): Promise<Measurement> {
  const label = `${phase}${target.name} ${shape.name} @${connections}`;
  const result = await measure({ origin: target.origin, connections, seconds, request: shape.request(), label });
  target.assertAlive();
  context.log(`${label}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${fixed(result.p50, 2)} ms, p99 ${fixed(result.p99, 2)} ms`);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return result;
}

function row(shape: Shape, connections: number, fhirgate: Measurement, bare: Measurement): string[] {
  const side = (m: Measurement): string[] => [String(Math.round(m.requestsPerSecond)), fixed(m.p50, 2), fixed(m.p99, 2), String(m.non2xx)];
  return [shape.name, String(connections), ...side(fhirgate), ...side(bare), `${fixed(fhirgate.requestsPerSecond / bare.requestsPerSecond, 2)}×`];
}

function table(rows: string[][]): string {
  const right = (header: string) => ({ header, align: 'right' as const });
  return markdownTable(
    [
      { header: 'Interaction' },
      right('Connections'),
      right('FhirGate req/s'),
      right('p50 ms'),
      right('p99 ms'),
      right('non-2xx'),
      right('Bare Koa req/s'),
      right('p50 ms'),
      right('p99 ms'),
      right('non-2xx'),
      right('FhirGate / Koa'),
    ],
    rows,
  );
}

function notes(shapes: Shape[], seedCount: number, created: number, fhirgate: Service): string {
  const lines = [
    '## What was measured',
    '',
    ...shapes.map((shape) => `- **${shape.name}**: ${shape.describe}.`),
    `- FhirGate: ${serverDescription()}, embedded store in a fresh temp \`DATA_DIR\`, \`LOG_LEVEL=warn\`; ${seedCount} patients created before measuring; creating during warm-up and measurement added ${created} more. Every request also makes its hash-chained AuditEvent durable first (\`AUDIT_SINK=store\`, the default since issue 8): a read's event is committed as one waiting row (its version, current and search-value rows are written later in batches) and each read waits for the WAL fsync covering it (see README "The audit trail").`,
    '- Bare Koa: `bench/bare-koa.ts`, one middleware returning a static Patient for GET and echoing the parsed body with 201 for POST.',
    '- Both servers receive the same requests, with a `system/*.*` Bearer token signed by FhirGate\'s embedded authorization server: FhirGate verifies it on every request (part of its cost), bare Koa ignores it.',
    '- Latency is measured at the client (autocannon, keep-alive, no pipelining), so it includes queueing at high connection counts.',
    '- **FhirGate / Koa** is FhirGate throughput divided by bare Koa throughput in the same row: the share of a bare framework\'s speed FhirGate keeps.',
  ];
  if (os.cpus().length <= 4) {
    lines.push(`- This machine has ${os.cpus().length} cores, shared by the load generator and the server: at 16 and 64 connections both are CPU-bound, which understates absolute throughput for both sides.`);
  }
  if (fhirgate.outputLines() > 0) {
    lines.push(`- FhirGate wrote ${fhirgate.outputLines()} log lines at level warn during the run; see its output for why.`);
  }
  return lines.join('\n');
}

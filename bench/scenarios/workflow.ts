import os from 'node:os';
import type autocannon from 'autocannon';
import { startPair, type FhirGateUnderTest } from '../lib/fhirgate.js';
import { measure } from '../lib/load.js';
import { median } from '../lib/median.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { fixed, markdownTable } from '../lib/table.js';

/**
 * Issue 17: what the clinical workflow rules cost on the write path. Two FhirGates, one with the
 * rules (FHIR_WORKFLOW_RULES=true, the default) and one without, take the same writes: dispenses
 * against active prescriptions (each dispense reads its prescription, with the running total of its
 * earlier dispenses, and writes a new version of it), and bookings of free slots (each reads its slot, looks up the
 * practitioner's appointments and busy slots holding its hours, and makes the slot busy). Target: ≥ 0.8×.
 *
 * One 5-second cell per arm gave a ratio the machine's noise decided (the rules-off booking cell
 * alone swung 291–491 req/s between runs). So the arms take turns, several rounds of short cells,
 * each round off/on/on/off or on/off/off/on (ABBA: a drift of the machine within the round, and
 * the cost of following the other arm's cell, fall on both arms alike; an order alternating
 * off/on, on/off, ... split the rounds of a run under load in two: booking 0.47–0.93× when the
 * rules-off server went first, 0.71–1.09× when it went second), each round's
 * ratio from its own four cells, and the verdict is the
 * median of those ratios, with their spread beside it: one noisy cell cannot decide it. Every cell
 * of a round sends the same number of the same requests to each arm (the same slots, the same
 * prescriptions), so both stores hold the same data at every turn. The servers' CPU time per
 * request is reported too: unlike req/s, it does not count the time a server waited for a core.
 */

const FHIR_JSON = 'application/fhir+json';
const CONNECTIONS = 8;
const SETTLE_MS = 300;
const PRACTITIONERS = 20;
const SLOT_MINUTES = 15;
const DAY0 = Date.parse('2030-01-01T00:00:00Z');
/** Rounds of two cells per arm (ABBA); odd, so the median is one round's ratio. A smoke run takes one of each order. */
const ROUNDS = 5;
const QUICK_ROUNDS = 2;
/** Requests per arm to warm up (JIT, caches), before the per-cell count is set from their rate. */
const WARMUP_REQUESTS = 800;
const QUICK_WARMUP_REQUESTS = 150;
/** Fewest requests per cell: below this a cell is mostly ramp-up. */
const MIN_CELL_REQUESTS = 200;
/** Slots a cell may build beyond its requests (autocannon builds each connection's next request ahead). */
const SLOT_SLACK = 4 * CONNECTIONS;

type Shape = 'dispense' | 'booking';
type Arm = 'on' | 'off';

export interface Target {
  gate: FhirGateUnderTest;
  prescriptions: number;
  slots: number;
  /** Next slot to book: every booking takes a slot no earlier request took. */
  nextSlot: number;
}

/** One cell: a fixed number of requests to one arm. */
interface Cell {
  requestsPerSecond: number;
  p50: number;
  /** The server's CPU time (all threads) per request, ms. */
  cpuMs: number;
}

interface ShapeResult {
  shape: Shape;
  cellRequests: number;
  rounds: Array<Record<Arm, Cell>>;
}

export const workflow: Scenario = {
  name: 'workflow',
  description: 'dispense and booking throughput with the workflow rules on, as ratios to the rules off (interleaved rounds, median)',
  async run(context) {
    const { settings, processes, log } = context;
    const loadAtStart = os.loadavg()[0];
    const prescriptions = settings.quick ? 50 : 200;
    const slots = settings.quick ? 3000 : 12000;
    const rounds = settings.quick ? QUICK_ROUNDS : ROUNDS;
    const warmup = settings.quick ? QUICK_WARMUP_REQUESTS : WARMUP_REQUESTS;
    // Cells of half BENCH_SECONDS: many short turns, so no single noisy one decides the median.
    const cellSeconds = settings.seconds / 2;
    const gates = await startPair(processes, { name: 'workflow rules', clientId: 'bench-workflow', variants: { on: { FHIR_WORKFLOW_RULES: 'true' }, off: { FHIR_WORKFLOW_RULES: 'false' } } });
    const targets = { on: { gate: gates.on, prescriptions, slots, nextSlot: 0 }, off: { gate: gates.off, prescriptions, slots, nextSlot: 0 } } satisfies Record<Arm, Target>;
    log(`seeding ${prescriptions} prescriptions and ${slots} slots into each FhirGate`);
    await Promise.all([seed(targets.on), seed(targets.off)]);
    const results: ShapeResult[] = [];
    for (const shape of ['dispense', 'booking'] as const) {
      // Warm-up: the same requests to each arm; their rate sets how many requests a cell sends.
      const warm = { off: await cell(context, targets.off, shape, warmup, 0, 'warm-up '), on: await cell(context, targets.on, shape, warmup, 0, 'warm-up ') };
      const base = warmup + SLOT_SLACK;
      const stride = (n: number): number => n + SLOT_SLACK;
      const rate = (warm.off.requestsPerSecond + warm.on.requestsPerSecond) / 2;
      // Bookings take a fresh slot each: a cell never sends more than the seeded slots left per cell.
      const cells = 2 * rounds;
      const most = shape === 'booking' ? Math.floor((slots - base) / cells) - SLOT_SLACK : Infinity;
      const cellRequests = Math.max(MIN_CELL_REQUESTS, Math.min(most, Math.round(rate * cellSeconds)));
      if (cellRequests > most) throw new Error(`the booking cells need ${stride(cellRequests) * cells + base} slots; raise the slot count`);
      log(`${shape}: ${rounds} rounds of 2 × ${cellRequests} requests per arm`);
      const measured: ShapeResult = { shape, cellRequests, rounds: [] };
      for (let round = 0; round < rounds; round++) {
        // ABBA, starting with the other arm each round; an arm's n-th cell of the scenario books the same slots on both.
        const order: Arm[] = round % 2 === 0 ? ['off', 'on', 'on', 'off'] : ['on', 'off', 'off', 'on'];
        const taken: Record<Arm, Cell[]> = { on: [], off: [] };
        for (const arm of order) {
          const n = 2 * round + taken[arm].length;
          taken[arm].push(await cell(context, targets[arm], shape, cellRequests, base + n * stride(cellRequests), `round ${round + 1} `));
        }
        const pair = { on: combined(taken.on), off: combined(taken.off) };
        log(`${shape} round ${round + 1}: on / off ${fixed(pair.on.requestsPerSecond / pair.off.requestsPerSecond, 2)}×`);
        measured.rounds.push(pair);
      }
      results.push(measured);
    }
    const body = [table(results), '', roundsTable(results), '', notes(prescriptions, loadAtStart, os.loadavg()[0], rounds)].join('\n');
    return { title: 'Workflow rules: dispense and booking throughput', body };
  },
};

const slotStart = (i: number): string => new Date(DAY0 + Math.floor(i / PRACTITIONERS) * SLOT_MINUTES * 60_000).toISOString();
const slotEnd = (i: number): string => new Date(DAY0 + (Math.floor(i / PRACTITIONERS) + 1) * SLOT_MINUTES * 60_000).toISOString();

export async function seed(target: Target): Promise<void> {
  const entries: unknown[] = [{ resourceType: 'Patient', id: 'wp', name: [{ family: 'Bench' }] }];
  for (let d = 0; d < PRACTITIONERS; d++) {
    entries.push({ resourceType: 'Practitioner', id: `wd${d}`, name: [{ family: `Bench${d}` }] }, { resourceType: 'Schedule', id: `ws${d}`, actor: [{ reference: `Practitioner/wd${d}` }] });
  }
  for (let p = 0; p < target.prescriptions; p++) {
    entries.push({
      resourceType: 'MedicationRequest',
      id: `wm${p}`,
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '308182' }] },
      subject: { reference: 'Patient/wp' },
      dispenseRequest: { numberOfRepeatsAllowed: 1_000_000 },
    });
  }
  for (let i = 0; i < target.slots; i++) {
    entries.push({ resourceType: 'Slot', id: `wsl${i}`, schedule: { reference: `Schedule/ws${i % PRACTITIONERS}` }, status: 'free', start: slotStart(i), end: slotEnd(i) });
  }
  for (let i = 0; i < entries.length; i += 500) {
    const chunk = entries.slice(i, i + 500).map((resource) => {
      const r = resource as { resourceType: string; id: string };
      return { resource, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } };
    });
    const res = await fetch(`${target.gate.service.origin}/fhir`, {
      method: 'POST',
      headers: { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: target.gate.authorization },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: chunk }),
    });
    if (res.status >= 300) throw new Error(`seeding: ${res.status} ${(await res.text()).slice(0, 500)}`);
    await res.arrayBuffer().catch(() => undefined);
  }
}

export function request(target: Target, shape: 'dispense' | 'booking'): autocannon.Request {
  const headers = { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: target.gate.authorization };
  let next = 0;
  const bodyOf = (): string => {
    if (shape === 'dispense') {
      return JSON.stringify({
        resourceType: 'MedicationDispense',
        status: 'completed',
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '308182' }] },
        subject: { reference: 'Patient/wp' },
        authorizingPrescription: [{ reference: `MedicationRequest/wm${next++ % target.prescriptions}` }],
      });
    }
    const i = target.nextSlot++;
    if (i >= target.slots) throw new Error('the booking cell ran out of free slots; raise the slot count');
    return JSON.stringify({
      resourceType: 'Appointment',
      status: 'booked',
      start: slotStart(i),
      end: slotEnd(i),
      slot: [{ reference: `Slot/wsl${i}` }],
      participant: [
        { actor: { reference: 'Patient/wp' }, status: 'accepted' },
        { actor: { reference: `Practitioner/wd${i % PRACTITIONERS}` }, status: 'accepted' },
      ],
    });
  };
  const path = shape === 'dispense' ? '/fhir/MedicationDispense' : '/fhir/Appointment';
  return { method: 'POST', path, headers, body: bodyOf(), setupRequest: (r) => Object.assign(r, { body: bodyOf() }) };
}

/**
 * Sends `requests` requests of `shape` to one arm, bookings from slot `firstSlot` on. The slots a
 * cell may take are fixed by its round, not by how many an earlier cell happened to build, so
 * both arms book the same slots.
 */
async function cell(context: ScenarioContext, target: Target, shape: Shape, requests: number, firstSlot: number, phase: string): Promise<Cell> {
  const label = `${phase}${shape} ${target.gate.service.name}`;
  target.nextSlot = firstSlot;
  const cpu = target.gate.service.cpuSeconds();
  // Timed here, to the last response: autocannon ends a run of `amount` requests on its next
  // whole-second tick, so its duration (and the end of `measure`) is too coarse for cells of a few seconds.
  const started = performance.now();
  let last = started;
  const onResponse = (): void => void (last = performance.now());
  const result = await measure({ origin: target.gate.service.origin, connections: CONNECTIONS, amount: requests, request: { ...request(target, shape), onResponse }, label });
  const requestsPerSecond = (result.requests * 1e3) / (last - started);
  const cpuMs = ((target.gate.service.cpuSeconds() - cpu) * 1e3) / result.requests;
  target.gate.service.assertAlive();
  if (shape === 'booking' && target.nextSlot > firstSlot + requests + SLOT_SLACK) throw new Error(`${label}: built ${target.nextSlot - firstSlot} bookings for ${requests} requests`);
  context.log(`${label}: ${Math.round(requestsPerSecond)} req/s, p50 ${fixed(result.p50, 2)} ms, cpu ${fixed(cpuMs, 2)} ms/request`);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return { requestsPerSecond, p50: result.p50, cpuMs };
}

/** An arm's cells of one round as one: its requests over its time (the cells are the same size), CPU and p50 averaged. */
function combined(cells: readonly Cell[]): Cell {
  const mean = (key: keyof Cell): number => cells.reduce((sum, c) => sum + c[key], 0) / cells.length;
  return { requestsPerSecond: cells.length / cells.reduce((sum, c) => sum + 1 / c.requestsPerSecond, 0), p50: mean('p50'), cpuMs: mean('cpuMs') };
}

function table(results: readonly ShapeResult[]): string {
  const right = (header: string) => ({ header, align: 'right' as const });
  const rows = results.map(({ shape, rounds }) => {
    const ratios = rounds.map((r) => r.on.requestsPerSecond / r.off.requestsPerSecond);
    const of = (arm: Arm, key: keyof Cell): number => median(rounds.map((r) => r[arm][key]));
    return [
      shape,
      String(Math.round(of('off', 'requestsPerSecond'))),
      String(Math.round(of('on', 'requestsPerSecond'))),
      fixed(of('on', 'p50'), 2),
      `${fixed(median(ratios), 2)}×`,
      `${fixed(Math.min(...ratios), 2)}–${fixed(Math.max(...ratios), 2)}×`,
      `${fixed(of('off', 'cpuMs'), 2)} / ${fixed(of('on', 'cpuMs'), 2)}`,
      `${fixed(median(rounds.map((r) => r.off.cpuMs / r.on.cpuMs)), 2)}×`,
      median(ratios) >= 0.8 ? 'met' : 'not met',
    ];
  });
  return markdownTable(
    [{ header: 'Write' }, right('Rules off req/s'), right('Rules on req/s'), right('Rules on p50 ms'), right('On / off (median)'), right('Spread'), right('CPU ms/req off / on'), right('CPU off / on'), { header: '≥ 0.8×' }],
    rows,
  );
}

/** Every round, so the median can be checked against what it was taken from. */
function roundsTable(results: readonly ShapeResult[]): string {
  const right = (header: string) => ({ header, align: 'right' as const });
  const rows = results.flatMap(({ shape, rounds, cellRequests }) =>
    rounds.map((r, i) => [
      `${shape} ${i + 1}`,
      i % 2 === 0 ? 'off on on off' : 'on off off on',
      String(cellRequests),
      String(Math.round(r.off.requestsPerSecond)),
      String(Math.round(r.on.requestsPerSecond)),
      `${fixed(r.on.requestsPerSecond / r.off.requestsPerSecond, 2)}×`,
      `${fixed(r.off.cpuMs, 2)} / ${fixed(r.on.cpuMs, 2)}`,
    ]),
  );
  return markdownTable([{ header: 'Round' }, { header: 'Order' }, right('Requests per cell'), right('Off req/s'), right('On req/s'), right('On / off'), right('CPU ms/req off / on')], rows);
}

function notes(prescriptions: number, loadAtStart: number, loadAtEnd: number, rounds: number): string {
  return [
    '## What was measured',
    '',
    `- Rounds: ${rounds} per write, each two cells per arm in the order off, on, on, off (or on, off, off, on: the arm going first alternates), every cell the same fixed number of the same requests (set from the warm-up's rate to take about half of BENCH_SECONDS); a round's rate per arm is its two cells' requests over their time. **On / off (median)** is the median of the rounds' ratios, **Spread** their lowest and highest. CPU ms/req is the server process's CPU time (user + system, all threads) per request, median over the rounds: it does not count time spent waiting for a core, so it is the steadier figure on a shared machine.`,
    `- Dispense: \`POST MedicationDispense\` (completed) against ${prescriptions} active prescriptions in turn (each allowing a million fills), ${CONNECTIONS} connections, embedded store, backend-service token. With the rules each dispense also reads the prescription (with the running total of its earlier dispenses; from the rules' in-process view of prescriptions, src/workflow/record-view.ts, which keeps the version the previous dispense derived), checks the medication, and commits a new version of it carrying the new total (the precondition that stops racing dispenses), whose search-value rows the store leaves as they are (\`WriteOp.sameSearchValues\`: only the total, kept out of them, changed).`,
    `- Booking: \`POST Appointment\` (booked) of a fresh free slot each time, ${PRACTITIONERS} practitioners with one schedule each. With the rules each booking also takes the practitioner's lock, reads its slot, looks up the practitioner's schedule and the appointments and busy slots holding an hour of the booking (by the hold keys kept in their index, answered from the rules' in-process view of them, src/workflow/hold-view.ts, which a day's keys are loaded into from the store once and every commit keeps; a slot keeps its schedule's hours whatever its status, so the view holds the day's free slots too and answers the slot's read), and commits the slot as busy (its hold keys unchanged). The derived versions (prescription, slot) change only their status: they are not validated again, and their search values are the read version's with those of the status replaced.`,
    '- The cost per dispense no longer grows with the dispenses per prescription (a running total is kept with the prescription).',
    `- Load average (1 min): ${loadAtStart.toFixed(2)} when the scenario started, ${loadAtEnd.toFixed(2)} when it ended, on ${os.cpus().length} cores; other work shared the machine, so compare the ratios, not the req/s.`,
  ].join('\n');
}

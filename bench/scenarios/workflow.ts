import os from 'node:os';
import type autocannon from 'autocannon';
import { startPair, type FhirGateUnderTest } from '../lib/fhirgate.js';
import { measure, type Measurement } from '../lib/load.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { fixed, markdownTable } from '../lib/table.js';

/**
 * Issue 17: what the clinical workflow rules cost on the write path. Two FhirGates, one with the
 * rules (FHIR_WORKFLOW_RULES=true, the default) and one without, take the same writes: dispenses
 * against active prescriptions (each dispense reads its prescription, with the running total of its
 * earlier dispenses, and writes a new version of it), and bookings of free slots (each reads its slot, looks up the
 * practitioner's appointments and busy slots holding its hours, and makes the slot busy). Target: ≥ 0.8×.
 */

const FHIR_JSON = 'application/fhir+json';
const CONNECTIONS = 8;
const SETTLE_MS = 300;
const PRACTITIONERS = 20;
const SLOT_MINUTES = 15;
const DAY0 = Date.parse('2030-01-01T00:00:00Z');

export interface Target {
  gate: FhirGateUnderTest;
  prescriptions: number;
  slots: number;
  /** Next slot to book: every booking takes a slot no earlier request took. */
  nextSlot: number;
}

export const workflow: Scenario = {
  name: 'workflow',
  description: 'dispense and booking throughput with the workflow rules on, as ratios to the rules off',
  async run(context) {
    const { settings, processes, log } = context;
    const loadAtStart = os.loadavg()[0];
    const prescriptions = settings.quick ? 50 : 200;
    const slots = settings.quick ? 3000 : 12000;
    const gates = await startPair(processes, { name: 'workflow rules', clientId: 'bench-workflow', variants: { on: { FHIR_WORKFLOW_RULES: 'true' }, off: { FHIR_WORKFLOW_RULES: 'false' } } });
    const targets: Record<'on' | 'off', Target> = {} as never;
    for (const rules of ['on', 'off'] as const) {
      targets[rules] = { gate: gates[rules], prescriptions, slots, nextSlot: 0 };
      log(`rules ${rules}: seeding ${prescriptions} prescriptions and ${slots} slots`);
      await seed(targets[rules]);
    }
    const rows: string[][] = [];
    for (const shape of ['dispense', 'booking'] as const) {
      await cell(context, targets.off, shape, settings.warmupSeconds, 'warm-up ');
      await cell(context, targets.on, shape, settings.warmupSeconds, 'warm-up ');
      const off = await cell(context, targets.off, shape, settings.seconds);
      const on = await cell(context, targets.on, shape, settings.seconds);
      rows.push([shape, String(Math.round(off.requestsPerSecond)), String(Math.round(on.requestsPerSecond)), fixed(on.p50, 2), `${fixed(on.requestsPerSecond / off.requestsPerSecond, 2)}×`]);
    }
    return { title: 'Workflow rules: dispense and booking throughput', body: [table(rows), '', notes(prescriptions, loadAtStart)].join('\n') };
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

async function cell(context: ScenarioContext, target: Target, shape: 'dispense' | 'booking', seconds: number, phase = ''): Promise<Measurement> {
  const label = `${phase}${shape} ${target.gate.service.name}`;
  const result = await measure({ origin: target.gate.service.origin, connections: CONNECTIONS, seconds, request: request(target, shape), label });
  target.gate.service.assertAlive();
  context.log(`${label}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${fixed(result.p50, 2)} ms`);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return result;
}

function table(rows: string[][]): string {
  const right = (header: string) => ({ header, align: 'right' as const });
  return markdownTable([{ header: 'Write' }, right('Rules off req/s'), right('Rules on req/s'), right('Rules on p50 ms'), right('On / off')], rows);
}

function notes(prescriptions: number, load: number): string {
  return [
    '## What was measured',
    '',
    `- Dispense: \`POST MedicationDispense\` (completed) against ${prescriptions} active prescriptions in turn (each allowing a million fills), ${CONNECTIONS} connections, embedded store, backend-service token. With the rules each dispense also reads the prescription (with the running total of its earlier dispenses), checks the medication, and commits a new version of it carrying the new total (the precondition that stops racing dispenses).`,
    `- Booking: \`POST Appointment\` (booked) of a fresh free slot each time, ${PRACTITIONERS} practitioners with one schedule each. With the rules each booking also takes the practitioner's lock, reads its slot, looks up the practitioner's schedule and the appointments and busy slots holding an hour of the booking (by the hold keys kept in their index), and commits the slot as busy. The derived versions (prescription, slot) change only their status: they are not validated again, and their search values are the read version's with those of the status replaced.`,
    '- The cost per dispense no longer grows with the dispenses per prescription (a running total is kept with the prescription); the measured cells end with some hundred dispenses per prescription.',
    `- Load average (1 min) when the scenario started: ${load.toFixed(2)} on ${os.cpus().length} cores; other work shared the machine, so compare the ratios, not the req/s.`,
  ].join('\n');
}

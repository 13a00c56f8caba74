import os from 'node:os';
import type { Measurement } from '../lib/load.js';
import { fixed, markdownTable } from '../lib/table.js';

/**
 * The goals of issue 14 (read and write path: pay each cost once), checked against one run of
 * `http-crud`: every ratio compares cells measured back to back in the same run.
 */
export interface TargetCells {
  read1: Measurement;
  read16: Measurement;
  bareRead16: Measurement;
  create16: Measurement;
  bareCreate16: Measurement;
  /** Reads at 16 connections, defaults / `FHIRGATE_ENCRYPTED_ELEMENTS={}` and `AUDIT_SINK=log`: the median of interleaved rounds. */
  secureRelaxed: number;
}

interface Target {
  what: string;
  measured: number;
  text: string;
  goal: string;
  met: boolean;
}

const ratio = (a: Measurement, b: Measurement): number => a.requestsPerSecond / b.requestsPerSecond;

export function targetsTable(cells: TargetCells): string {
  const targets: Target[] = [
    { what: 'read by id, 16 connections: FhirGate / bare Koa', measured: ratio(cells.read16, cells.bareRead16), text: '', goal: '≥ 0.25×', met: false },
    { what: 'read by id, 1 connection: FhirGate p50', measured: cells.read1.p50, text: '', goal: '≤ 1.5 ms (idle machine)', met: false },
    { what: 'create, 16 connections: FhirGate / bare Koa', measured: ratio(cells.create16, cells.bareCreate16), text: '', goal: '≥ 0.10×', met: false },
    { what: 'read by id, 16 connections: secure defaults / encryption off + AUDIT_SINK=log', measured: cells.secureRelaxed, text: '', goal: '≥ 0.60×', met: false },
  ];
  const [readRatio, p50, createRatio, secureRatio] = targets;
  readRatio.met = readRatio.measured >= 0.25;
  p50.met = p50.measured <= 1.5;
  createRatio.met = createRatio.measured >= 0.1;
  secureRatio.met = secureRatio.measured >= 0.6;
  for (const t of targets) t.text = t === p50 ? `${fixed(t.measured, 2)} ms` : `${fixed(t.measured, 2)}×`;
  return markdownTable(
    [{ header: 'Issue 14 target' }, { header: 'Measured', align: 'right' }, { header: 'Goal', align: 'right' }, { header: 'Met', align: 'right' }],
    targets.map((t) => [t.what, t.text, t.goal, t.met ? 'yes' : 'no']),
  );
}

/** The 1/5/15-minute load average, for the notes: a loaded machine makes every number noisier. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

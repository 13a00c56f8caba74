import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT_DIR } from './processes.js';
import type { BenchSettings, ScenarioResult } from './scenario.js';

export const RESULTS_DIR = path.join(ROOT_DIR, 'bench', 'results');

/** The full Markdown report of one scenario: title, machine, caveat, then the scenario's own body. */
export function renderReport(result: ScenarioResult, settings: BenchSettings, startedAt: Date): string {
  const cpus = os.cpus();
  const cpuModel = cpus[0]?.model.trim() ?? 'unknown';
  return [
    `# ${result.title}`,
    '',
    `- Date: ${startedAt.toISOString()}`,
    `- Node: ${process.version} (${os.platform()} ${os.arch()})`,
    `- CPU: ${cpuModel}, ${cpus.length} cores; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Per cell: ${settings.seconds} s measured after ${settings.warmupSeconds} s warm-up${settings.quick ? ' (BENCH_QUICK smoke run)' : ''}`,
    '',
    '> **Read the ratios, not the absolute numbers.** Machines are noisy (other processes, CPU frequency',
    '> scaling, the load generator sharing the cores with the servers), so requests/s and latencies are',
    '> only comparable within one run on one machine. The FhirGate / bare Koa ratio cancels most of that',
    '> out and is the figure to track over time.',
    '',
    result.body.trimEnd(),
    '',
  ].join('\n');
}

/**
 * Writes `bench/results/<name>.md`. A quick smoke run goes to `<name>.quick.tmp` instead
 * (git-ignored), so it never replaces the numbers of a full run.
 */
export async function writeReport(name: string, markdown: string, settings: BenchSettings): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, settings.quick ? `${name}.quick.tmp` : `${name}.md`);
  await writeFile(file, markdown);
  return file;
}

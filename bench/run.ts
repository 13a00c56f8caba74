/**
 * `npm run bench [-- <scenario>...]`: runs the named benchmark scenarios (all when none is named),
 * prints each Markdown report to stdout and writes it to bench/results/<scenario>.md.
 *
 * Environment: BENCH_SECONDS (measured seconds per cell, default 5), BENCH_QUICK=1 (smoke run: small
 * seed data, 1-second cells unless BENCH_SECONDS says otherwise, report to a git-ignored .tmp file).
 */
import path from 'node:path';
import { createProcessGroup } from './lib/processes.js';
import { renderReport, writeReport } from './lib/report.js';
import type { BenchSettings, Scenario } from './lib/scenario.js';
import { consent } from './scenarios/consent.js';
import { encryption } from './scenarios/encryption.js';
import { hl7v2 } from './scenarios/hl7v2.js';
import { httpCrud } from './scenarios/http-crud.js';
import { transactions } from './scenarios/transactions.js';
import { search } from './scenarios/search.js';
import { validation } from './scenarios/validation.js';
import { workflow } from './scenarios/workflow.js';

/** Every scenario, in the order `npm run bench` runs them. */
const SCENARIOS: Scenario[] = [httpCrud, validation, search, transactions, encryption, hl7v2, consent, workflow];

function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const raw = env.BENCH_SECONDS;
  // A quick run may still take longer cells (BENCH_SECONDS): small seed data, steadier numbers on a loaded machine.
  if (quick && (raw === undefined || raw === '')) return { seconds: 1, warmupSeconds: 1, quick };
  const seconds = raw === undefined || raw === '' ? 5 : Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
    throw new Error(`BENCH_SECONDS must be a number of seconds between 0 and 600, got '${raw}'`);
  }
  return { seconds, warmupSeconds: quick ? 1 : Math.min(2, seconds), quick };
}

function selectScenarios(names: string[]): Scenario[] {
  if (names.length === 0) return SCENARIOS;
  return names.map((name) => {
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (!scenario) {
      const known = SCENARIOS.map((s) => `  ${s.name}: ${s.description}`).join('\n');
      throw new Error(`unknown benchmark '${name}'. Available:\n${known}`);
    }
    return scenario;
  });
}

const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

// Stopping the servers on a signal makes in-flight requests fail; those failures are not news.
let interrupted = false;

async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const scenarios = selectScenarios(process.argv.slice(2).filter((arg) => arg !== '--'));
  for (const scenario of scenarios) {
    // A fresh process group per scenario: each starts from clean servers and an empty store.
    const processes = createProcessGroup();
    const stopOnSignal = (signal: NodeJS.Signals): void => {
      interrupted = true;
      log(`${signal}: stopping servers`);
      void processes.stopAll().finally(() => process.exit(130));
    };
    const killOnExit = (): void => processes.killAllSync();
    process.once('SIGINT', stopOnSignal);
    process.once('SIGTERM', stopOnSignal);
    // Last resort for crashes that skip `finally` (uncaught exceptions, process.exit elsewhere).
    process.once('exit', killOnExit);
    try {
      log(`${scenario.name}: ${scenario.description}`);
      const startedAt = new Date();
      const result = await scenario.run({ settings, processes, log });
      const markdown = renderReport(result, settings, startedAt);
      process.stdout.write(`${markdown}\n`);
      const file = await writeReport(scenario.name, markdown, settings);
      log(`wrote ${path.relative(process.cwd(), file)}`);
    } finally {
      await processes.stopAll();
      process.off('SIGINT', stopOnSignal);
      process.off('SIGTERM', stopOnSignal);
      process.off('exit', killOnExit);
    }
  }
}

main().catch((err: unknown) => {
  if (interrupted) return;
  process.stderr.write(`\n[bench] FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

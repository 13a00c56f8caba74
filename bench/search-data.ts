/**
 * `npx tsx bench/search-data.ts <patients> <dir>`: a DATA_DIR holding the search scenario's data
 * set, kept for profiling searches (`bench/profile.ts search`, issue 13). Starts FhirGate over `dir`
 * (created when missing) as the scenario does, loads patients [0, patients) with their resources
 * through the API, stops it, and prints one line per query of the scenario at that size: its name,
 * a tab, and its paths as PROFILE_PATHS takes them, e.g.
 *   PROFILE_DATA_DIR=dir PROFILE_PATHS="$(grep -P '^family\t' paths.tsv | cut -f2)" npx tsx bench/profile.ts search 1 10
 * Loading 20k patients takes 2-6 minutes on the 2-core machine.
 */
import { mkdir } from 'node:fs/promises';
import { startFhirGate } from './lib/fhirgate.js';
import { DEFAULT_SEED } from './lib/generate.js';
import { createProcessGroup } from './lib/processes.js';
import { loadPatients } from './scenarios/search-load.js';
import { searchQueries } from './scenarios/search-queries.js';
import { LOAD_ENV } from './scenarios/search.js';

async function main(): Promise<void> {
  const [patientsArg, dataDir] = process.argv.slice(2).filter((a) => a !== '--');
  const patients = Number(patientsArg);
  if (!Number.isInteger(patients) || patients < 100 || !dataDir) throw new Error('usage: bench/search-data.ts <patients (≥ 100)> <dir>');
  await mkdir(dataDir, { recursive: true });
  const processes = createProcessGroup();
  try {
    const { service, authorization } = await startFhirGate(processes, { clientId: 'bench-search', env: LOAD_ENV, dataDir });
    const load = await loadPatients({ origin: service.origin, authorization }, DEFAULT_SEED, 0, patients, (m) => process.stderr.write(`${m}\n`));
    process.stderr.write(`loaded ${load.resources} resources in ${load.seconds.toFixed(0)} s into ${dataDir}\n`);
    for (const query of searchQueries(DEFAULT_SEED, patients)) process.stdout.write(`${query.name}\t${query.paths.join(' ')}\n`);
  } finally {
    await processes.stopAll();
  }
}

await main();

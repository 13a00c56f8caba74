import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT_DIR } from './processes.js';

/** How a benchmark starts FhirGate: the arguments after `node`, extra environment, and a line for the report. */
export interface ServerCommand {
  args: string[];
  env: Record<string, string>;
  description: string;
}

let built: Promise<void> | undefined;

/** `tsc -p tsconfig.build.json` (what `npm start`'s prestart runs), once per benchmark process. */
function buildOnce(): Promise<void> {
  built ??= promisify(execFile)(process.execPath, [path.join(ROOT_DIR, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT_DIR }).then(() => undefined);
  return built;
}

/**
 * FhirGate as users run it: `npm start` builds `dist/` from the sources and runs `node dist/main.js`
 * with `MALLOC_ARENA_MAX=2` (package.json, README), so start-up time and RSS are the product's, not
 * the tsx loader's (which adds ~1 s to start and ~35 MiB of RSS). `BENCH_FROM_SOURCE=1` runs
 * `src/main.ts` through tsx instead, skipping the build while iterating.
 */
export async function fhirGateCommand(env: NodeJS.ProcessEnv = process.env): Promise<ServerCommand> {
  const description = serverDescription(env);
  if (fromSource(env)) return { args: ['--import', 'tsx', 'src/main.ts'], env: {}, description };
  await buildOnce();
  return { args: ['dist/main.js'], env: { MALLOC_ARENA_MAX: '2' }, description };
}

const fromSource = (env: NodeJS.ProcessEnv): boolean => env.BENCH_FROM_SOURCE === '1' || env.BENCH_FROM_SOURCE === 'true';

/** The report's words for how FhirGate ran. */
export function serverDescription(env: NodeJS.ProcessEnv = process.env): string {
  return fromSource(env)
    ? '`node --import tsx src/main.ts` (from source, `BENCH_FROM_SOURCE=1`)'
    : '`node dist/main.js` with `MALLOC_ARENA_MAX=2`, as `npm start` runs it (built from the sources at the start of the run)';
}

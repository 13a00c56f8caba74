import path from 'node:path';
import { inject } from 'vitest';

const ROOT_DIR = path.resolve(import.meta.dirname, '../..');

/**
 * The arguments after `node` that run one of the project's TypeScript files (`src/cli/backup.ts`,
 * `src/main.ts`, ...; relative to the root) as its own process: the JavaScript compiled once per
 * run by test/support/script-build.ts, or through tsx when the run has no such build.
 */
export function nodeScript(file: string): string[] {
  const built = inject('scriptBuildDir');
  return built ? [path.join(built, file.replace(/\.ts$/, '.js'))] : ['--import', 'tsx', path.join(ROOT_DIR, file)];
}

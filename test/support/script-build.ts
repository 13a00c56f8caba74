import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';

/**
 * Vitest globalSetup: compiles the TypeScript that tests run as their own processes (the commands in
 * src/cli, `src/main.ts`, `scripts/auth.ts`, test/store/fixtures) to JavaScript once per test run, so
 * each child process starts as `node <file>.js` instead of `node --import tsx <file>.ts`, which pays
 * for tsx's loader (resolve and load hooks on every import) in every spawn (about a quarter of a
 * command's start-up). Same compiler as tsx (esbuild), file by file, imports untouched.
 *
 * The build is a stand-in for the project root: the compiled folders beside links to everything
 * else (node_modules, portal/, profiles/, terminology/, package.json), so paths a command finds
 * from its own location (`import.meta.url`, README "Configuration") resolve as in the real root.
 * Tests reach it through `nodeScript()` (test/support/node-script.ts).
 */
const ROOT_DIR = path.resolve(import.meta.dirname, '../..');
const COMPILED = ['src', 'scripts', 'test/store/fixtures'];

async function typescriptBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')).map((e) => path.join(e.parentPath, e.name));
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-test-build-'));
  const entryPoints = (await Promise.all(COMPILED.map((dir) => typescriptBelow(path.join(ROOT_DIR, dir))))).flat();
  await build({ entryPoints, outdir: outDir, outbase: ROOT_DIR, format: 'esm', platform: 'node', target: 'node20', bundle: false, logLevel: 'warning' });
  const compiledTop = new Set(COMPILED.map((dir) => dir.split('/')[0]));
  for (const name of await readdir(ROOT_DIR)) {
    if (!compiledTop.has(name) && name !== '.git') await symlink(path.join(ROOT_DIR, name), path.join(outDir, name));
  }
  project.provide('scriptBuildDir', outDir);
  return () => rm(outDir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    scriptBuildDir: string;
  }
}

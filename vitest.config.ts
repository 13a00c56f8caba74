import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file starts its own server(s) on free ports with its own data folder; files run in parallel processes.
    pool: 'forks',
    // Vitest's default is one worker less than the cores: a single worker on a 2-core machine, which
    // leaves a core idle while a file waits on its servers, sockets and child processes.
    maxWorkers: 2,
    // A worker imports the app's module graph and builds the R4 definitions and the compiled
    // validator once, for every file it runs (issue 16), instead of once per file (about 2 s of
    // import per file, a third of the suite). Files stay independent: each starts its own servers,
    // data folders and ports, and nothing in src/ keeps per-process state but these caches.
    isolate: false,
    // The commands tests run as their own processes, compiled once per run (test/support/node-script.ts).
    globalSetup: ['test/support/corpus-dir.ts', 'test/support/script-build.ts'],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file starts its own server(s) on free ports with its own data folder; files run in parallel processes.
    pool: 'forks',
    // The commands tests run as their own processes, compiled once per run (test/support/node-script.ts).
    globalSetup: ['test/support/script-build.ts'],
  },
});

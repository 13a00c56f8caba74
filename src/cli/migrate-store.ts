/**
 * `npm run migrate -- --from legacy --to embedded` (or `--to mongo`): converts a DATA_DIR still in
 * the embedded store's old journal/snapshot format (before SQLite, issue 13), then moves the old
 * files to `DATA_DIR/pre-sqlite/` so the server opens the directory; see migrate-legacy.ts.
 *
 * `npm run migrate -- --from embedded --to mongo` (or `--from mongo --to embedded`): copies every
 * resource with its whole history between the embedded store (DATA_DIR) and MongoDB (MONGODB_URI,
 * MONGODB_DB), with a progress bar and a final count check (issue 5). Safe to run again: it copies
 * only what the target lacks. Stop the server using the embedded store first (its directory is
 * locked while open). Exit code 0 when the stores match, 1 when they do not, 2 on a usage error.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { r4Definitions } from '../fhir/definitions.js';
import { createRegistry } from '../fhir/registry.js';
import { createLogger, type Logger } from '../logger.js';
import { createSearchIndex } from '../search/index/index.js';
import { createStore, type StoreKind } from '../store/create-store.js';
import type { SearchParamSource } from '../store/mongo/index.js';
import { createEmbeddedStore } from '../store/embedded/index.js';
import { findLegacyGeneration, LEGACY_ARCHIVE_DIR, listLegacyFiles, moveLegacyFiles } from '../store/legacy/legacy-files.js';
import type { StorePort } from '../store/port.js';
import { migrateStore, parseMigrateArgs, UsageError, type MigrationReport } from './migrate.js';
import { migrateLegacy, type LegacyMigrationReport } from './migrate-legacy.js';
import { createProgressBar } from './progress-bar.js';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = 'Usage: npm run migrate -- --from legacy|embedded|mongo --to embedded|mongo';

/** Waits for a store to become ready (MongoDB connects in the background), or fails with a clear message. */
async function ready(store: StorePort, kind: StoreKind, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await store.ping())) {
    if (Date.now() > deadline) throw new Error(`The ${kind} store is not reachable (see the log above)`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function summary(report: MigrationReport): string {
  const { source, target } = report.counts;
  const lines = [
    `Resources: ${report.resources}; copied ${report.copiedVersions} versions of ${report.copiedResources}, ${report.upToDate} already up to date.`,
    `Count check: source ${source.current} resources / ${source.history} versions, target ${target.current} / ${target.history}: ${report.countsMatch ? 'match' : 'MISMATCH'}.`,
    ...report.conflicts.map((c) => `Not copied: ${c}`),
  ];
  return lines.join('\n');
}

function legacySummary(report: LegacyMigrationReport): string {
  const { expected, target } = report;
  return [
    `Copied ${report.copiedVersions} versions (${report.skippedVersions} already copied by an earlier run), replayed ${report.rewrittenVersions} in-place rewrites.`,
    `Count check: old files ${expected.current} resources / ${expected.history} versions, target ${target.current} / ${target.history}: ${report.countsMatch ? 'match' : 'MISMATCH'}.`,
  ].join('\n');
}

/** `--from legacy`: the old files of DATA_DIR into `target`, then out of the server's way. */
async function migrateFromLegacy(config: Config, logger: Logger, params: SearchParamSource, to: StoreKind): Promise<number> {
  const dir = config.dataDir;
  const generation = await findLegacyGeneration(dir);
  const moved = path.join(dir, LEGACY_ARCHIVE_DIR);
  if (!generation) {
    const done = (await listLegacyFiles(moved)).length > 0;
    process.stderr.write(done ? `Nothing to convert: ${dir} was converted already; its old files are in ${moved}.\n` : `Nothing to convert: ${dir} holds no data in the old journal format.\n`);
    return 0;
  }
  if ((await listLegacyFiles(moved)).length > 0) {
    // An earlier run checked the counts and was interrupted while moving the files: finish the move.
    await moveLegacyFiles(dir);
    process.stderr.write(`Finished moving the old files of an earlier conversion to ${moved}.\n`);
    return 0;
  }
  const target = to === 'embedded' ? createEmbeddedStore({ dir, logger: logger.child({ component: 'store' }), allowLegacyFiles: true }) : await createStore(config, logger, params, to);
  let report: LegacyMigrationReport;
  try {
    await target.open();
    await ready(target, to, config.mongodb.serverSelectionTimeoutMs + config.mongodb.connectTimeoutMs);
    process.stderr.write(`Converting the old journal format in ${dir} → ${to === 'embedded' ? 'SQLite (embedded store)' : `MongoDB database ${config.mongodb.db}`}\n`);
    const bar = createProgressBar(process.stderr);
    report = await migrateLegacy(generation, target, { onProgress: (done, total) => bar.update(done, total, 'bytes ') });
    bar.finish(legacySummary(report));
  } finally {
    await target.close();
  }
  if (!report.countsMatch) {
    process.stderr.write(`The old files were left in place: the counts differ. Nothing was lost; see the messages above.\n`);
    return 1;
  }
  const destination = await moveLegacyFiles(dir);
  process.stderr.write(`The old files were moved to ${destination}; keep them until you have checked the server, then delete them.\n`);
  return 0;
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const { from, to } = parseMigrateArgs(args.filter((a) => a !== '--'));
  const config = loadConfig(process.env, rootDir);
  if (!config.mongodbUri && (from === 'mongo' || to === 'mongo')) throw new ConfigError('MONGODB_URI must be set: it names the MongoDB side of the copy');
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const definitions = r4Definitions();
  const types = createRegistry(definitions).types;
  const searchIndex = createSearchIndex({ definitions, resourceTypes: types });
  const params = { resourceTypes: types, params: (type: string) => searchIndex.params(type) };
  if (from === 'legacy') return migrateFromLegacy(config, logger, params, to);
  const source = await createStore(config, logger, params, from);
  const target = await createStore(config, logger, params, to);
  try {
    const waitMs = config.mongodb.serverSelectionTimeoutMs + config.mongodb.connectTimeoutMs;
    for (const [store, kind] of [[source, from], [target, to]] as const) {
      await store.open();
      await ready(store, kind, waitMs);
    }
    process.stderr.write(`Copying ${from} → ${to} (MongoDB database ${config.mongodb.db}, DATA_DIR ${config.dataDir})\n`);
    const bar = createProgressBar(process.stderr);
    const report = await migrateStore(source, target, { onProgress: (done, total) => bar.update(done, total, 'resources ') });
    bar.finish(summary(report));
    return report.countsMatch && report.conflicts.length === 0 ? 0 : 1;
  } finally {
    await source.close();
    await target.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage = err instanceof UsageError;
    process.stderr.write(`migrate: ${err instanceof Error ? err.message : String(err)}\n${usage ? `${USAGE}\n` : ''}`);
    process.exit(usage || err instanceof ConfigError ? 2 : 1);
  },
);

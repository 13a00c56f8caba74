/**
 * `npm run audit:archive -- --older-than <days>`: moves the AuditEvents recorded more than
 * <days> days ago out of the store into the encrypted archive DATA_DIR/audit-archive/ (README
 * "The audit trail"; src/audit/archive.ts). `npm run audit:verify` checks archive and store as
 * one chain. Opens the store itself: with the embedded store, stop the server first (its
 * directory is locked while open). Exit code 0 when done, 1 on a failure (a broken chain is
 * never archived), 2 on a usage error.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createApp } from '../app.js';
import { archiveAuditEvents } from '../audit/archive.js';
import { AUDIT_ARCHIVE_DIR } from '../audit/archive-files.js';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createProgressBar } from './progress-bar.js';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = 'Usage: npm run audit:archive -- --older-than <days>';
const DAY_MS = 24 * 60 * 60 * 1000;

class UsageError extends Error {}

/** The age (in days) from the command line. */
function parseArchiveArgs(args: string[]): { olderThanDays: number } {
  let value: string | undefined;
  try {
    value = parseArgs({ args, options: { 'older-than': { type: 'string' } }, strict: true, allowPositionals: false }).values['older-than'];
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const days = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(days) || days < 0) throw new UsageError('--older-than must be a number of days (0 or more)');
  return { olderThanDays: days };
}

async function main(args: string[]): Promise<number> {
  const { olderThanDays } = parseArchiveArgs(args.filter((a) => a !== '--'));
  const config = loadConfig(process.env, rootDir);
  const app = await createApp(config, createLogger('warn'));
  try {
    const dir = path.join(config.dataDir, AUDIT_ARCHIVE_DIR);
    const before = new Date(Date.now() - olderThanDays * DAY_MS);
    const estimate = await app.store.count('current', { resourceType: 'AuditEvent', lastUpdated: { $lt: before.toISOString() } });
    process.stderr.write(`Archiving AuditEvents recorded before ${before.toISOString()} to ${dir}\n`);
    const bar = createProgressBar(process.stderr);
    const report = await archiveAuditEvents({
      store: app.store,
      codec: app.crypto.codec,
      sealer: app.crypto.sealer,
      dir,
      before,
      onProgress: (done) => bar.update(done, Math.max(done, estimate), 'events '),
    });
    const lines = [
      report.archived === 0 ? 'No AuditEvent to archive.' : `Archived ${report.archived} AuditEvents to ${report.files.map((f) => path.basename(f.path)).join(', ')} and removed them from the store.`,
      ...(report.finishedPurge > 0 ? [`Finished an interrupted run: removed ${report.finishedPurge} already archived AuditEvents from the store.`] : []),
      report.firstInStore ? `The store's trail now starts at event ${report.firstInStore}.` : 'The store holds no chained AuditEvent.',
    ];
    bar.finish(lines.join('\n'));
    return 0;
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage = err instanceof UsageError;
    process.stderr.write(`audit:archive: ${err instanceof Error ? err.message : String(err)}\n${usage ? `${USAGE}\n` : ''}`);
    process.exit(usage || err instanceof ConfigError ? 2 : 1);
  },
);

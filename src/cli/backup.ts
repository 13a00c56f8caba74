/**
 * `npm run backup -- [--out <file>]` (issue 18, README "Backup and restore"): an online,
 * consistent copy of DATA_DIR — the embedded store's database (SQLite online backup, as of one
 * commit), the authorization server's files, the exchange recipients, the HL7 v2 archive and the
 * audit archive — encrypted with the key ring's current at-rest key, with a progress bar. Runs
 * beside a running server; the key ring (`crypto/`) is never in the backup. With MONGODB_URI the
 * resources are in MongoDB: back them up with mongodump; this backs up DATA_DIR's files.
 * Exit code 0 on success, 1 on failure, 2 on a usage or configuration error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackup } from '../backup/backup.js';
import { ConfigError, loadConfig } from '../config.js';
import { createSealer } from '../crypto/sealed.js';
import { KeyRingError } from '../crypto/key-ring.js';
import { readKeyRing } from '../crypto/key-source.js';
import { createProgressBar } from './progress-bar.js';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = 'Usage: npm run backup -- [--out <file>]';

class UsageError extends Error {}

/** Paths are taken from where `npm run` was typed (INIT_CWD), not the package folder npm runs in. */
const fromCwd = (file: string): string => path.resolve(process.env.INIT_CWD ?? process.cwd(), file);

function outOf(args: string[], now: Date): string {
  const rest = args.filter((a) => a !== '--');
  const i = rest.indexOf('--out');
  if (rest.some((a, j) => a !== '--out' && j !== i + 1) || (i >= 0 && !rest[i + 1])) throw new UsageError('unknown arguments');
  return fromCwd(i >= 0 ? rest[i + 1] : `fhirgate-backup-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}.fgbak`);
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const out = outOf(args, new Date());
  const config = loadConfig(process.env, rootDir);
  const ring = await readKeyRing(config.crypto.keys).catch((err: unknown) => {
    throw err instanceof KeyRingError ? new ConfigError(err.message) : err;
  });
  const softwareVersion = (JSON.parse(readFileSync(path.join(rootDir, 'package.json'), 'utf8')) as { version: string }).version;
  process.stderr.write(`Backing up ${config.dataDir} → ${out} (encrypted with at-rest key ${ring.atRest.kid})\n`);
  const bar = createProgressBar(process.stderr);
  const summary = await createBackup({
    dataDir: config.dataDir,
    out,
    sealer: createSealer({ current: ring }),
    mongodb: Boolean(config.mongodbUri),
    softwareVersion,
    onProgress: (done, total) => bar.update(Math.round(done / 1024), Math.round(total / 1024), 'KiB '),
    onStep: (message) => process.stderr.write(`${message}\n`),
  });
  const { counts, files } = summary.manifest;
  bar.finish(
    [
      `Backup ${summary.id} written: ${out} (${mib(summary.bytes)}, ${files.length} files).`,
      counts ? `Store: ${counts.resources} resources, ${counts.versions} versions, ${counts.auditEvents} AuditEvents.` : '',
      config.mongodbUri ? `The resources are in MongoDB (database ${config.mongodb.db}), not in this backup: back them up with mongodump (README "Backup and restore").` : '',
      summary.notCovered.length ? `Not in the backup (unknown to it): ${summary.notCovered.join(', ')}.` : '',
      `To restore it you need the key ring holding at-rest key ${ring.atRest.kid}; it is not in the backup.`,
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage = err instanceof UsageError;
    process.stderr.write(`\nbackup failed: ${err instanceof Error ? err.message : String(err)}\n${usage ? `${USAGE}\n` : ''}`);
    process.exit(usage || err instanceof ConfigError ? 2 : 1);
  },
);

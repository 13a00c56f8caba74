/**
 * `npm run restore -- <backup file> [--force]` (issue 18, README "Backup and restore"): unpacks
 * a backup of `npm run backup` into DATA_DIR, which must be empty (its `crypto/` key ring aside)
 * unless --force, and not in use by a server. Needs the key ring the backup was encrypted with
 * (FHIRGATE_KEYS_FILE, FHIRGATE_KEYS, or DATA_DIR/crypto/keys.json put in place first). The whole
 * backup is decrypted and checked before anything in DATA_DIR changes.
 * Exit code 0 on success, 1 on failure (nothing restored), 2 on a usage or configuration error.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { restoreBackup } from '../backup/restore.js';
import { ConfigError, loadConfig } from '../config.js';
import { KeyRingError } from '../crypto/key-ring.js';
import { readKeyRing } from '../crypto/key-source.js';
import { createSealer } from '../crypto/sealed.js';
import { createProgressBar } from './progress-bar.js';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = 'Usage: npm run restore -- <backup file> [--force]';

class UsageError extends Error {}

async function main(args: string[], env: NodeJS.ProcessEnv, stderr: NodeJS.WriteStream): Promise<number> {
  if (args.includes('--help')) {
    stderr.write(`${USAGE}\n`);
    return 0;
  }
  const rest = args.filter((a) => a !== '--' && a !== '--force');
  if (rest.length !== 1 || rest[0].startsWith('--')) throw new UsageError('name one backup file');
  const file = path.resolve(env.INIT_CWD ?? process.cwd(), rest[0]);
  const config = loadConfig(env, rootDir);
  const ring = await readKeyRing(config.crypto.keys).catch((err: unknown) => {
    throw err instanceof KeyRingError ? new ConfigError(`${err.message}. A restore needs the key ring the backup was encrypted with`) : err;
  });
  stderr.write(`Restoring ${file} → ${config.dataDir}\n`);
  const bar = createProgressBar(stderr);
  const { manifest, replaced } = await restoreBackup({
    file,
    dataDir: config.dataDir,
    sealer: createSealer({ current: ring }),
    force: args.includes('--force'),
    onProgress: (done, total) => bar.update(Math.round(done / 1024), Math.round(total / 1024), 'KiB '),
  });
  const { counts } = manifest;
  bar.finish(
    [
      `Restored backup ${manifest.id} of ${manifest.createdAt} (FhirGate ${manifest.softwareVersion}): ${manifest.files.length} files.`,
      counts ? `Store: ${counts.resources} resources, ${counts.versions} versions, ${counts.auditEvents} AuditEvents, as recorded in the backup.` : '',
      manifest.store === 'mongodb' ? 'The backup was made with MongoDB: restore the database with mongorestore (README "Backup and restore").' : '',
      replaced.length ? `Replaced: ${replaced.join(', ')}.` : '',
      'Start the server on this DATA_DIR, then run `npm run audit:verify` with the server stopped to check the audit chain.',
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return 0;
}

/**
 * The command with its exit code, for the entry point below and for tests (which run it in
 * process: a tsx child per case is seconds each).
 */
export async function runRestore(args: string[], env: NodeJS.ProcessEnv, stderr: NodeJS.WriteStream): Promise<number> {
  try {
    return await main(args, env, stderr);
  } catch (err) {
    const usage = err instanceof UsageError;
    stderr.write(`\nrestore failed: ${err instanceof Error ? err.message : String(err)}\n${usage ? `${USAGE}\n` : ''}`);
    return usage || err instanceof ConfigError ? 2 : 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void runRestore(process.argv.slice(2), process.env, process.stderr).then((code) => process.exit(code));
}

/**
 * `npm run rotate-keys -- [--new-key] [--all]`: re-encrypts every stored version not under the key
 * ring's current keys (issue 9), with a progress bar.
 *
 * - `--new-key` first puts a new at-rest key and a new index key at the front of the key ring
 *   file (FHIRGATE_KEYS_FILE, or the generated `DATA_DIR/crypto/keys.json`); the old keys stay,
 *   decrypt-only, until you remove them after the rotation (and restart).
 * - `--all` re-encrypts every version, also those already under the current key: after changing
 *   FHIRGATE_ENCRYPTED_ELEMENTS, or to encrypt data stored before encryption was on.
 *
 * With a server running on the same DATA_DIR, the server does the work (it reloads the key ring
 * and keeps serving) and this command shows its progress over the local control socket. With none,
 * the command opens the store itself.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../app.js';
import { ConfigError, loadConfig } from '../config.js';
import { requestRotation } from '../crypto/control.js';
import { withNewCurrentKeys } from '../crypto/key-ring.js';
import { describeSource, readJwkSet, writePrivateJson } from '../crypto/key-source.js';
import type { RotationProgress, RotationSummary } from '../crypto/rotation.js';
import { createLogger } from '../logger.js';
import { createProgressBar } from './progress-bar.js';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = 'Usage: npm run rotate-keys -- [--new-key] [--all]';

async function main(args: string[]): Promise<void> {
  const unknown = args.filter((a) => !['--new-key', '--all', '--'].includes(a));
  if (args.includes('--help') || unknown.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(unknown.length > 0 ? 2 : 0);
  }
  const config = loadConfig(process.env, rootDir);
  const source = config.crypto.keys;
  if (args.includes('--new-key')) {
    if (source.kind === 'env') {
      throw new ConfigError('The key ring comes from FHIRGATE_KEYS: put a new key first in it yourself, restart the server, then run rotate-keys without --new-key');
    }
    const rotated = withNewCurrentKeys(await readJwkSet(source));
    await writePrivateJson(source.path, rotated);
    const added = rotated.keys.slice(0, 2).map((k) => String(k.kid));
    process.stderr.write(`Added new current keys ${added.join(', ')} to ${describeSource(source)}; the previous keys stay for decryption.\n`);
  }
  const bar = createProgressBar(process.stderr);
  const onProgress = (p: RotationProgress): void => bar.update(p.done, p.total, p.pass > 1 ? `pass ${p.pass} ` : '');
  const options = { all: args.includes('--all') };
  let summary: RotationSummary | undefined = await requestRotation(config.crypto.controlSocket, options, onProgress);
  if (!summary) {
    process.stderr.write(`No server answers on ${config.crypto.controlSocket}; rotating with the store opened by this command.\n`);
    if (config.mongodbUri) process.stderr.write('MongoDB: every running FhirGate instance must already hold the new key ring (see README, "Rotating keys").\n');
    const app = await createApp(config, createLogger('warn'));
    try {
      summary = await app.crypto.rotate(options, onProgress);
    } finally {
      await app.close();
    }
  }
  bar.finish(
    `Done: ${summary.rewritten} of ${summary.versions} stored versions re-encrypted under key ${summary.atRestKid} (index key ${summary.indexKid}), ${summary.passes} pass(es), ${summary.seconds} s.${Object.entries(summary.steps ?? {})
      .map(([name, n]) => ` ${name}: ${n} record(s) re-encrypted.`)
      .join('')}`,
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`\nrotate-keys failed: ${message}\n`);
  process.exit(1);
});

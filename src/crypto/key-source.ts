import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { buildKeyRing, generateJwkSet, KeyRingError, type JwkSet, type KeyRing } from './key-ring.js';

/**
 * Where the key ring comes from (`Config.crypto.keys`): a file named by FHIRGATE_KEYS_FILE, the
 * JSON in FHIRGATE_KEYS, or — when neither is set — a file generated under `DATA_DIR/crypto` on
 * the first start, so `npm start` works on a fresh machine.
 */
export type KeySource = { kind: 'file'; path: string } | { kind: 'env'; json: string } | { kind: 'generated'; path: string };

/** How a source is named in messages (never its content). */
export function describeSource(source: KeySource): string {
  return source.kind === 'env' ? 'FHIRGATE_KEYS' : source.kind === 'file' ? `FHIRGATE_KEYS_FILE (${source.path})` : source.path;
}

async function readJson(source: KeySource): Promise<unknown> {
  const name = describeSource(source);
  let text: string;
  if (source.kind === 'env') {
    text = source.json;
  } else {
    try {
      text = await readFile(source.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new KeyRingError(code === 'ENOENT' ? `Key ring ${name} does not exist` : `Key ring ${name} cannot be read (${code ?? 'error'})`);
    }
  }
  try {
    return JSON.parse(text);
  } catch {
    // Never echo the parser's message: it quotes the text, which is key material.
    throw new KeyRingError(`Key ring ${name} is not valid JSON`);
  }
}

/** The JWK set of a source, parsed but not yet checked (the rotation command edits it). */
export async function readJwkSet(source: KeySource): Promise<JwkSet> {
  return (await readJson(source)) as JwkSet;
}

/** Reads and builds the key ring of a source. Throws KeyRingError with a clear message. */
export async function readKeyRing(source: KeySource, logger?: Logger): Promise<KeyRing> {
  const value = await readJson(source);
  if (source.kind !== 'env' && logger) await warnIfShared(source.path, logger);
  return buildKeyRing(value, describeSource(source));
}

async function warnIfShared(file: string, logger: Logger): Promise<void> {
  const { mode } = await stat(file);
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    logger.warn({ file, mode: (mode & 0o777).toString(8) }, 'crypto: the key ring file is readable by other users; chmod 600 it');
  }
}

/**
 * Writes JSON (a key ring, the recipients) atomically (temp file, fsync, rename) with mode 0600
 * in a 0700 folder: a reader sees the old content or the new one, never half of either.
 */
export async function writePrivateJson(file: string, set: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(set, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(temp, 0o600);
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/**
 * The key ring of the configured source. A generated source that does not exist yet is created,
 * unless the store already holds encrypted data: then the ring was lost, and generating a new
 * one would make that data unreadable, so start-up stops instead.
 */
export async function loadKeyRing(source: KeySource, logger: Logger, storeHasEncryptedData: () => Promise<boolean>): Promise<KeyRing> {
  if (source.kind === 'generated' && !(await exists(source.path))) {
    if (await storeHasEncryptedData()) {
      throw new KeyRingError(
        `The store holds encrypted resources but the key ring ${source.path} is missing; restore it from backup (or set FHIRGATE_KEYS_FILE / FHIRGATE_KEYS)`,
      );
    }
    await writePrivateJson(source.path, await generateJwkSet());
    logger.warn(
      { file: source.path },
      'crypto: generated a new key ring for encryption at rest; back it up (without it the encrypted data is lost) and in production supply your own with FHIRGATE_KEYS_FILE or FHIRGATE_KEYS (e.g. from a KMS)',
    );
  }
  return readKeyRing(source, logger);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

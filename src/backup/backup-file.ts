import { randomBytes, randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Sealer } from '../crypto/index.js';

/**
 * The file `npm run backup` writes (README "Backup and restore"):
 *
 *   FHIRGATE-BACKUP/1\n     magic line: what this is, and the format version
 *   <compact JWE>\n         the header, sealed with the key ring's current at-rest key (the same
 *                           JWE construction as the HL7 v2 archive, crypto/sealed.ts); it holds
 *                           the backup's id, time and its body key, a random 256-bit key
 *   <body>                  a .tar.gz of the backed-up files, encrypted under the body key as a
 *                           STREAM of AES-256-GCM chunks (stream-cipher.ts)
 *
 * Only a key ring holding the at-rest key named in the JWE header opens the body key, so the
 * file is as safe as the data at rest, and a body does not open with another backup's header.
 */
export const MAGIC = 'FHIRGATE-BACKUP/1';
const BINDING = 'fhirgate-backup/1';
/** Longest header accepted when reading (a JWE of a small JSON object is well under 1 KiB). */
const MAX_HEADER_BYTES = 16 * 1024;

export interface BackupHeader {
  id: string;
  createdAt: string;
  /** The body key, base64url. */
  key: string;
}

/** A file that is not a FhirGate backup, or one this key ring cannot open. */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** A new header (fresh id and body key) and the two lines that start the file. */
export async function newHeader(sealer: Sealer, now: Date): Promise<{ header: BackupHeader; bodyKey: Buffer; lines: Buffer }> {
  const bodyKey = randomBytes(32);
  const header: BackupHeader = { id: randomUUID(), createdAt: now.toISOString(), key: bodyKey.toString('base64url') };
  const jwe = await sealer.seal(header, BINDING);
  return { header, bodyKey, lines: Buffer.from(`${MAGIC}\n${jwe}\n`, 'utf8') };
}

/** Reads and opens the header of a backup file; returns it with the offset where the body starts. */
export async function readHeader(file: FileHandle, sealer: Sealer, name: string): Promise<{ header: BackupHeader; bodyKey: Buffer; bodyOffset: number }> {
  const buf = Buffer.alloc(MAX_HEADER_BYTES);
  const { bytesRead } = await file.read(buf, 0, buf.length, 0);
  const start = buf.subarray(0, bytesRead);
  const magicEnd = start.indexOf(10);
  if (magicEnd < 0 || start.toString('utf8', 0, magicEnd) !== MAGIC) throw new BackupError(`${name} is not a FhirGate backup (it does not start with ${MAGIC})`);
  const jweEnd = start.indexOf(10, magicEnd + 1);
  if (jweEnd < 0) throw new BackupError(`${name}: the backup's header is cut short or damaged`);
  const jwe = start.toString('utf8', magicEnd + 1, jweEnd);
  const kid = sealer.kidOf(jwe);
  let header: BackupHeader;
  try {
    header = (await sealer.open(jwe, BINDING)) as BackupHeader;
  } catch (err) {
    const message = (err as Error).message;
    if (message.includes('is not in the key ring')) {
      throw new BackupError(`${name} was encrypted with at-rest key '${kid ?? '?'}', which this key ring does not hold; restore with the key ring the backup was made with (README "Backup and restore")`);
    }
    throw new BackupError(`${name}: the backup's header does not decrypt with at-rest key '${kid ?? '?'}' of this key ring: another key under the same kid, or the header was altered`);
  }
  if (typeof header?.key !== 'string' || Buffer.from(header.key, 'base64url').length !== 32) throw new BackupError(`${name}: the backup's header holds no body key`);
  return { header, bodyKey: Buffer.from(header.key, 'base64url'), bodyOffset: jweEnd + 1 };
}

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Authenticated encryption of a stream of any length (the body of a backup file, issue 18): the
 * STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and
 * its Nonce-Reuse Misuse-Resistance", 2015), as the age format uses it
 * (https://age-encryption.org/v1, "Payload"), with AES-256-GCM:
 *
 * - the plaintext is cut into chunks of 64 KiB (the last may be shorter, even empty);
 * - each chunk is sealed with AES-256-GCM under a key used for this one stream only, with the
 *   nonce `chunk counter (11 bytes, big-endian) || last flag (1 byte: 1 on the final chunk)`;
 * - the output is the sealed chunks back to back (each 16 bytes longer than its plaintext).
 *
 * Any altered, reordered, dropped or appended chunk fails its tag; a stream cut at a chunk
 * boundary fails too, because its new last chunk was sealed without the last flag. A whole JWE
 * would need the whole body in memory; a JWE per chunk would not bind the chunks together.
 */
export const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const SEALED_BYTES = CHUNK_BYTES + TAG_BYTES;

/** The stream is not what was sealed with this key: altered, cut short, or another key. */
export class StreamIntegrityError extends Error {
  override name = 'StreamIntegrityError';
}

function nonce(counter: number, last: boolean): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUIntBE(counter, 5, 6); // 48 bits of the 88-bit counter: 2^48 chunks of 64 KiB is far past any backup
  iv[11] = last ? 1 : 0;
  return iv;
}

function seal(key: Buffer, counter: number, last: boolean, chunk: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce(counter, last));
  return Buffer.concat([cipher.update(chunk), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, counter: number, last: boolean, sealed: Buffer): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce(counter, last));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * A Transform holding back input until it has more than `size` bytes, then handing out `size`
 * bytes at a time; the rest (1..size bytes, or none at all) goes to `last` at the end. Holding
 * back is what tells the final chunk apart: it is the one still held when the input ends.
 */
function chunker(size: number, each: (chunk: Buffer, index: number) => Buffer, last: (rest: Buffer, index: number) => Buffer): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  return new Transform({
    transform(data: Buffer, _encoding, done: TransformCallback) {
      pending.push(data);
      pendingBytes += data.length;
      try {
        if (pendingBytes <= size) return done();
        let all = Buffer.concat(pending);
        while (all.length > size) {
          this.push(each(all.subarray(0, size), index++));
          all = all.subarray(size);
        }
        pending = [all];
        pendingBytes = all.length;
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        this.push(last(Buffer.concat(pending), index));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}

/** Encrypts a stream under `key` (32 random bytes, never used for another stream). */
export function sealStream(key: Buffer): Transform {
  return chunker(
    CHUNK_BYTES,
    (chunk, i) => seal(key, i, false, chunk),
    (rest, i) => seal(key, i, true, rest),
  );
}

/** Decrypts what `sealStream` made; fails with StreamIntegrityError at the first chunk that does not open. */
export function openStream(key: Buffer): Transform {
  const fail = (i: number): never => {
    throw new StreamIntegrityError(`chunk ${i + 1} (from byte ${i * SEALED_BYTES} of the encrypted body) does not decrypt: the file was altered or is damaged`);
  };
  return chunker(
    SEALED_BYTES,
    (sealed, i) => open(key, i, false, sealed) ?? fail(i),
    (rest, i) => {
      if (rest.length < TAG_BYTES) throw new StreamIntegrityError('the encrypted body ends in the middle of a chunk: the file is truncated');
      const plain = open(key, i, true, rest);
      if (plain) return plain;
      if (open(key, i, false, rest)) throw new StreamIntegrityError(`the encrypted body stops after chunk ${i + 1}, before its final chunk: the file is truncated`);
      return fail(i);
    },
  );
}

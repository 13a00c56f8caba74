import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, openStream, sealStream, StreamIntegrityError } from '../../src/backup/stream-cipher.js';

const SEALED = CHUNK_BYTES + 16;

async function through(transform: NodeJS.ReadWriteStream, input: Buffer, pieces = 7): Promise<Buffer> {
  const out: Buffer[] = [];
  const size = Math.max(1, Math.ceil(input.length / pieces));
  const parts = Array.from({ length: Math.ceil(input.length / size) }, (_, i) => input.subarray(i * size, (i + 1) * size));
  await pipeline(Readable.from(parts), transform, async (source: AsyncIterable<string | Buffer>) => {
    for await (const chunk of source) out.push(Buffer.from(chunk));
  });
  return Buffer.concat(out);
}

describe('backup body: STREAM of AES-256-GCM chunks', () => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['exactly one chunk', CHUNK_BYTES],
    ['one chunk and a byte', CHUNK_BYTES + 1],
    ['three chunks and a half', CHUNK_BYTES * 3.5],
  ])('round-trips %s', async (_name, size) => {
    const key = randomBytes(32);
    const plain = randomBytes(size);
    const sealed = await through(sealStream(key), plain);
    expect(sealed.length).toBe(size + 16 * Math.max(1, Math.ceil(size / CHUNK_BYTES)));
    expect(await through(openStream(key), sealed, 3)).toEqual(plain);
  });

  const key = randomBytes(32);
  const plain = randomBytes(CHUNK_BYTES * 3 + 100);
  const damaged: Array<[string, (sealed: Buffer) => Buffer, RegExp]> = [
    ['a flipped bit', (s) => Buffer.concat([s.subarray(0, 10), Buffer.from([s[10] ^ 1]), s.subarray(11)]), /chunk 1 \(from byte 0 .*\) does not decrypt/],
    ['two chunks swapped', (s) => Buffer.concat([s.subarray(SEALED, 2 * SEALED), s.subarray(0, SEALED), s.subarray(2 * SEALED)]), /chunk 1 .* does not decrypt/],
    ['cut at a chunk boundary', (s) => s.subarray(0, 2 * SEALED), /stops after chunk 2, before its final chunk: the file is truncated/],
    ['cut inside a chunk', (s) => s.subarray(0, 2 * SEALED + 8), /ends in the middle of a chunk/],
    ['the final chunk dropped and a chunk repeated', (s) => Buffer.concat([s.subarray(0, 3 * SEALED), s.subarray(2 * SEALED, 3 * SEALED)]), /chunk 4 .* does not decrypt/],
    ['another key', (s) => s, /chunk 1 .* does not decrypt/],
  ];
  it.each(damaged)('refuses %s', async (name, damage, message) => {
    const sealed = await through(sealStream(key), plain);
    const opening = through(openStream(name === 'another key' ? randomBytes(32) : key), damage(sealed));
    await expect(opening).rejects.toThrow(StreamIntegrityError);
    await expect(through(openStream(name === 'another key' ? randomBytes(32) : key), damage(sealed))).rejects.toThrow(message);
  });
});

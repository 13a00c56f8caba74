import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Sealer } from '../crypto/index.js';

/**
 * An output file as it sits on disk until downloaded: the ndjson cut into chunks, each chunk one
 * compact JWE under the at-rest keys (`Sealer`) on its own line, bound to the file and its position,
 * so chunks cannot be reordered or moved to another file. Only the download decrypts it.
 */
export interface SealedNdjsonWriter {
  /** Appends one resource as one ndjson line. */
  write(resource: object): Promise<void>;
  /** Seals what is buffered and closes the file; resolves once it is on disk. */
  close(): Promise<void>;
  /** Resources written so far. */
  readonly count: number;
}

// About 256 KiB of ndjson per JWE: few seals per file, bounded memory per running job.
const CHUNK_CHARS = 256 * 1024;

/** The binding of a file's `index`th chunk. */
export const chunkBinding = (binding: string, index: number): string => `${binding}#${index}`;

export async function createSealedNdjsonWriter(sealer: Sealer, file: string, binding: string): Promise<SealedNdjsonWriter> {
  const handle: FileHandle = await open(file, 'w', 0o600);
  let buffer: string[] = [];
  let size = 0;
  let chunks = 0;
  let count = 0;
  const flush = async (): Promise<void> => {
    if (buffer.length === 0) return;
    const jwe = await sealer.seal(buffer.join(''), chunkBinding(binding, chunks++));
    buffer = [];
    size = 0;
    await handle.write(`${jwe}\n`);
  };
  return {
    async write(resource) {
      const line = `${JSON.stringify(resource)}\n`;
      buffer.push(line);
      size += line.length;
      count++;
      if (size >= CHUNK_CHARS) await flush();
    },
    async close() {
      try {
        await flush();
        await handle.datasync();
      } finally {
        await handle.close();
      }
    },
    get count() {
      return count;
    },
  };
}

/** The plaintext ndjson of a sealed file, chunk by chunk, for the download; throws on an altered or misplaced chunk. */
export async function* openSealedNdjson(sealer: Sealer, file: string, binding: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let index = 0;
  for await (const line of lines) {
    if (line === '') continue;
    yield (await sealer.open(line, chunkBinding(binding, index++))) as string;
  }
}

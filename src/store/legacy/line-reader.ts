import { open } from 'node:fs/promises';

/** One line of a file with its byte range; `terminated` is false for a trailing piece without newline. */
export interface FileLine {
  bytes: Buffer;
  /** Offset of the first byte of the line. */
  start: number;
  /** Offset just past the line's newline (or past the end of an unterminated piece). */
  end: number;
  terminated: boolean;
}

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/**
 * Streams the lines of a file with their byte offsets, so recovery can truncate a journal
 * exactly after its last good line. Streams rather than reading whole files, because a
 * snapshot holds the entire store and may exceed the maximum string length. A line spanning
 * many chunks (a large transaction) is joined once, not re-copied per chunk.
 */
export async function* readLines(path: string): AsyncGenerator<FileLine> {
  const handle = await open(path, 'r');
  try {
    let partial: Buffer[] = []; // pieces of the line that started in an earlier chunk
    let lineStart = 0;
    let position = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      const data = chunk.subarray(0, bytesRead);
      let from = 0;
      for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, from)) {
        const piece = data.subarray(from, nl);
        const bytes = partial.length ? Buffer.concat([...partial, piece]) : piece;
        partial = [];
        yield { bytes, start: lineStart, end: position + nl + 1, terminated: true };
        lineStart = position + nl + 1;
        from = nl + 1;
      }
      if (from < data.length) partial.push(data.subarray(from));
      position += bytesRead;
    }
    if (partial.length) yield { bytes: Buffer.concat(partial), start: lineStart, end: position, terminated: false };
  } finally {
    await handle.close();
  }
}

import { open } from 'node:fs/promises';
import type { StoredRecord } from '../port.js';
import type { Collections } from './collections.js';
import { writeAll } from './files.js';
import { decodeLine, encodeLine } from './line-codec.js';
import { readLines } from './line-reader.js';

/**
 * Snapshot files: a header line, one line per resource holding all its versions (oldest
 * first, so the last one is current), and a trailer with the resource count. Every line is
 * checksummed like the journal. A snapshot is only ever read after it was fsynced and
 * renamed into place, so any defect is real corruption and fails the open loudly.
 */

const FORMAT = 'fhirgate-embedded-snapshot';
const FORMAT_VERSION = 1;
const FLUSH_BYTES = 1 << 20;

interface Header {
  format: string;
  version: number;
  generation: number;
}

/** Writes the full state to `path` and fsyncs it. Returns the file size in bytes. */
export async function writeSnapshot(path: string, generation: number, collections: Collections): Promise<number> {
  const handle = await open(path, 'w');
  try {
    let pending: Buffer[] = [encodeLine({ format: FORMAT, version: FORMAT_VERSION, generation } satisfies Header)];
    let pendingBytes = pending[0].length;
    let total = 0;
    let resources = 0;
    const flush = async (): Promise<void> => {
      const data = Buffer.concat(pending);
      await writeAll(handle, data);
      total += data.length;
      pending = [];
      pendingBytes = 0;
    };
    for (const entry of collections.entries()) {
      const line = encodeLine({ versions: [...entry.versions.values()] });
      pending.push(line);
      pendingBytes += line.length;
      resources++;
      // Writing in chunks keeps memory flat and lets reads run between chunks.
      if (pendingBytes >= FLUSH_BYTES) await flush();
    }
    const trailer = encodeLine({ end: true, resources });
    pending.push(trailer);
    await flush();
    await handle.sync();
    return total;
  } finally {
    await handle.close();
  }
}

/** Loads a snapshot into empty collections. Throws on any defect. Returns the file size in bytes. */
export async function loadSnapshot(path: string, generation: number, collections: Collections): Promise<number> {
  let header: Header | undefined;
  let resources = 0;
  let ended = false;
  let size = 0;
  for await (const line of readLines(path)) {
    size = line.end;
    const value = line.terminated && !ended ? decodeLine(line.bytes) : undefined;
    if (!value || typeof value !== 'object') throw new Error(`Snapshot ${path} is corrupt at byte ${line.start}`);
    if (!header) {
      header = value as Header;
      if (header.format !== FORMAT || header.version !== FORMAT_VERSION || header.generation !== generation) {
        throw new Error(`Snapshot ${path} has an unexpected header`);
      }
    } else if ('versions' in value && Array.isArray(value.versions)) {
      collections.apply(value.versions as StoredRecord[]);
      resources++;
    } else if ('end' in value && (value as { resources?: number }).resources === resources) {
      ended = true;
    } else {
      throw new Error(`Snapshot ${path} is corrupt at byte ${line.start}`);
    }
  }
  if (!ended) throw new Error(`Snapshot ${path} is incomplete`);
  return size;
}

import { createHash } from 'node:crypto';
import type { ArchivedMessage } from './archive.js';

/**
 * What makes a resend a resend (issue 19): the same message, compared as a SHA-256 of its text
 * with segment terminators read as CR, trailing empty segments dropped, and MSH-7 (date/time of
 * message, which a resending engine may restamp) left out. A reused MSH-10 with any other
 * difference is a different message. `text` must already have CR terminators (`normalizeSegments`).
 */
export function contentHash(text: string): string {
  const segments = text.split('\r').filter((s) => s.trim() !== '');
  const msh = segments[0] ?? '';
  const sep = msh[3];
  if (msh.startsWith('MSH') && sep) {
    const fields = msh.split(sep);
    // fields[0] is `MSH`, fields[1] MSH-2, so MSH-n is fields[n - 1].
    if (fields.length > 6) fields[6] = '';
    segments[0] = fields.join(sep);
  }
  return createHash('sha256').update(segments.join('\r'), 'utf8').digest('hex');
}

/**
 * Content hashes of archived messages, kept in memory only (a hash of patient data is not written
 * to disk in clear) and bounded: a record not cached is hashed again from its decrypted raw text,
 * which happens only when its control id comes again.
 */
export class ContentHashes {
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly readRaw: (id: string) => Promise<string | undefined>,
    private readonly capacity = 50_000,
  ) {}

  remember(id: string, hash: string): void {
    this.hashes.set(id, hash);
    if (this.hashes.size > this.capacity) this.hashes.delete(this.hashes.keys().next().value!);
  }

  /** The first of `records` (newest first) with content `hash`, or undefined. */
  async find(records: readonly ArchivedMessage[], hash: string, normalize: (raw: string) => string): Promise<ArchivedMessage | undefined> {
    for (const record of records) {
      let known = this.hashes.get(record.id);
      if (!known) {
        const raw = await this.readRaw(record.id);
        if (raw === undefined) continue;
        known = contentHash(normalize(raw));
        this.remember(record.id, known);
      }
      if (known === hash) return record;
    }
    return undefined;
  }
}

import { createHash } from 'node:crypto';
import type { ArchivedMessage } from './archive-record.js';
import type { Sealer } from '../crypto/sealed.js';
import { normalizeSegments } from './segments.js';

/** The purpose of the archive's content digests (`Sealer.digests`): a digest for no other use. */
export const CONTENT_DIGEST = 'hl7v2-message-content';

/**
 * What makes a resend a resend (issue 19): the same message, compared as its text with segment
 * terminators read as CR (`normalizeSegments`: CR, LF and CRLF), empty segments dropped,
 * and MSH-7 (date/time of message, which a resending engine may restamp) left out. A reused MSH-10
 * with any other difference is a different message. The archive keeps a keyed digest of it
 * (`CONTENT_DIGEST`) in its index.
 */
export function messageContent(raw: string): string {
  const segments = normalizeSegments(Buffer.from(raw, 'utf8')).toString('utf8').split('\r').filter((s) => s.trim() !== '');
  const msh = segments[0] ?? '';
  const sep = msh[3];
  if (msh.startsWith('MSH') && sep) {
    const fields = msh.split(sep);
    // fields[0] is `MSH`, fields[1] MSH-2, so MSH-n is fields[n - 1].
    if (fields.length > 6) fields[6] = '';
    segments[0] = fields.join(sep);
  }
  return segments.join('\r');
}

/** The archive's keyed digests of a message's content (`messageContent`), the current index key's first. */
export function contentDigests(sealer: Pick<Sealer, 'digests'>, raw: string): string[] {
  return sealer.digests(messageContent(raw), CONTENT_DIGEST);
}

/** A digest of `messageContent`, kept in memory only, for records archived before their digest was indexed. */
export function contentHash(raw: string): string {
  return createHash('sha256').update(messageContent(raw), 'utf8').digest('hex');
}

/**
 * Content hashes of archived messages without a digest in the index (archived before it had
 * them; a key rotation gives them one), kept in memory only and bounded: a record not cached is
 * hashed again from its decrypted raw text, which happens only when its control id comes again.
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
  async find(records: readonly ArchivedMessage[], hash: string): Promise<ArchivedMessage | undefined> {
    for (const record of records) {
      let known = this.hashes.get(record.id);
      if (!known) {
        const raw = await this.readRaw(record.id);
        if (raw === undefined) continue;
        known = contentHash(raw);
        this.remember(record.id, known);
      }
      if (known === hash) return record;
    }
    return undefined;
  }
}

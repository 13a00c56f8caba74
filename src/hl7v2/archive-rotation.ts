import type { Sealer } from '../crypto/sealed.js';
import type { ArchiveIndex } from './archive-index.js';
import type { ArchivedMessage } from './archive-record.js';
import { CONTENT_DIGEST, contentDigests } from './dedupe.js';
import type { Journal } from './journal.js';

/**
 * A journal line. What identifies a patient — the raw text and the error text (which may quote
 * values) — is sealed as one JWE under the key ring (`jwe`, bound to the record id); the rest is
 * metadata kept in clear, with `digest`: the keyed digest of the message's content (issue 19,
 * `Sealer.digests`), which the index keeps to find resends. `raw` and a clear `changes.error` are
 * only read, from archives written before encryption; a rotation seals them. A line without
 * `digest` was written before it existed.
 */
export type Line =
  | { op: 'received'; record: ArchivedMessage; jwe?: string; raw?: string; digest?: string }
  | { op: 'update'; id: string; changes: Partial<ArchivedMessage>; jwe?: string; clearError?: true };

/** What the JWE of a line holds. */
export interface Sealed {
  raw?: string;
  error?: ArchivedMessage['error'];
}

/** What a rotation of the journal needs of the archive. */
export interface Resealing {
  seal(id: string, value: Sealed): Promise<string>;
  unseal(id: string, jwe: string): Promise<Sealed>;
  sealer: Sealer;
  /** Every line again (`rotate-keys --all`), not only those under an older key. */
  all: boolean;
}

/** The index key a digest was made under (`<kid>~<digest>`). */
export const digestKid = (digest: string): string => digest.slice(0, digest.lastIndexOf('~'));

/**
 * A journal line as a key rotation leaves it, or undefined when it needs no change: sealed under
 * the current at-rest key (clear text of an archive from before encryption sealed), and a
 * received message's content digested under the current index key (one from before digests
 * gets one), so de-duplication finds it by the index and never needs an old key.
 */
export async function resealLine(entry: Line, sealing: Resealing): Promise<Line | undefined> {
  const { sealer } = sealing;
  const stale = (jwe: string | undefined): boolean => jwe !== undefined && (sealing.all || sealer.kidOf(jwe) !== sealer.currentKid());
  if (entry.op === 'received') {
    const { id } = entry.record;
    const indexKid = digestKid(sealer.digests('', CONTENT_DIGEST)[0]);
    const staleDigest = entry.digest === undefined || digestKid(entry.digest) !== indexKid;
    if (!stale(entry.jwe) && !staleDigest && entry.raw === undefined && entry.record.error === undefined) return undefined;
    const held = entry.jwe ? await sealing.unseal(id, entry.jwe) : {};
    const { error: clearError, ...clear } = entry.record;
    const error = held.error ?? clearError;
    const raw = held.raw ?? entry.raw;
    const digest = raw === undefined ? undefined : contentDigests(sealer, raw)[0];
    return { op: 'received', record: clear, jwe: await sealing.seal(id, { raw, ...(error ? { error } : {}) }), ...(digest ? { digest } : {}) };
  }
  if (!stale(entry.jwe) && entry.changes.error === undefined) return undefined;
  const { error, ...clear } = entry.changes;
  const value: Sealed = entry.jwe ? await sealing.unseal(entry.id, entry.jwe) : { error };
  return { op: 'update', id: entry.id, changes: clear, jwe: await sealing.seal(entry.id, value), ...(entry.clearError ? { clearError: true as const } : {}) };
}

/**
 * The journal rotation: every line as `resealLine` leaves it, the journal replaced atomically
 * (Journal.rewrite), then the index built again over the new file (its offsets moved), with
 * `indexLine`. Returns how many lines were rewritten and the new file's identity.
 */
export async function rewriteJournal(journal: Journal, index: ArchiveIndex, sealing: Resealing, indexLine: (line: Line, offset: number) => void): Promise<{ rewritten: number; journalId: string }> {
  let rewritten = 0;
  const lines = await journal.rewrite(async (text) => {
    const line = await resealLine(JSON.parse(text) as Line, sealing);
    if (line) rewritten++;
    return line && JSON.stringify(line);
  });
  const journalId = await journal.identity();
  index.reset(journalId);
  const last = lines.at(-1);
  const end = last ? last.offset + Buffer.byteLength(last.line, 'utf8') + 1 : 0;
  index.advance(journalId, end, () => lines.forEach(({ line, offset }) => indexLine(JSON.parse(line) as Line, offset)));
  index.checkpoint();
  return { rewritten, journalId };
}

import type { IndexQuery, IndexedMessage } from './archive-index.js';
import type { ArchivedMessage, ListQuery } from './archive-record.js';

/** What listing needs of the archive. */
export interface Listable {
  /** Ids of the messages received but not yet indexed, newest first (listed first). */
  fresh: readonly string[];
  /** A page of the index, newest first, filtered by SQL. */
  page(query: IndexQuery, limit: number): IndexedMessage[];
  get(id: string): Promise<ArchivedMessage | undefined>;
  raw(id: string): Promise<string | undefined>;
}

/**
 * A page of the archive (`GET /hl7/messages`), newest first: the messages not yet indexed, then
 * the index's pages, each record as it is now (changes in flight included) and filtered again;
 * `text` reads the raw texts of the candidates. `next`: the `before` of the next page.
 */
export async function listMessages(query: ListQuery, archive: Listable): Promise<{ records: ArchivedMessage[]; next?: string }> {
  const count = Math.min(Math.max(query.count ?? 50, 1), 500);
  const { fresh } = archive;
  const after = query.before ? fresh.indexOf(query.before) : -1;
  const candidates = query.before && after < 0 ? [] : fresh.slice(after + 1);
  const found: ArchivedMessage[] = [];
  const consider = async (id: string): Promise<void> => {
    const r = await archive.get(id);
    if (!r || !matches(r, query)) return;
    if (query.text && !(await archive.raw(r.id))?.toLowerCase().includes(query.text.toLowerCase())) return;
    found.push(r);
  };
  for (const id of candidates) if (found.length <= count) await consider(id);
  const chunk = Math.max(2 * (count + 1), 100);
  for (let before = after >= 0 || !query.before ? undefined : query.before; found.length <= count; ) {
    const page = archive.page({ ...query, before }, chunk);
    for (const m of page) if (found.length <= count) await consider(m.record.id);
    if (page.length < chunk) break;
    before = page.at(-1)!.record.id;
  }
  const more = found.length > count;
  const records = found.slice(0, count);
  return { records, next: more ? records.at(-1)!.id : undefined };
}

function matches(r: ArchivedMessage, q: ListQuery): boolean {
  if (q.outcome && r.outcome !== q.outcome) return false;
  if (q.messageType && !r.messageType.startsWith(q.messageType)) return false;
  if (q.controlId && r.controlId !== q.controlId) return false;
  if (q.sender && r.sender.application !== q.sender && r.sender.facility !== q.sender) return false;
  if (q.since && r.receivedAt < q.since) return false;
  if (q.until && r.receivedAt >= q.until) return false;
  return true;
}

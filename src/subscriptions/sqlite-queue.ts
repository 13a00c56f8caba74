import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import type { DeliveryQueue, Focus, ItemKind, QueueItem, SubscriptionOwner } from './types.js';

interface ItemRow {
  seq: number;
  subscription_id: string;
  kind: ItemKind;
  focus_type: string | null;
  focus_id: string | null;
  focus_version: number | null;
  event_number: number | null;
  attempts: number;
  next_at: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS subscription (
    id TEXT PRIMARY KEY,
    owner TEXT,
    events INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS item (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    focus_type TEXT, focus_id TEXT, focus_version INTEGER,
    event_number INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS item_by_subscription ON item (subscription_id, seq);
`;

/**
 * The delivery queue in its own SQLite file, `DATA_DIR/subscriptions/queue.sqlite`, whatever the
 * store (embedded or MongoDB): WAL with `synchronous = FULL`, so an enqueued item is on disk before
 * the commit observer returns and survives a crash or restart.
 */
export function openSqliteQueue(dataDir: string): DeliveryQueue {
  const dir = path.join(dataDir, 'subscriptions');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Sqlite(path.join(dir, 'queue.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
  const ensure = db.prepare('INSERT INTO subscription (id) VALUES (?) ON CONFLICT (id) DO NOTHING');
  const insert = db.prepare('INSERT INTO item (subscription_id, kind, focus_type, focus_id, focus_version, next_at) VALUES (?, ?, ?, ?, ?, ?)');
  // The head of each subscription's queue: items of one subscription go out in order, one at a time.
  const due = db.prepare(
    'SELECT i.* FROM item i JOIN (SELECT subscription_id, MIN(seq) AS seq FROM item GROUP BY subscription_id) h ON h.seq = i.seq WHERE i.next_at <= ? ORDER BY i.seq LIMIT ?',
  );
  const enqueue = db.transaction((items: ReadonlyArray<Pick<QueueItem, 'subscriptionId' | 'kind' | 'focus'>>, now: number) => {
    for (const item of items) {
      ensure.run(item.subscriptionId);
      insert.run(item.subscriptionId, item.kind, item.focus?.resourceType ?? null, item.focus?.id ?? null, item.focus?.versionId ?? null, now);
    }
  });
  const matched = db.transaction((seq: number, subscriptionId: string): number => {
    ensure.run(subscriptionId);
    const { events } = db.prepare('UPDATE subscription SET events = events + 1 WHERE id = ? RETURNING events').get(subscriptionId) as { events: number };
    db.prepare("UPDATE item SET kind = 'event', event_number = ? WHERE seq = ?").run(events, seq);
    return events;
  });
  return {
    async close() {
      db.close();
    },
    async setOwner(id, owner) {
      db.prepare('INSERT INTO subscription (id, owner) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner').run(id, JSON.stringify(owner));
    },
    async ownerOf(id) {
      const row = db.prepare('SELECT owner FROM subscription WHERE id = ?').get(id) as { owner: string | null } | undefined;
      return row?.owner ? (JSON.parse(row.owner) as SubscriptionOwner) : undefined;
    },
    async enqueue(items, now) {
      enqueue(items, now);
    },
    async due(now, limit) {
      return (due.all(now, limit) as ItemRow[]).map(itemOf);
    },
    async matched(seq, subscriptionId) {
      return matched(seq, subscriptionId);
    },
    async remove(seq) {
      db.prepare('DELETE FROM item WHERE seq = ?').run(seq);
    },
    async retry(seq, attempts, nextAt) {
      db.prepare('UPDATE item SET attempts = ?, next_at = ? WHERE seq = ?').run(attempts, nextAt, seq);
    },
    async failures(id) {
      return (db.prepare('SELECT failures FROM subscription WHERE id = ?').get(id) as { failures: number } | undefined)?.failures ?? 0;
    },
    async setFailures(id, failures) {
      ensure.run(id);
      db.prepare('UPDATE subscription SET failures = ? WHERE id = ?').run(failures, id);
    },
    async drop(id) {
      db.prepare('DELETE FROM item WHERE subscription_id = ?').run(id);
    },
    async depth() {
      return (db.prepare('SELECT COUNT(*) AS n FROM item').get() as { n: number }).n;
    },
  };
}

function itemOf(row: ItemRow): QueueItem {
  const focus: Focus | undefined = row.focus_type && row.focus_id ? { resourceType: row.focus_type, id: row.focus_id, versionId: row.focus_version ?? 0 } : undefined;
  return {
    seq: row.seq,
    subscriptionId: row.subscription_id,
    kind: row.kind,
    ...(focus ? { focus } : {}),
    ...(row.event_number !== null ? { eventNumber: row.event_number } : {}),
    attempts: row.attempts,
    nextAt: row.next_at,
  };
}

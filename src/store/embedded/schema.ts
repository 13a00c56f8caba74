import type { Database } from 'better-sqlite3';
import type { StoredRecord } from '../port.js';
import { recordColumns } from './record-format.js';

/**
 * The embedded store's SQLite schema (issue 13).
 *
 * - `versions`: every version of every resource, the `StoredRecord` as JSON in `record` (resource
 *   in its stored, possibly encrypted form) and its search values (`index`) apart in `idx`, parsed
 *   only when read (record-format.ts); `idx` NULL: the index is inside `record`. `vid` is the commit
 *   order, `txn` the number of the commit that wrote it (versions written together share it).
 *   This is the `history` collection.
 * - `current`: one row per resource pointing at its latest version (or delete tombstone). This is
 *   the `current` collection; the record itself is read from `versions` by `vid`. `rid` numbers the
 *   resource for good (the `vid` of its first version): the key of its search values.
 * - `search_values`: the leaf values of each resource's current `index` (the values the search
 *   index extracted at write time), one row per (path, value, resource), like MongoDB's wildcard
 *   index on `index.$**` over the `current` collection. A new version writes only the rows of
 *   values it adds and deletes those of values it drops (value-rows.ts; issue 17: a slot turned
 *   busy changes 2 of its ~13 rows). Strings are stored as UTF-16BE blobs so that SQLite's byte
 *   order is the code-unit order JavaScript and mingo compare strings in. Presence rows (`?` +
 *   top-level key) answer `:missing` and the null branches of keyset paging.
 * - `ended_values`: the values a resource's earlier versions had and its current one has not (a
 *   superset: values are added when dropped, removed only with the resource). Queries on the
 *   `history` collection start from both tables and re-check each version on its own `index`.
 * - `paths`: the dotted paths of the value tables as small integers, one per resource type and
 *   path (path-ids.ts): a row's `pid` names its resource's type too, so a query pinned to a type
 *   reads only that type's rows, as MongoDB's compound wildcard index `{ resourceType, 'index.$**' }`.
 *
 * - `deferred`: creates of the store's deferred types (the AuditEvent of every read, issue 14)
 *   committed with their `versions` row but not yet in `current` and `search_values`: the `vid`
 *   of each, made current in large batches and deleted (deferred-writes.ts).
 *
 * The value tables are WITHOUT ROWID with (pid, value, rid) as their key, so a lookup by value is
 * one range scan of the primary key, returning resource numbers without touching a second b-tree.
 *
 * Version 2 added `deferred`; a version 1 database is upgraded in place when opened (the table is
 * created empty, nothing else changes). Version 3 added `versions.idx` (issue 13); an older
 * database gets the column, NULL in its existing rows, which keep their index inside `record`
 * and read the same (no row is rewritten, so the upgrade takes no time at any size). Version 4
 * keyed the search values by resource instead of by version (issue 17): an older database gets
 * `current.rid`, and its per-version rows are regrouped, those of current versions into
 * `search_values` and the others into `ended_values` (one pass over the rows when first opened).
 * Version 5 dropped the `UNIQUE (type, id)` of `deferred` (issue 14): a read's commit is one row
 * there, and the unique index was a second b-tree written by every read and again by every move,
 * while `DeferredWrites` already refuses a second create of a pending or stored resource before
 * inserting. An older `deferred` is rebuilt without it (it holds at most a few batches of rows).
 * Version 6 writes a deferred create's `versions` row when it is committed and keeps only its
 * `vid` in `deferred` (issue 14): the ~3 KB record reached the WAL three times (the `deferred`
 * row, the `versions` row, the zeroing of the freed `deferred` page), now once. An older
 * `deferred`, whose rows hold whole records, is upgraded in place: its rows (at most a few
 * batches, left by a crash) get their `versions` rows, one commit number for all as the move
 * would have given them, and stay pending by `vid`.
 * Version 7 gives each resource type its own path ids (issue 13): with one id per path, the rows
 * of every type holding a value shared one key range, and `MedicationRequest?patient=X` read the
 * rows of all the AuditEvents naming X (one per read of X's record) to find X's one or two
 * prescriptions. An older database has its value rows re-keyed when first opened (partitionPaths):
 * one pass over both value tables, copied beside the old ones (the file grows by their size, its
 * freed pages reused afterwards), in the opening transaction: 37 s for 6 million rows (20k
 * patients), 6.4 min for 30 million (100k patients: the file grew from 7.0 to 10.3 GB), RSS under
 * 125 MiB both times.
 */
export const SCHEMA_VERSION = 7;

/** Versions this FhirGate opens; older ones are upgraded by `migrateSchema`. */
const UPGRADABLE = [1, 2, 3, 4, 5, 6, 7];

const VALUE_TABLES = ['search_values', 'ended_values'] as const;

/**
 * The value tables share one shape (see above): (pid, value, rid), looked up by value, deleted by
 * resource. Their index by resource was `<table>_by_rid` in versions 1-6; schema 7's new tables
 * name theirs `_by_resource`, the old name being taken while the old table is copied (partitionPaths).
 */
function valueTable(name: string): string {
  return `${valueRows(name)};
CREATE INDEX IF NOT EXISTS ${name}_by_resource ON ${name} (rid);`;
}

/** A value table without its index by resource. */
function valueRows(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
  pid INTEGER NOT NULL,
  value NOT NULL,
  rid INTEGER NOT NULL,
  PRIMARY KEY (pid, value, rid)
) WITHOUT ROWID`;
}

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (
  vid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  txn INTEGER NOT NULL,
  record TEXT NOT NULL,
  idx TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS versions_by_key ON versions (type, id, version);
CREATE INDEX IF NOT EXISTS versions_by_updated ON versions (type, last_updated, id, version);
CREATE INDEX IF NOT EXISTS versions_by_updated_all ON versions (last_updated, type, id, version);
CREATE TABLE IF NOT EXISTS current (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  vid INTEGER NOT NULL,
  rid INTEGER,
  PRIMARY KEY (type, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS current_by_vid ON current (vid);
CREATE UNIQUE INDEX IF NOT EXISTS current_by_rid ON current (rid);
-- A search page's matches from their resource numbers without reading the table (query.ts, issue 13); no version bump: made on open where missing.
CREATE INDEX IF NOT EXISTS current_by_rid_match ON current (rid, type, deleted, id, vid);
CREATE INDEX IF NOT EXISTS current_by_deleted_id ON current (type, deleted, id);
CREATE INDEX IF NOT EXISTS current_by_updated ON current (type, deleted, last_updated, id);
CREATE TABLE IF NOT EXISTS paths (pid INTEGER PRIMARY KEY, type TEXT NOT NULL, path TEXT NOT NULL, UNIQUE (type, path));
${valueTable('search_values')}
${valueTable('ended_values')}
CREATE TABLE IF NOT EXISTS deferred (vid INTEGER PRIMARY KEY);
`;

/**
 * Settings of every connection. WAL lets reads run while a commit is written; `synchronous =
 * NORMAL` leaves the commit's fsync to the store's group sync of the WAL (`wal-sync.ts`), which
 * runs off the event loop and covers every commit written before it; checkpoints still sync
 * first. `secure_delete` zeroes freed content, so a value superseded by key rotation does not
 * linger in free pages; temp data stays in memory (never in clear in a temp file); the page
 * cache is bounded.
 */
export function configure(db: Database, cacheMiB: number): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('secure_delete = ON');
  db.pragma('temp_store = MEMORY');
  db.pragma(`cache_size = -${Math.round(cacheMiB * 1024)}`);
  db.pragma('foreign_keys = OFF');
  // SQLite checkpoints inside the commit that crosses this many WAL pages, syncing the WAL and the
  // database on the event loop: every 10,000 pages (~40 MiB) instead of 1,000 cuts SQLite's share of
  // an HL7 RDE^O11's CPU from 27% to 18% (`bench/profile.ts rde`), at the cost of a larger WAL. A
  // server's open store checkpoints on a worker instead (checkpointer.ts) and raises this backstop.
  db.pragma('wal_autocheckpoint = 10000');
  // A WAL checkpointed back into the database shrinks to this size, instead of staying at its peak.
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
}

/**
 * Creates the tables of a new database, or checks the version of an existing one and upgrades it.
 * @param onProgress told what a long upgrade (re-keying the value rows) is doing
 */
export function migrateSchema(db: Database, onProgress?: (message: string) => void): void {
  const existing = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (existing) {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: number } | undefined;
    if (row && !UPGRADABLE.includes(row.value)) throw new Error(`The embedded store's schema is version ${row.value}; this FhirGate reads version ${SCHEMA_VERSION}`);
  }
  db.transaction(() => {
    // Tables of versions 1-3 that `CREATE TABLE IF NOT EXISTS` would leave as they were.
    const byVersion = columnsOf(db, 'search_values').includes('vid');
    if (byVersion) db.exec('ALTER TABLE search_values RENAME TO search_values_by_version');
    const current = columnsOf(db, 'current');
    if (current.length > 0 && !current.includes('rid')) {
      db.exec('ALTER TABLE current ADD COLUMN rid INTEGER');
      db.exec('UPDATE current SET rid = (SELECT min(v.vid) FROM versions v WHERE v.type = current.type AND v.id = current.id)');
    }
    // Whole records (versions 2-5, with or without the unique key of 2-4): their versions are written below.
    const wholeRecords = columnsOf(db, 'deferred').includes('record');
    if (wholeRecords) db.exec('ALTER TABLE deferred RENAME TO deferred_v5');
    // Path ids shared by every type (versions 1-6): re-keyed below.
    const paths = columnsOf(db, 'paths');
    const sharedPaths = paths.length > 0 && !paths.includes('type');
    if (sharedPaths) {
      db.exec('ALTER TABLE paths RENAME TO paths_v6');
      // Their value rows, under the shared ids, are copied into the tables DDL makes (versions 1-3 have none yet: regrouped into these first).
      for (const table of VALUE_TABLES) {
        if (columnsOf(db, table).length > 0) db.exec(`ALTER TABLE ${table} RENAME TO ${table}_v6`);
        else db.exec(valueRows(`${table}_v6`));
      }
    }
    db.exec(DDL);
    // Their rows keep their index in `record`.
    if (!columnsOf(db, 'versions').includes('idx')) db.exec('ALTER TABLE versions ADD COLUMN idx TEXT');
    if (wholeRecords) versionPendingRecords(db);
    // Versions 1-3 (values by version) have shared path ids too: `byVersion` implies `sharedPaths`.
    if (byVersion) regroupValues(db);
    if (sharedPaths) partitionPaths(db, onProgress);
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
  })();
}

/**
 * Version 6's pending rows from those of versions 2-5 (`deferred_v5`, whole records in `seq`
 * order): each record's `versions` row, under one commit number after every one used (the number
 * the move would have given them), and its `vid` in `deferred`.
 */
function versionPendingRecords(db: Database): void {
  const used = (sql: string): number => (db.prepare(sql).pluck().get() as number | null | undefined) ?? 0;
  const txn = Math.max(used('SELECT max(txn) FROM versions'), used("SELECT value FROM meta WHERE key = 'txn'")) + 1;
  const insertVersion = db.prepare('INSERT INTO versions (type, id, version, last_updated, deleted, txn, record, idx) VALUES (?, ?, ?, ?, 0, ?, ?, ?)');
  const insertPending = db.prepare('INSERT INTO deferred (vid) VALUES (?)');
  for (const row of db.prepare('SELECT record FROM deferred_v5 ORDER BY seq').pluck().all() as string[]) {
    const record = JSON.parse(row) as StoredRecord;
    const { record: text, idx } = recordColumns(record);
    insertPending.run(insertVersion.run(record.resourceType, record.id, record.versionId, record.lastUpdated, txn, text, idx).lastInsertRowid);
  }
  db.exec('DROP TABLE deferred_v5');
}

/**
 * Version 7's path ids from the shared ones of versions 1-6 (`paths_v6`): an id for each (type,
 * path) some value row has, and every row of the old value tables (`<table>_v6`) copied into the
 * new ones under its resource's type's id. The rows are read in key order (pid, value, rid), each
 * resource's type looked up by `current_by_rid`, and written into tables whose `_by_resource`
 * index grows as they fill: built afterwards, its sort would run in memory (`temp_store`, which
 * keeps values out of temp files), 550 MiB at 20k patients. The old tables are then emptied and
 * dropped: with `secure_delete`, a DROP zeroes every page inside the transaction without spilling
 * them, holding the whole table in memory (700 MiB), while a DELETE spills as it goes. Rows of a
 * resource with no `current` row cannot exist (every write keeps both) and would be left behind.
 */
function partitionPaths(db: Database, onProgress?: (message: string) => void): void {
  for (const table of VALUE_TABLES) {
    const rows = db.prepare(`SELECT count(*) FROM ${table}_v6`).pluck().get() as number;
    if (rows > 0) onProgress?.(`embedded store: schema 7 gives each resource type its own search-value paths; re-keying ${rows} rows of ${table} (6-13 s per million on a 2-core machine)`);
    db.exec(`
      INSERT OR IGNORE INTO paths (type, path)
        SELECT DISTINCT c.type, o.path FROM ${table}_v6 s JOIN current c ON c.rid = s.rid JOIN paths_v6 o ON o.pid = s.pid;
      INSERT INTO ${table} (pid, value, rid)
        SELECT n.pid, s.value, s.rid FROM ${table}_v6 s JOIN current c ON c.rid = s.rid JOIN paths_v6 o ON o.pid = s.pid JOIN paths n ON n.type = c.type AND n.path = o.path;
      DELETE FROM ${table}_v6 WHERE pid IS NOT NULL;
      DROP TABLE ${table}_v6;
    `);
  }
  db.exec('DROP TABLE paths_v6');
}

function columnsOf(db: Database, table: string): string[] {
  return db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[];
}

/**
 * Version 4's value tables from the per-version rows of versions 1-3: a current version's rows
 * become its resource's `search_values`, every other version's (those not also current) its
 * `ended_values`. Resources are found through `current_by_vid` and `versions_by_key`. Written into
 * the `_v6` tables: those versions' path ids are shared by every type, re-keyed by partitionPaths.
 */
function regroupValues(db: Database): void {
  db.exec(`
    INSERT OR IGNORE INTO search_values_v6 (pid, value, rid)
      SELECT s.pid, s.value, c.rid FROM current c JOIN search_values_by_version s ON s.vid = c.vid;
    INSERT OR IGNORE INTO ended_values_v6 (pid, value, rid)
      SELECT s.pid, s.value, c.rid FROM search_values_by_version s
        JOIN versions v ON v.vid = s.vid JOIN current c ON c.type = v.type AND c.id = v.id
        WHERE s.vid <> c.vid AND NOT EXISTS (SELECT 1 FROM search_values_v6 n WHERE n.pid = s.pid AND n.value = s.value AND n.rid = c.rid);
    DROP TABLE search_values_by_version;
  `);
}

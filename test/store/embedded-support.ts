import { spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import Sqlite from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { databasePath } from '../../src/store/embedded/files.js';
import { createEmbeddedStore, type EmbeddedStoreOptions } from '../../src/store/embedded/index.js';
import { PathCatalog } from '../../src/store/embedded/path-ids.js';
import type { QueryContext } from '../../src/store/embedded/query.js';
import { StatementCache } from '../../src/store/embedded/statement-cache.js';
import type { StorePort, StoredRecord } from '../../src/store/port.js';
import { nodeScript } from '../support/node-script.js';

/** Runs `use` on the store's SQLite file opened beside it, as another process would, and closes it. */
export function withDatabase<T>(dir: string, use: (db: Sqlite.Database) => T, options: Sqlite.Options = {}): T {
  const db = new Sqlite(databasePath(dir), options);
  try {
    return use(db);
  } finally {
    db.close();
  }
}

/**
 * The store's query context over a database opened beside it (its path ids as stored), whose
 * driver estimates are recorded: `counted` gets the index entries each one read (query.ts).
 */
export function recordingQueryContext(db: Sqlite.Database): { ctx: QueryContext; counted: number[] } {
  const statements = new StatementCache(db);
  const counted: number[] = [];
  const get = statements.get.bind(statements);
  statements.get = (sql) => {
    const statement = get(sql);
    if (!sql.startsWith('SELECT count(*) FROM (SELECT rid FROM ')) return statement;
    return { pluck: () => ({ get: (...params: unknown[]) => { const n = statement.pluck().get(...params) as number; counted.push(n); return n; } }) } as unknown as ReturnType<typeof get>;
  };
  return { ctx: { statements, paths: new PathCatalog(db), unindexed: {} }, counted };
}

/**
 * For the tests of a file: a store in a temp directory holding `records` (committed as one
 * commit), and its database opened read-only beside it; closed and removed after the tests.
 */
export function storeHolding(records: readonly StoredRecord[]): { store: () => StorePort; db: () => Sqlite.Database } {
  let dir: string;
  let store: StorePort;
  let db: Sqlite.Database;
  beforeAll(async () => {
    dir = await tempDir();
    store = createEmbeddedStore({ dir });
    await store.open();
    await store.commit(records.map((record) => ({ record, expectedVersion: 0 })));
    db = new Sqlite(databasePath(dir), { readonly: true });
  });
  afterAll(async () => {
    db?.close();
    await store?.close();
    await removeDir(dir);
  });
  return { store: () => store, db: () => db };
}

/** A temp directory per test, removed afterwards. */
export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fhirgate-store-'));
}

/** Removes a temp directory. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Log lines written by the store, parsed. */
export interface CapturedLogs {
  lines: { level: number; msg: string; [key: string]: unknown }[];
  messages(level: 'warn' | 'error' | 'info'): string[];
}

/** Opens an embedded store on `dir` with a logger whose output the test can inspect. */
export async function openStore(dir: string, extra: Partial<EmbeddedStoreOptions> = {}): Promise<{ store: StorePort; logs: CapturedLogs }> {
  const levels = { info: 30, warn: 40, error: 50 };
  const logs: CapturedLogs = {
    lines: [],
    messages: (level) => logs.lines.filter((l) => l.level === levels[level]).map((l) => l.msg),
  };
  const logger = createLogger('info', { write: (line: string) => void logs.lines.push(JSON.parse(line)) });
  const store = createEmbeddedStore({ dir, logger, ...extra });
  await store.open();
  return { store, logs };
}

/** Pid of a process that has exited, for stale-lock tests. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

/**
 * Runs a writer fixture (`test/store/fixtures/*-writer.ts`, `workers` concurrent writers on `dir`)
 * until it has acknowledged `acks` commits, then SIGKILLs it. Returns every commit id it
 * acknowledged (lines already in the pipe included).
 */
export async function runAndKill(writer: string, dir: string, acks: number, workers = 4): Promise<string[]> {
  const child = spawn(process.execPath, [...nodeScript(writer), dir, String(workers)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: string[] = [];
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
    if (acked.length >= acks) child.kill('SIGKILL');
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (exit, sig) => resolve([exit, sig])));
  if (signal !== 'SIGKILL') throw new Error(`the writer ended by itself (exit ${code ?? signal}) before ${acks} acknowledgements`);
  return acked;
}

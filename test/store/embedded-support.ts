import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { createEmbeddedStore, type EmbeddedStoreOptions } from '../../src/store/embedded/index.js';
import type { StorePort } from '../../src/store/port.js';

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

import { hostname } from 'node:os';
import { join } from 'node:path';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import type { Logger } from '../../logger.js';
import { StoreUnavailableError } from '../port.js';
import { LOCK_FILE } from './files.js';

/** What the lock file records about its owner. */
export interface LockOwner {
  pid: number;
  hostname: string;
  since: string;
}

/** A lock file written less than this long ago may still be being filled in by its owner. */
const FRESH_MS = 2_000;

/**
 * Takes the single-writer lock of a store directory: a file created with O_EXCL holding the
 * owner's pid. A lock whose process is gone (killed, crashed) is stale and taken over; one held
 * by a live process, including this one, is refused: two processes would each trust their caches.
 *
 * Liveness is checked by pid on the same host. A lock from another host cannot be checked, and
 * pid reuse can make a stale lock look live: both are refused with a message naming the file.
 */
export async function acquireLock(dir: string, logger: Logger | undefined): Promise<LockOwner> {
  const path = join(dir, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(owner));
        await handle.sync();
      } finally {
        await handle.close();
      }
      return owner;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readOwner(path);
    if (holder === 'gone') continue;
    if (holder === 'unreadable') {
      if (Date.now() - (await mtimeOf(path)) < FRESH_MS) throw refused(path, 'another process is creating it');
    } else if (holder.hostname !== owner.hostname) {
      throw refused(path, `it is held by pid ${holder.pid} on host ${holder.hostname}, whose liveness cannot be checked`);
    } else if (isAlive(holder.pid)) {
      throw refused(path, `it is held by running process ${holder.pid}${holder.pid === process.pid ? ' (this process)' : ''}`);
    }
    logger?.warn({ lock: path, holder }, 'embedded store: taking over a stale lock');
    await unlink(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
  throw refused(path, 'it keeps being re-created by another process');
}

/** Releases the lock if this process still owns it. */
export async function releaseLock(dir: string, owner: LockOwner): Promise<void> {
  const path = join(dir, LOCK_FILE);
  const holder = await readOwner(path);
  if (typeof holder === 'object' && holder.pid === owner.pid && holder.since === owner.since) await unlink(path);
}

async function readOwner(path: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const value = JSON.parse(text) as LockOwner;
    return Number.isInteger(value.pid) && typeof value.hostname === 'string' ? value : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

async function mtimeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

function refused(path: string, reason: string): StoreUnavailableError {
  return new StoreUnavailableError(
    `Embedded store directory is locked (${path}): ${reason}. Only one process may open it; ` +
      'if no such process exists, delete the lock file.',
  );
}

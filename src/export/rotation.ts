import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Sealer } from '../crypto/index.js';
import type { ExportJob } from './job.js';
import type { JobStore } from './job-store.js';
import { fileBinding } from './runner.js';
import { chunkBinding } from './sealed-ndjson.js';

/**
 * Moves one file's chunks to the current at-rest key (README "Rotating keys"): each JWE opened
 * and sealed again under the same binding, written aside, fsynced and renamed over the old file, so
 * a download in progress keeps reading the old one. Returns whether the file was rewritten.
 */
async function resealFile(sealer: Sealer, file: string, binding: string, all: boolean): Promise<boolean> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  if (!all && lines.every((line) => sealer.kidOf(line) === sealer.currentKid())) return false;
  const resealed: string[] = [];
  for (const [i, line] of lines.entries()) resealed.push(await sealer.seal(await sealer.open(line, chunkBinding(binding, i)), chunkBinding(binding, i)));
  const handle = await open(`${file}.tmp`, 'w', 0o600);
  try {
    await handle.write(resealed.map((l) => `${l}\n`).join(''));
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(`${file}.tmp`, file);
  return true;
}

/**
 * The export step of a key rotation: the state and files of every job that is not running are
 * sealed again under the current key (every one with `all`). A running job is left alone (it is
 * still writing; what it writes from now on is under the new key) and is gone within the TTL.
 * Returns how many job states and files it rewrote.
 */
export async function rotateExports(sealer: Sealer, jobs: JobStore, dir: string, running: (id: string) => boolean, all: boolean): Promise<number> {
  let rewritten = 0;
  const { jobs: list } = await jobs.list();
  for (const job of list) {
    if (running(job.id)) continue;
    const state = await readFile(path.join(dir, job.id, 'job.jwe'), 'utf8');
    if (all || sealer.kidOf(state) !== sealer.currentKid()) {
      await jobs.save(job);
      rewritten++;
    }
    for (const file of [...job.output, ...job.errors] as ExportJob['output']) {
      if (await resealFile(sealer, jobs.filePath(job.id, file.name), fileBinding(job, file.name), all)) rewritten++;
    }
  }
  return rewritten;
}

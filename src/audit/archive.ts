import type { StorageCodec } from '../fhir/codec.js';
import type { Sealer } from '../crypto/index.js';
import type { StorePort } from '../store/port.js';
import { ArchiveWriter, lastArchivedEvent, listArchiveFiles, removePartialFiles, type ArchiveFile } from './archive-files.js';
import { linkOf } from './chain.js';
import { ChainCheck } from './chain-check.js';
import { chainId } from './chain-writer.js';
import { walkChain, type ChainedRecord } from './chain-walk.js';

/**
 * Audit retention (`npm run audit:archive`, issue 13): moves the oldest AuditEvents of the hash
 * chain out of the store into the encrypted archive (archive-files.ts), so the store holds a
 * bounded trail while `audit:verify` still checks the whole chain, archive then store.
 *
 * What moves is always a prefix of the chain: events from the first one still in the store, in
 * sequence order, as long as they were recorded before `before`; the first younger event ends the
 * run. The chain's last event always stays, so the chain writer (which finds the tail in the
 * store) goes on numbering after it. Each event's link is checked before it is archived: a broken
 * chain is reported, never archived.
 *
 * Crash-safe, in this order: a file is written under a temporary name, fsynced and renamed; only
 * then are its events purged from the store (`StorePort.purge`), a page at a time. A run
 * interrupted before the rename leaves the events in the store (the partial file is dropped next
 * time); one interrupted while purging is finished by the next run, before it archives more.
 */

export interface ArchiveOptions {
  store: StorePort;
  codec: StorageCodec;
  sealer: Sealer;
  /** The archive directory (`DATA_DIR/audit-archive`). */
  dir: string;
  /** Events recorded before this instant are archived. */
  before: Date;
  /** Events per archive file (default 100,000). */
  eventsPerFile?: number;
  /** Events read and purged per page (default 500). */
  pageSize?: number;
  onProgress?: (archived: number) => void;
}

export interface ArchiveReport {
  /** Events moved to the archive by this run. */
  archived: number;
  /** Files this run wrote. */
  files: ArchiveFile[];
  /** Events of an earlier, interrupted run purged from the store now. */
  finishedPurge: number;
  /** The sequence of the first event left in the store (undefined when it holds none). */
  firstInStore?: number;
}

/** Moves the AuditEvents recorded before `options.before` from the store to the archive. */
export async function archiveAuditEvents(options: ArchiveOptions): Promise<ArchiveReport> {
  const { store, codec, sealer, dir } = options;
  const pageSize = options.pageSize ?? 500;
  const eventsPerFile = options.eventsPerFile ?? 100_000;
  if (!store.purge) throw new Error('This store cannot remove archived events (StorePort.purge); nothing was archived');
  const report: ArchiveReport = { archived: 0, files: [], finishedPurge: 0 };
  await removePartialFiles(dir);
  const files = await listArchiveFiles(dir);
  const lastFile = files.at(-1);
  let check = new ChainCheck();
  if (lastFile) {
    report.finishedPurge = await purgeRange(store, lastFile.first, lastFile.last, pageSize);
    const link = linkOf(await lastArchivedEvent(lastFile, sealer));
    if (!link) throw new Error(`${lastFile.path}: its last event carries no chain link; run npm run audit:verify`);
    check = new ChainCheck({ sequence: link.sequence, hash: link.hash });
  }
  const cutoff = options.before.toISOString();
  let writer: ArchiveWriter | undefined;
  const finish = async (): Promise<void> => {
    if (!writer) return;
    const file = await writer.finish();
    writer = undefined;
    report.files.push(file);
    await purgeRange(store, file.first, file.last, pageSize);
  };
  try {
    // One event of look-ahead: an event is archived only once the next one exists (the tail stays).
    let held: ChainedRecord | undefined;
    for await (const next of walkChain(store, codec, check.next, pageSize)) {
      if (held && !(await archiveOne(held))) break;
      held = next;
    }
    await finish();
  } catch (err) {
    await writer?.abandon();
    throw err;
  }
  await store.compact?.(); // purged events leave the WAL too
  const [first] = await store.find('current', { resourceType: 'AuditEvent', id: chainId(check.next) }, { limit: 1 });
  if (first) report.firstInStore = check.next;
  return report;

  /** Archives one event; false when it is too young (the run ends). Throws on a broken chain. */
  async function archiveOne({ sequence, record, event }: ChainedRecord): Promise<boolean> {
    const recorded = event?.recorded ? new Date(event.recorded).toISOString() : record.lastUpdated;
    if (recorded >= cutoff) return false;
    if (!event || !check.push(event)) {
      if (!event) check.fail(`event ${sequence} is deleted`, record.id);
      const broken = check.firstBreak!;
      throw new Error(`The audit chain is broken at event ${broken.sequence}: ${broken.reason}; nothing from there on was archived (run npm run audit:verify)`);
    }
    writer ??= await ArchiveWriter.create(dir, sealer, sequence);
    await writer.append(sequence, event);
    report.archived++;
    options.onProgress?.(report.archived);
    if (writer.count >= eventsPerFile) await finish();
    return true;
  }
}

/** Purges the chain's events `first..last` still in the store; returns how many there were. */
async function purgeRange(store: StorePort, first: number, last: number, pageSize: number): Promise<number> {
  let purged = 0;
  for (let start = first; start <= last; start += pageSize) {
    const ids = Array.from({ length: Math.min(pageSize, last - start + 1) }, (_, i) => chainId(start + i));
    const present = await store.find('current', { resourceType: 'AuditEvent', id: { $in: ids } });
    if (present.length === 0) continue;
    await store.purge!(present.map((r) => ({ resourceType: 'AuditEvent', id: r.id })));
    purged += present.length;
  }
  return purged;
}

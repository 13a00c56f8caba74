import type { AuditEvent } from '@medplum/fhirtypes';
import type { Sealer } from '../crypto/index.js';
import type { StorageCodec } from '../fhir/codec.js';
import type { StorePort } from '../store/port.js';
import { listArchiveFiles, readArchiveFile } from './archive-files.js';
import { linkOf, type ChainBreak } from './chain.js';
import { ChainCheck } from './chain-check.js';
import { sequenceOfId, walkChain } from './chain-walk.js';

/** The archive `npm run audit:archive` moved the oldest events to (archive.ts). */
export interface AuditArchive {
  dir: string;
  sealer: Sealer;
}

export interface AuditTrailCheck {
  /** Chained events verified, archived ones included. */
  count: number;
  /** Of which in the archive. */
  archived?: number;
  firstBreak?: ChainBreak;
}

/**
 * Checks the hash chain of the AuditEvents (`npm run audit:verify`): the archive's files in
 * order, then the store from the next sequence on, as one chain (sequences continue, the first
 * event in the store links to the last archived one). Streams both: memory does not grow with the
 * trail. Then makes sure the store holds no chained event outside what was walked (a gap, an
 * archived event still there, an event inserted under another id).
 */
export async function verifyAuditTrail(store: StorePort, codec: StorageCodec, archive?: AuditArchive): Promise<AuditTrailCheck> {
  const check = new ChainCheck();
  if (archive) await checkArchive(archive, check);
  const archived = check.count;
  const result = (): AuditTrailCheck => ({ count: check.count, ...(archived > 0 ? { archived } : {}), ...(check.firstBreak ? { firstBreak: check.firstBreak } : {}) });
  if (check.firstBreak) return result();
  const firstInStore = check.next;
  let walked = 0;
  for await (const { sequence, record, event } of walkChain(store, codec, firstInStore)) {
    walked++;
    // A deleted AuditEvent cannot happen through the API; in the store it is a break in the chain.
    if (!event) check.fail(`event ${sequence} is missing (deleted)`, record.id);
    if (!event || !check.push(event)) return result();
  }
  if ((await store.count('current', { resourceType: 'AuditEvent' })) > walked) await findStrays(store, codec, check, firstInStore);
  return result();
}

/** The archive's events, file by file, into the chain check; stops at the first break. */
async function checkArchive({ dir, sealer }: AuditArchive, check: ChainCheck): Promise<void> {
  for (const file of await listArchiveFiles(dir)) {
    if (file.first !== check.next) {
      check.fail(`event ${check.next} is missing (the archive continues with ${file.path} at event ${file.first})`);
      return;
    }
    for await (const line of readArchiveFile(file, sealer)) {
      if (line.sequence > file.last) check.fail(`${file.path} holds more events than its name says`);
      else if ('error' in line) check.fail(`archived event ${line.sequence} in ${file.path} does not open (altered, moved, or its key is no longer in the ring): ${line.error}`);
      else check.push(line.event);
      if (check.firstBreak) return;
    }
    if (check.next !== file.last + 1) {
      check.fail(`event ${check.next} is missing (${file.path} ends early)`);
      return;
    }
  }
}

/**
 * The store holds more AuditEvents than the chain walked: events posted through the API (no
 * link, fine), or chained ones the walk did not reach. Pages through them by id, decoding only
 * those outside the chain's ids.
 */
async function findStrays(store: StorePort, codec: StorageCodec, check: ChainCheck, firstInStore: number): Promise<void> {
  const end = check.next; // the first sequence the walk did not find
  let after = '';
  for (;;) {
    const page = await store.find('current', { resourceType: 'AuditEvent', id: { $gt: after } }, { sort: { id: 1 }, limit: 500 });
    if (page.length === 0) return;
    for (const record of page) {
      const sequence = sequenceOfId(record.id);
      if (sequence !== undefined && sequence < firstInStore) {
        check.fail(`event ${sequence} is archived and still in the store (an interrupted npm run audit:archive: run it again to finish)`, record.id, sequence);
      } else if (sequence !== undefined && sequence >= end) {
        check.fail(`event ${end} is missing (found ${sequence})`, undefined, end);
      } else if (sequence === undefined && record.resource) {
        const link = linkOf((await codec.decode(record.resource)) as AuditEvent);
        if (link) check.fail(`an event outside the chain's ids claims to be event ${link.sequence} (inserted)`, record.id, link.sequence);
      }
      if (check.firstBreak) return;
    }
    after = page[page.length - 1].id;
  }
}

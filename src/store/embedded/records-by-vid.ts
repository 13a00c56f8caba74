import { noteResourceJson, type StoredRecord } from '../port.js';
import { parseRecord, resourceJson } from './record-format.js';
import type { StatementCache } from './statement-cache.js';

/** The records of a page, by version id (a JSON array of them). */
const RECORDS_BY_VID = 'SELECT vid, record, idx FROM versions WHERE vid IN (SELECT value FROM json_each(?))';

/** Their identities only: the record columns, not the JSON (`FindOptions.identityOnly`). */
const IDENTITIES_BY_VID = 'SELECT vid, type, id, version, last_updated, deleted FROM versions WHERE vid IN (SELECT value FROM json_each(?))';

interface RecordRow {
  vid: number;
  record: string;
  idx: string | null;
}

interface IdentityRow {
  vid: number;
  type: string;
  id: string;
  version: number;
  last_updated: string;
  deleted: number;
}

/**
 * The records of these version ids, in their order: parsed (the index when first read,
 * record-format.ts), or, for `identityOnly`, their identity read from the columns without the JSON
 * of resource and index: a join's candidates and a chain's sub-query need only which resources
 * match (`Patient?family=…&_has:…` read and parsed each of the family's patients, issue 13).
 */
export function recordsByVid(statements: StatementCache, vids: readonly number[], identityOnly = false): StoredRecord[] {
  if (vids.length === 0) return [];
  if (identityOnly) {
    const rows = statements.get(IDENTITIES_BY_VID).all(JSON.stringify(vids)) as IdentityRow[];
    const byVid = new Map(rows.map((row) => [row.vid, row]));
    return vids.map((vid) => {
      const row = byVid.get(vid)!;
      return { resourceType: row.type, id: row.id, versionId: row.version, lastUpdated: row.last_updated, deleted: row.deleted === 1 };
    });
  }
  const rows = statements.get(RECORDS_BY_VID).all(JSON.stringify(vids)) as RecordRow[];
  const byVid = new Map(rows.map((row) => [row.vid, row]));
  return vids.map((vid) => {
    const row = byVid.get(vid)!;
    const record = parseRecord(row.record, row.idx);
    const text = row.idx === null ? undefined : resourceJson(row.record);
    if (text !== undefined) noteResourceJson(record, text);
    return record;
  });
}

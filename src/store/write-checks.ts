import type { WriteOp } from './port.js';

/**
 * Rejects malformed writes before anything is checked or stored, in every adapter. These are
 * programming errors in the caller, not conflicts, hence TypeError. versionId must grow,
 * otherwise a write would overwrite an existing history entry.
 */
export function assertWellFormed(writes: readonly WriteOp[]): void {
  for (const { record, expectedVersion } of writes) {
    const where = `${record?.resourceType}/${record?.id}`;
    if (typeof record?.resourceType !== 'string' || !record.resourceType || typeof record.id !== 'string' || !record.id) {
      throw new TypeError(`Invalid write ${where}: resourceType and id must be non-empty strings`);
    }
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
      throw new TypeError(`Invalid write ${where}: expectedVersion must be an integer >= 0`);
    }
    if (!Number.isInteger(record.versionId) || record.versionId <= expectedVersion) {
      throw new TypeError(`Invalid write ${where}: versionId must be an integer greater than expectedVersion`);
    }
    if (typeof record.lastUpdated !== 'string' || typeof record.deleted !== 'boolean') {
      throw new TypeError(`Invalid write ${where}: lastUpdated (string) and deleted (boolean) are required`);
    }
  }
}

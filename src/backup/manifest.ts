import type { DatabaseCounts } from '../store/embedded/snapshot.js';

/** The first entry of a backup's tar: what it holds, checked again by `npm run restore`. */
export const MANIFEST_FILE = 'fhirgate-backup.json';

export interface Manifest {
  format: 1;
  id: string;
  createdAt: string;
  softwareVersion: string;
  /** Where the resources were: in the backup (`embedded`), or in MongoDB, backed up by mongodump. */
  store: 'embedded' | 'mongodb';
  /** What the database copy holds (embedded store with a database). */
  counts?: DatabaseCounts;
  files: Array<{ name: string; size: number }>;
}

/**
 * Whether a path from a backup may be written under DATA_DIR: relative, `/`-separated, no `.` or
 * `..` segment, nothing hidden. The body is authenticated, so this guards against a backup made
 * by a tool other than ours, not against tampering.
 */
export function isSafeEntryName(name: string): boolean {
  if (name.length === 0 || name.length > 255 || name.startsWith('/') || name.includes('\\') || name.includes('\0')) return false;
  return name.split('/').every((segment) => segment.length > 0 && !segment.startsWith('.'));
}

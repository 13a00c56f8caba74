import type { AuditSink } from '../audit/audit-sink.js';
import type { ConsentGate } from '../consent/gate.js';
import type { Sealer } from '../crypto/index.js';
import type { Logger } from '../logger.js';
import type { Compartment } from '../search/compartment.js';
import type { SearchDeps } from '../search/execute.js';

/** Deployment settings of bulk export (EXPORT_* in README "Bulk Data export"). */
export interface ExportSettings {
  /** Where jobs and their files live: `DATA_DIR/export`. */
  dir: string;
  /** How long a finished job's files stay downloadable (EXPORT_FILE_TTL_SECONDS, default 3600). */
  ttlSeconds: number;
  /** Jobs running at once; more wait in a queue (EXPORT_MAX_CONCURRENT, default 1). */
  maxConcurrent: number;
  /** Resources per output file before the next file of the type starts (EXPORT_FILE_MAX_RESOURCES). */
  fileMaxResources: number;
}

/** What export uses: the search machinery's dependencies plus the security steps, audit and the at-rest sealer. */
export interface ExportDeps extends SearchDeps {
  patientCompartment: Compartment;
  consent?: ConsentGate;
  audit: AuditSink;
  sealer: Sealer;
  logger: Logger;
  settings: ExportSettings;
}

/**
 * `npm run audit:verify`: checks the hash chain of the AuditEvents, archived (`npm run
 * audit:archive`, DATA_DIR/audit-archive) then stored, as one chain (README "Consent and audit"), and reports the first break: a missing, inserted or altered event. Exit code 0 when the
 * chain is whole, 1 when it is broken. Opens the store itself: with the embedded store, stop the
 * server first; MongoDB may be verified while servers run.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../app.js';
import { AUDIT_ARCHIVE_DIR } from '../audit/archive-files.js';
import { verifyAuditTrail } from '../audit/verify.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<number> {
  const config = loadConfig(process.env, rootDir);
  const app = await createApp(config, createLogger('warn'));
  try {
    const archive = { dir: path.join(config.dataDir, AUDIT_ARCHIVE_DIR), sealer: app.crypto.sealer };
    const { count, archived, firstBreak } = await verifyAuditTrail(app.store, app.crypto.codec, archive);
    if (!firstBreak) {
      process.stdout.write(`Audit chain intact: ${count} AuditEvents verified${archived ? ` (${archived} archived in ${archive.dir}, ${count - archived} in the store)` : ''}.\n`);
      return 0;
    }
    process.stdout.write(`Audit chain BROKEN at event ${firstBreak.sequence}${firstBreak.id ? ` (AuditEvent/${firstBreak.id})` : ''}: ${firstBreak.reason}. ${count} chained AuditEvents found.\n`);
    return 1;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);

/**
 * `npm run audit:verify`: checks the hash chain of the stored AuditEvents (README "Consent and
 * audit") and reports the first break: a missing, inserted or altered event. Exit code 0 when the
 * chain is whole, 1 when it is broken. Opens the store itself: with the embedded store, stop the
 * server first; MongoDB may be verified while servers run.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../app.js';
import { verifyAuditTrail } from '../audit/verify.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<number> {
  const config = loadConfig(process.env, rootDir);
  const app = await createApp(config, createLogger('warn'));
  try {
    const { count, firstBreak } = await verifyAuditTrail(app.store, app.crypto.codec);
    if (!firstBreak) {
      process.stdout.write(`Audit chain intact: ${count} AuditEvents verified.\n`);
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

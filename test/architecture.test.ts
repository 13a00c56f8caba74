import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from './support/server.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

const SRC = path.join(ROOT_DIR, 'src');
const files = sourceFiles(SRC).map((f) => ({ rel: path.relative(SRC, f), text: readFileSync(f, 'utf8') }));

/** Frameworks stay at the edges (STYLE.md, habit 1): each may be imported only under its folder. */
const EDGES: Array<{ module: RegExp; allowed: RegExp }> = [
  { module: /^(koa|@koa\/.+|raw-body)$/, allowed: /^http\// },
  { module: /^mongodb$/, allowed: /^store\/mongo\// },
  { module: /^mingo(\/.*)?$/, allowed: /^store\/embedded\// },
  { module: /^hl7v2(-dictionary)?$/, allowed: /^hl7v2\// },
  { module: /^ajv(-formats)?$/, allowed: /^validation\// },
  { module: /^oidc-provider$/, allowed: /^auth\/server\// },
];

function imports(text: string): string[] {
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

describe('architecture', () => {
  it.each(EDGES.map((e) => [e.module.source, e] as const))('%s is imported only at its edge', (_name, edge) => {
    const offenders = files.filter((f) => !edge.allowed.test(f.rel) && imports(f.text).some((m) => edge.module.test(m))).map((f) => f.rel);
    expect(offenders).toEqual([]);
  });

  // Process entry points read the environment: main.ts and the commands under cli/.
  it('nothing below main.ts reads process.env', () => {
    const offenders = files.filter((f) => f.rel !== 'main.ts' && !f.rel.startsWith('cli/') && /process\.env/.test(f.text)).map((f) => f.rel);
    expect(offenders).toEqual([]);
  });

  it('store adapters know nothing of the pipeline, auth or FHIR rules', () => {
    const offenders = files
      .filter((f) => f.rel.startsWith('store/') && imports(f.text).some((m) => /\.\.\/(\.\.\/)?(fhir|auth|audit|http|validation)\//.test(m)))
      .map((f) => f.rel);
    expect(offenders).toEqual([]);
  });

  it('no source file grows past 400 lines', () => {
    const long = files.filter((f) => f.text.split('\n').length > 400).map((f) => f.rel);
    expect(long).toEqual([]);
  });
});

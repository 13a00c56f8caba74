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

/** Runtime imports between source files (type-only imports are erased, so they cannot form a cycle at run time). */
function runtimeEdges(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const f of files) {
    const targets = [...f.text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm)]
      .map((m) => path.normalize(path.join(path.dirname(f.rel), m[1].replace(/\.js$/, '.ts'))));
    edges.set(f.rel, targets.filter((t) => files.some((g) => g.rel === t)));
  }
  return edges;
}

/** The first import cycle found among `edges`, as the files on it; empty when there is none. */
function findCycle(edges: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle.length > 0) return cycle;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return [];
  };
  for (const node of edges.keys()) {
    if (state.has(node)) continue;
    const cycle = visit(node);
    if (cycle.length > 0) return cycle;
  }
  return [];
}

describe('pipeline shape (issue 16)', () => {
  it('has no runtime import cycle (the interaction table, the router and the bundles import one way)', () => {
    expect(findCycle(runtimeEdges())).toEqual([]);
  });

  it('writes audit records in one place: only the audit writer (withAudit) calls the sink for a request', () => {
    const callers = files.filter((f) => /\.(record|commitWith|recordEvent)\(/.test(f.text) && /audit/i.test(f.text)).map((f) => f.rel).sort();
    // Besides it, events that are no request's run: sign-ins and token grants inside oidc-provider's flows
    // (login-audit.ts; interactions.ts calls its `record`), and a bulk export job's (export/service.ts).
    expect(callers).toEqual(['audit/with-audit.ts', 'auth/server/interactions.ts', 'auth/server/login-audit.ts', 'export/service.ts']);
  });

  it('records the pipeline and the doors beside it (admin API, HL7 v2 archive) through the one audit writer', () => {
    for (const rel of ['fhir/pipeline/audit-step.ts', 'auth/server/admin-api.ts', 'http/hl7-routes.ts']) {
      const file = files.find((f) => f.rel === rel)!;
      expect(imports(file.text).some((m) => m.endsWith('audit/with-audit.js')), rel).toBe(true);
    }
    // The events of the admin API and the archive are built, never written, by their modules.
    const eventBuilders = files.filter((f) => /(admin-event|archive-access-event)\.js['"]/.test(f.text)).map((f) => f.rel).sort();
    expect(eventBuilders).toEqual(['auth/server/admin-api.ts', 'http/hl7-routes.ts']);
  });

  it('keeps FhirRequest plain data: request.ts imports nothing of the pipeline', () => {
    const request = files.find((f) => f.rel === 'fhir/request.ts')!;
    expect(imports(request.text).filter((m) => m.startsWith('.'))).toEqual([]);
  });

  it('resolves FHIR URLs in one router: no route table outside the interaction table', () => {
    const routers = files.filter((f) => /createRouter\(/.test(f.text)).map((f) => f.rel).sort();
    expect(routers).toEqual(['fhir/pipeline.ts', 'fhir/routes.ts', 'http/fhir-routes.ts']);
    expect(files.filter((f) => /@koa\/router/.test(f.text) && /fhir-routes/.test(f.rel))).toEqual([]);
  });
});

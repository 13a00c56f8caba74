import type { Next } from 'koa';

/** A path as @koa/router matches a static route: case-insensitive, one trailing slash optional. */
export function routePath(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

/**
 * Runs `middleware` (a router of a few static paths) only for requests at `paths`; every other
 * request goes straight on. A router mounted ahead of the FHIR API would otherwise match, compose
 * and await on every FHIR request (issue 14). `paths` are lower-case, as routePath gives them.
 */
export function atPaths<C extends { path: string }>(paths: readonly string[], middleware: (ctx: C, next: Next) => unknown): (ctx: C, next: Next) => unknown {
  const served = new Set(paths);
  return (ctx, next) => (served.has(routePath(ctx.path)) ? middleware(ctx, next) : next());
}

import type { Next } from 'koa';

/** A path as @koa/router matches a static route: case-insensitive, one trailing slash optional. */
export function routePath(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

/**
 * The router's middleware, entered only for requests at the router's own (static) paths; every
 * other request goes straight on. A router mounted ahead of the FHIR API would otherwise match,
 * compose and await on every FHIR request (issue 14). The paths are read from the router itself,
 * so a route added to it is served without a second list to keep in step.
 */
export function atItsPaths<C extends { path: string }>(router: {
  stack: ReadonlyArray<{ path: string | RegExp }>;
  routes(): (ctx: C, next: Next) => unknown;
}): (ctx: C, next: Next) => unknown {
  const served = new Set(
    router.stack.map(({ path }) => {
      // A parameter, pattern or wildcard would need the router's own matching.
      if (typeof path !== 'string' || /[:*()?]/.test(path)) throw new Error(`atItsPaths serves static paths only, not ${String(path)}`);
      return routePath(path);
    }),
  );
  const routes = router.routes();
  return (ctx, next) => (served.has(routePath(ctx.path)) ? routes(ctx, next) : next());
}

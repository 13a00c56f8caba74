import type { Context } from 'koa';

const NONE = new URLSearchParams();
const parsed = new WeakMap<Context, URLSearchParams>();

/**
 * The request's query parameters, parsed once per request from the raw query string. Koa's
 * `ctx.URL` builds a whole WHATWG URL (origin, host, path) on first use just to reach these, and
 * a read by id has no query at all (issue 14). Read-only: the same object answers every caller.
 */
export function searchParamsOf(ctx: Context): URLSearchParams {
  const raw = ctx.querystring;
  if (!raw) return NONE;
  let params = parsed.get(ctx);
  if (!params) parsed.set(ctx, (params = new URLSearchParams(raw)));
  return params;
}

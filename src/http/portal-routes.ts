import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';

export interface PortalRoutesOptions {
  /** Folder of the portal's static files (`portal/` at the project root). */
  dir: string;
  /** What `/portal/config.json` answers. */
  config: Record<string, string>;
  /** Origin of the authorization server, where the sign-in redirect goes. */
  authOrigin: string;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/**
 * `/portal/`: the patient portal, a small static SMART app (HTML, two scripts, one stylesheet; no
 * build step, nothing from a CDN) read once at start. Its strict CSP allows scripts and calls to
 * this server only.
 */
export function portalRoutes(options: PortalRoutesOptions): Middleware {
  const files = new Map<string, { type: string; body: string }>();
  for (const name of ['index.html', 'app.js', 'smart-auth.js', 'style.css']) {
    files.set(`/portal/${name}`, { type: TYPES[path.extname(name)], body: readFileSync(path.join(options.dir, name), 'utf8') });
  }
  files.set('/portal/', files.get('/portal/index.html')!);
  files.set('/portal/config.json', { type: 'application/json; charset=utf-8', body: JSON.stringify(options.config) });
  const csp = `default-src 'self'; img-src 'self' data:; form-action 'self' ${options.authOrigin}; frame-ancestors 'none'; base-uri 'none'`;
  return (ctx, next) => {
    if (ctx.path === '/portal' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      ctx.redirect(`/portal/${ctx.search}`);
      return;
    }
    const file = files.get(ctx.path);
    if (!file || !(ctx.method === 'GET' || ctx.method === 'HEAD')) return next();
    ctx.set('Content-Security-Policy', csp);
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.type = file.type;
    ctx.body = file.body;
  };
}

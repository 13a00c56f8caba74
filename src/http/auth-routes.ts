import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import { FhirError } from '../fhir/errors.js';

export interface AuthRoutesOptions {
  /** The embedded authorization server (oidc-provider), when it runs. */
  server?: { mountPath: string; handle(req: IncomingMessage, res: ServerResponse): void };
  smartConfiguration(): Promise<Record<string, unknown> | undefined>;
}

/**
 * `GET /fhir/.well-known/smart-configuration` (SMART App Launch discovery, open to all) and the
 * embedded authorization server, handed the raw request below its mount path (`/auth`).
 */
export function authRoutes(options: AuthRoutesOptions): Middleware {
  const mount = options.server?.mountPath;
  return async (ctx, next) => {
    if (ctx.path === '/fhir/.well-known/smart-configuration' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      const configuration = await options.smartConfiguration();
      if (!configuration) throw new FhirError('not-found', 'No authorization server is configured');
      ctx.set('Access-Control-Allow-Origin', '*');
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.body = configuration;
      return;
    }
    if (options.server && mount && (ctx.path === mount || ctx.path.startsWith(`${mount}/`))) {
      const { req, res } = ctx;
      // oidc-provider derives its mount path from originalUrl minus url (as with koa-mount or Express).
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
      req.url = req.url!.slice(mount.length) || '/';
      // The request's id (requestId()), for the audit records of the admin API: the client's only when sane.
      req.headers['x-request-id'] = ctx.state.requestId;
      ctx.respond = false;
      const done = new Promise<void>((resolve) => {
        res.once('finish', resolve);
        res.once('close', resolve);
      });
      options.server.handle(req, res);
      await done;
      return;
    }
    await next();
  };
}

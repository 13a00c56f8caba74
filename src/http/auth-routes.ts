import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Middleware } from 'koa';
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
  // Decided without entering the async handler: every FHIR request passes here (issue 14).
  const handles = (ctx: Context): boolean =>
    (ctx.path === '/fhir/.well-known/smart-configuration' && (ctx.method === 'GET' || ctx.method === 'HEAD')) ||
    (options.server !== undefined && mount !== undefined && (ctx.path === mount || ctx.path.startsWith(`${mount}/`)));
  const handle = async (ctx: Context): Promise<void> => {
    if (ctx.path === '/fhir/.well-known/smart-configuration') {
      const configuration = await options.smartConfiguration();
      if (!configuration) throw new FhirError('not-found', 'No authorization server is configured');
      ctx.set('Access-Control-Allow-Origin', '*');
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.body = configuration;
      return;
    }
    if (options.server && mount) {
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
    }
  };
  return (ctx, next) => (handles(ctx) ? handle(ctx) : next());
}

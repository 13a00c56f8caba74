import Router from '@koa/router';
import type { StorePort } from '../store/port.js';

/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the store is reachable). */
export function healthRoutes(store: StorePort): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const ready = await store.ping().catch(() => false);
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', store: ready ? 'up' : 'down' };
  });
  return router;
}

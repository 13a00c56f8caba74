import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { isMetricsToken } from './metrics-routes.js';

/**
 * `/metrics` on its own port (METRICS_PORT, bound to METRICS_HOST, default 127.0.0.1), for a
 * scraper on a management network: nothing else is served there, and the main port has no
 * `/metrics`. Open to whoever reaches the address unless METRICS_TOKEN is set, then required.
 */
export function createMetricsServer(options: { metrics: Pick<Metrics, 'exposition'>; token?: string; logger: Logger }): { listen(port: number, host: string): Promise<number>; close(): Promise<void> } {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found: only GET /metrics is served here\n');
      return;
    }
    const bearer = /^Bearer[ ]+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (options.token && !(bearer && isMetricsToken(bearer, options.token))) {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="metrics"' }).end('METRICS_TOKEN required\n');
      return;
    }
    options.metrics.exposition().then(
      ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body),
      (err: unknown) => {
        options.logger.error({ err }, 'metrics: exposition failed');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

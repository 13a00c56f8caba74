import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ROOT_DIR } from '../../support/server.js';

const FILES: Record<string, string> = {
  '/fhir-client.js': path.join(ROOT_DIR, 'node_modules/fhirclient/build/fhir-client.js'),
  '/launch.html': path.join(ROOT_DIR, 'test/browser/third-party-app/launch.html'),
  '/index.html': path.join(ROOT_DIR, 'test/browser/third-party-app/index.html'),
};

/**
 * A third-party SMART app's own web server, on another origin (`http://localhost:<port>`, where
 * FhirGate runs on 127.0.0.1): static pages using the real fhirclient browser bundle.
 */
export async function startAppServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const file = FILES[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'Content-Type': file.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8' }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { chmod, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { RotationOptions, RotationProgress, RotationSummary } from './rotation.js';

/**
 * The local control channel of a running server: a Unix socket in `DATA_DIR/crypto` (folder
 * 0700, socket 0600), so only someone who can already read the key ring there can use it. It
 * exists because the embedded store admits one process per DATA_DIR: `npm run rotate-keys`
 * asks the running server to rotate rather than open the store itself. Protocol: one JSON
 * request line, then JSON lines of progress and a final `done` or `error`.
 */

export interface ControlRequest {
  command: 'rotate';
  options: RotationOptions;
}

export type ControlMessage =
  | { type: 'progress'; progress: RotationProgress }
  | { type: 'done'; summary: RotationSummary }
  | { type: 'error'; message: string };

export type RotateHandler = (options: RotationOptions, onProgress: (p: RotationProgress) => void) => Promise<RotationSummary>;

export interface ControlServer {
  close(): Promise<void>;
}

// sun_path is 108 bytes on Linux, 104 on macOS.
const MAX_SOCKET_PATH = 100;

function listen(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** True when some process answers on the socket. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts the control channel; undefined (with a warning) where it cannot run. */
export async function startControlServer(socketPath: string, rotate: RotateHandler, logger: Logger): Promise<ControlServer | undefined> {
  if (process.platform === 'win32' || socketPath.length > MAX_SOCKET_PATH) {
    logger.warn({ socketPath }, 'crypto: no control socket here (Windows, or DATA_DIR path too long); rotate keys with the server stopped');
    return undefined;
  }
  let running = false;
  const server = net.createServer((socket) => {
    let buffered = '';
    const send = (message: ControlMessage): boolean => socket.write(`${JSON.stringify(message)}\n`);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buffered += String(chunk);
      const newline = buffered.indexOf('\n');
      if (newline < 0 || buffered.length > 10_000) return;
      socket.removeAllListeners('data');
      let request: ControlRequest;
      try {
        request = JSON.parse(buffered.slice(0, newline)) as ControlRequest;
      } catch {
        socket.end(`${JSON.stringify({ type: 'error', message: 'malformed request' } satisfies ControlMessage)}\n`);
        return;
      }
      if (request.command !== 'rotate') return void socket.end(`${JSON.stringify({ type: 'error', message: 'unknown command' })}\n`);
      if (running) return void socket.end(`${JSON.stringify({ type: 'error', message: 'a key rotation is already running' })}\n`);
      running = true;
      logger.info({ options: request.options }, 'crypto: key rotation started');
      rotate({ all: request.options?.all === true }, (progress) => send({ type: 'progress', progress }))
        .then((summary) => {
          logger.info({ summary }, 'crypto: key rotation finished');
          socket.end(`${JSON.stringify({ type: 'done', summary } satisfies ControlMessage)}\n`);
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'crypto: key rotation failed');
          socket.end(`${JSON.stringify({ type: 'error', message: (err as Error).message } satisfies ControlMessage)}\n`);
        })
        .finally(() => (running = false));
    });
  });
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  await chmod(path.dirname(socketPath), 0o700);
  try {
    await listen(server, socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await answers(socketPath))) {
      logger.warn({ socketPath, err }, 'crypto: the control socket is in use by another process; this server has none');
      return undefined;
    }
    // Left behind by a process that died without closing it.
    await unlink(socketPath);
    await listen(server, socketPath);
  }
  await chmod(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

/**
 * Asks the server listening on `socketPath` to rotate, reporting its progress. Resolves with
 * `undefined` when no server listens there (the caller may then rotate offline).
 */
export function requestRotation(socketPath: string, options: RotationOptions, onProgress: (p: RotationProgress) => void): Promise<RotationSummary | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let buffered = '';
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    socket.once('connect', () => socket.write(`${JSON.stringify({ command: 'rotate', options } satisfies ControlRequest)}\n`));
    socket.on('data', (chunk) => {
      buffered += String(chunk);
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const message = JSON.parse(buffered.slice(0, newline)) as ControlMessage;
        buffered = buffered.slice(newline + 1);
        if (message.type === 'progress') onProgress(message.progress);
        else if (message.type === 'done') settle(() => resolve(message.summary));
        else settle(() => reject(new Error(message.message)));
      }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      settle(() => (['ENOENT', 'ECONNREFUSED'].includes(err.code ?? '') ? resolve(undefined) : reject(err)));
    });
    socket.once('close', () => settle(() => reject(new Error('the server closed the control connection before the rotation finished'))));
  });
}

import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../logger.js';
import { frame, MllpDecoder } from './framing.js';
import type { MessageHandler } from './handle.js';

export interface MllpOptions {
  host: string;
  port: number;
  /** Largest frame accepted (HL7_MLLP_MAX_BYTES); larger ones close the connection. */
  maxBytes: number;
  /** A connection idle this long is closed (HL7_MLLP_IDLE_TIMEOUT_MS). */
  idleTimeoutMs: number;
  /** A started frame must be complete within this time (slow-drip senders, HL7_MLLP_FRAME_TIMEOUT_MS). */
  frameTimeoutMs: number;
  /** Remote addresses allowed to connect (HL7_MLLP_ALLOW). */
  allow: net.BlockList;
  /** Most connections at once; more are refused (HL7_MLLP_MAX_CONNECTIONS). */
  maxConnections: number;
  /** MLLP over TLS (issue 7; HL7_MLLP_TLS_*); absent: plain TCP. */
  tls?: MllpTlsOptions;
}

export interface MllpTlsOptions {
  cert: Buffer;
  key: Buffer;
  /** CA of the senders' client certificates: when set, a certificate it signed is required. */
  ca?: Buffer;
  /** Client certificate subject CNs allowed; others are closed after the handshake. */
  allowedSubjects?: string[];
}

export interface MllpListener {
  /** Resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops accepting, lets messages being applied finish, then closes every connection. */
  close(): Promise<void>;
}

/**
 * The MLLP listener: many concurrent connections, messages of one connection applied one after
 * the other in arrival order (each acknowledged before the next is applied). Every failure is
 * contained to its connection: a NAK or a close with a logged reason, never a crash.
 */
export function createMllpListener(handler: MessageHandler, options: MllpOptions, logger: Logger): MllpListener {
  const sockets = new Set<net.Socket>();
  const inflight = new Set<Promise<void>>();
  let nextId = 0;
  /** Allow-list and connection limit, on the raw TCP socket: a refused peer never reaches the TLS handshake. */
  const admit = (socket: net.Socket): Logger | undefined => {
    const conn = ++nextId;
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    const log = logger.child({ component: 'mllp', conn, address });
    const remote = socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    if (!options.allow.check(remote, net.isIPv6(remote) ? 'ipv6' : 'ipv4')) {
      log.warn({ reason: 'not-allowed' }, 'mllp connection refused: address not in HL7_MLLP_ALLOW');
      return void socket.destroy();
    }
    if (sockets.size >= options.maxConnections) {
      log.warn({ reason: 'too-many-connections' }, 'mllp connection refused: HL7_MLLP_MAX_CONNECTIONS reached');
      return void socket.destroy();
    }
    // The TCP socket is what counts and what `close()` destroys (a TLSSocket goes with it).
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return log;
  };
  const admitted = new WeakMap<net.Socket, Logger>();
  // node:tls keeps the TCP socket a TLSSocket wraps in `_parent` (undocumented, stable since Node 0.x).
  const connectionLog = (socket: tls.TLSSocket): Logger | undefined => {
    const raw = (socket as tls.TLSSocket & { _parent?: net.Socket })._parent;
    return raw && admitted.get(raw);
  };
  let server: net.Server;
  if (options.tls) {
    const { cert, key, ca, allowedSubjects } = options.tls;
    // With a CA, the handshake itself refuses a sender without a certificate that CA signed.
    server = tls.createServer({ cert, key, ca, requestCert: Boolean(ca), rejectUnauthorized: Boolean(ca), noDelay: true });
    server.prependListener('connection', (raw: net.Socket) => {
      const log = admit(raw);
      if (log) admitted.set(raw, log);
    });
    // A connection refused by `admit` was logged there; its aborted handshake is not logged again.
    server.on('tlsClientError', (err, socket) => connectionLog(socket)?.warn({ reason: 'tls-handshake', detail: err.message }, 'mllp connection refused: TLS handshake failed'));
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const base = connectionLog(socket);
      if (!base) return void socket.destroy();
      // Only the subject CN is logged: the rest of a certificate is nobody's business in the logs.
      const cn = ca ? peerCommonName(socket) : undefined;
      const log = ca ? base.child({ subject: cn ?? null }) : base;
      if (allowedSubjects && (!cn || !allowedSubjects.includes(cn))) {
        log.warn({ reason: 'subject-not-allowed' }, 'mllp connection refused: certificate subject not in HL7_MLLP_TLS_ALLOWED_SUBJECTS');
        return void socket.destroy();
      }
      if (ca) log.info('mllp client certificate accepted');
      serve(socket, log, cn);
    });
  } else {
    server = net.createServer({ noDelay: true }, (socket) => {
      const log = admit(socket);
      if (log) serve(socket, log);
    });
  }

  /** One admitted connection: framing, ACKs, timeouts, the same over TCP and TLS. */
  function serve(socket: net.Socket, log: Logger, subject?: string): void {
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    const decoder = new MllpDecoder(options.maxBytes);
    let queue: Promise<void> = Promise.resolve();
    let pending = 0;
    let frameTimer: NodeJS.Timeout | undefined;
    const close = (reason: string, detail?: string): void => {
      if (socket.destroyed) return;
      log.warn({ reason, detail }, 'mllp connection closed');
      socket.destroy();
    };
    socket.setTimeout(options.idleTimeoutMs, () => close('idle-timeout'));
    socket.on('error', (err) => log.info({ reason: 'socket-error', detail: err.message }, 'mllp socket error'));
    socket.on('close', () => clearTimeout(frameTimer));
    let refusing = false;
    socket.on('data', (chunk: Buffer) => {
      if (refusing) return;
      const events = decoder.push(chunk);
      for (const event of events) {
        if (event.kind === 'error' && event.reason === 'oversized') return refuseOversized(event.head, event.detail);
        if (event.kind === 'error') return close(event.reason, event.detail);
        pending++;
        // Back-pressure: a sender far ahead of its acknowledgements is paused, not buffered without bound.
        if (pending > 16) socket.pause();
        queue = queue.then(() => process(event.bytes));
      }
      // The frame timer runs from a frame's first byte to its end: trickling bytes do not extend it.
      if (events.length || !decoder.inFrame) frameTimer = void clearTimeout(frameTimer);
      if (decoder.inFrame && !frameTimer) frameTimer = setTimeout(() => close('frame-timeout', `frame not complete within ${options.frameTimeoutMs} ms`), options.frameTimeoutMs);
    });
    /**
     * A frame over the limit: the messages before it are answered first, then an AR for it (issue 19),
     * then the connection is closed: the rest of the frame cannot be skipped reliably.
     */
    const refuseOversized = (head: Buffer, detail: string): void => {
      refusing = true;
      clearTimeout(frameTimer);
      socket.pause();
      const work = queue.then(async () => {
        const handled = await handler.oversized({ bytes: head, transport: 'mllp', address: subject ? `mllps://${encodeURIComponent(subject)}@${address}` : `mllp://${address}` }, options.maxBytes);
        log.warn({ reason: 'oversized', detail }, 'mllp connection closed');
        if (socket.destroyed) return;
        // Closed once the AR is flushed, or after a grace period for a sender that does not read.
        setTimeout(() => socket.destroy(), 5000).unref();
        socket.write(Buffer.concat(handled.acks.map(frame)), () => socket.destroy());
      });
      inflight.add(work);
      void work.finally(() => inflight.delete(work));
      queue = work;
    };
    const process = async (bytes: Buffer): Promise<void> => {
      const work = (async () => {
        try {
          const handled = await handler.handle({ bytes, transport: 'mllp', address: subject ? `mllps://${encodeURIComponent(subject)}@${address}` : `mllp://${address}` });
          if (!socket.destroyed) for (const ack of handled.acks) socket.write(frame(ack));
        } catch (err) {
          // The handler answers every message itself; reaching here is a bug: drop the connection, keep the listener.
          log.error({ err }, 'mllp message handling failed');
          close('internal-error');
        } finally {
          if (--pending <= 16 && socket.isPaused()) socket.resume();
        }
      })();
      inflight.add(work);
      await work;
      inflight.delete(work);
    };
  }
  server.on('error', (err) => logger.error({ err }, 'mllp listener error'));

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve((server.address() as net.AddressInfo).port);
        });
      }),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inflight]);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The peer certificate's subject CN (first one if several), or undefined. */
function peerCommonName(socket: tls.TLSSocket): string | undefined {
  const cn = socket.getPeerCertificate()?.subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[0] : cn || undefined;
}

/** Parses HL7_MLLP_ALLOW: comma-separated addresses and CIDR ranges (IPv4 and IPv6). */
export function parseAllowList(spec: string): net.BlockList {
  const list = new net.BlockList();
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [address, prefix] = item.split('/');
    const type = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
    if (!type || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) throw new Error(`'${item}' is not an IP address or CIDR range`);
    if (prefix !== undefined) list.addSubnet(address, Number(prefix), type);
    else list.addAddress(address, type);
  }
  return list;
}

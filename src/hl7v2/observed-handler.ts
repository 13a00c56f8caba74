import type { MessageHandler } from './handle.js';

/** What the MLLP listener reports of each message it answers (the app records it as metrics, README "Metrics"). */
export interface MllpObserver {
  /** A message starts being applied (+1) or has been answered (-1). */
  mllpInflight(delta: 1 | -1): void;
  /** A message was answered: MSA-1 of its application acknowledgement, of each ACK sent, and the time it took. */
  mllpMessage(applicationAck: string, ackCodes: readonly string[], seconds: number): void;
}

/** MSA-1 of an acknowledgement (`MSA|AA|...`; the field separator is MSH-1, the character after `MSH`). */
export function ackCodeOf(ack: string): string {
  const separator = ack.startsWith('MSH') ? ack[3] : '|';
  const msa = ack.split(/\r\n?|\n/).find((segment) => segment.startsWith(`MSA${separator}`));
  const code = msa?.split(separator)[1] ?? '';
  return /^[AC][AER]$/.test(code) ? code : 'invalid';
}

/**
 * The handler the MLLP listener calls, reporting every message it answers: at the listener's
 * edge, so the handling itself (archive, mapping, pipeline) knows nothing of metrics.
 */
export function observedHandler(handler: MessageHandler, observer: MllpObserver): MessageHandler {
  const observe = <A extends unknown[]>(run: (...args: A) => ReturnType<MessageHandler['handle']>) =>
    async (...args: A): ReturnType<MessageHandler['handle']> => {
      const started = performance.now();
      observer.mllpInflight(1);
      try {
        const handled = await run(...args);
        observer.mllpMessage(handled.code, handled.acks.map(ackCodeOf), (performance.now() - started) / 1000);
        return handled;
      } finally {
        observer.mllpInflight(-1);
      }
    };
  return { ...handler, handle: observe(handler.handle), oversized: observe(handler.oversized) };
}

/** MLLP framing (HL7 v2 Transport Specification: MLLP, release 2): `<VT> message <FS><CR>`. */
export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export type FrameEvent =
  | { kind: 'frame'; bytes: Buffer }
  | { kind: 'error'; reason: 'garbage' | 'missing-start'; detail: string }
  /** `head`: the frame's bytes read before the limit (at most `maxBytes`), to address the AR. */
  | { kind: 'error'; reason: 'oversized'; detail: string; head: Buffer };

/**
 * Incremental MLLP decoder: feed it socket chunks, get whole frames. Bytes outside a frame other
 * than CR/LF are an error (the connection cannot be resynchronized safely), as is a frame over
 * `maxBytes`. `inFrame` tells whether a frame has started and not ended (for slow-drip timeouts).
 */
export class MllpDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private started = false;

  constructor(private readonly maxBytes: number) {}

  get inFrame(): boolean {
    return this.started;
  }

  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (!this.started) {
        const b = chunk[pos];
        if (b === VT) (this.started = true), (this.parts = []), (this.size = 0), pos++;
        else if (b === CR || b === 0x0a) pos++;
        else return [...events, { kind: 'error', reason: b === 0x4d ? 'missing-start' : 'garbage', detail: `byte 0x${b.toString(16)} outside a frame` }];
        continue;
      }
      const end = chunk.indexOf(FS, pos);
      const piece = chunk.subarray(pos, end < 0 ? chunk.length : end);
      this.size += piece.length;
      if (this.size > this.maxBytes) {
        const head = Buffer.concat([...this.parts, piece.subarray(0, piece.length - (this.size - this.maxBytes))]);
        return [...events, { kind: 'error', reason: 'oversized', detail: `frame over ${this.maxBytes} bytes`, head }];
      }
      this.parts.push(piece);
      if (end < 0) break;
      events.push({ kind: 'frame', bytes: Buffer.concat(this.parts) });
      this.started = false;
      this.parts = [];
      pos = end + 1;
      // The CR after FS is required by MLLP but tolerated when missing (it is skipped as inter-frame CR).
    }
    return events;
  }
}

/** Wraps a message (an ACK) in an MLLP frame. */
export function frame(message: string): Buffer {
  return Buffer.concat([Buffer.from([VT]), Buffer.from(message, 'utf8'), Buffer.from([FS, CR])]);
}

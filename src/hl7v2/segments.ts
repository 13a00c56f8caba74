/**
 * Segment terminators as senders use them: CR (the standard, v2 ch. 2.5.2), LF (file-based senders,
 * some engines) and CRLF, all read as CR. A line break inside a value is escaped (`\.br\`,
 * `\X0A\`), so a raw LF can only end a segment. Byte-wise, which holds for UTF-8 and the
 * single-byte character sets of MSH-18.
 */
export function normalizeSegments(bytes: Buffer): Buffer {
  if (!bytes.includes(0x0a)) return bytes;
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0a) {
      if (i > 0 && bytes[i - 1] === 0x0d) continue;
      out[n++] = 0x0d;
    } else out[n++] = b;
  }
  return out.subarray(0, n);
}

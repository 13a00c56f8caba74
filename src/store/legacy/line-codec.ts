import { crc32 } from 'node:zlib';

/**
 * One line of a journal or snapshot file of the pre-SQLite embedded store (read by `npm run migrate`): `<crc32 as 8 hex digits> <JSON>\n`.
 *
 * The checksum covers the JSON bytes, so a line that was torn by a crash, zero-filled by the
 * file system after a power loss, or flipped on disk is recognized and never applied.
 */

const NEWLINE = 0x0a;
const SPACE = 0x20;
const HEX_DIGITS = 8;

/** Encodes a JSON value as one checksummed line, newline included. */
export function encodeLine(value: unknown): Buffer {
  return encodeJsonLine(JSON.stringify(value));
}

/** Same as encodeLine, for a value already serialized. */
export function encodeJsonLine(text: string): Buffer {
  const json = Buffer.from(text, 'utf8');
  const line = Buffer.allocUnsafe(HEX_DIGITS + 1 + json.length + 1);
  line.write(crc32(json).toString(16).padStart(HEX_DIGITS, '0'), 0, 'latin1');
  line[HEX_DIGITS] = SPACE;
  json.copy(line, HEX_DIGITS + 1);
  line[line.length - 1] = NEWLINE;
  return line;
}

/**
 * Decodes a line (without its newline). Returns undefined when the line is malformed,
 * its checksum does not match, or its JSON does not parse.
 */
export function decodeLine(line: Buffer): unknown {
  if (line.length < HEX_DIGITS + 2 || line[HEX_DIGITS] !== SPACE) return undefined;
  const hex = line.toString('latin1', 0, HEX_DIGITS);
  if (!/^[0-9a-f]{8}$/.test(hex)) return undefined;
  const json = line.subarray(HEX_DIGITS + 1);
  if (crc32(json) !== Number.parseInt(hex, 16)) return undefined;
  try {
    return JSON.parse(json.toString('utf8'));
  } catch {
    return undefined;
  }
}

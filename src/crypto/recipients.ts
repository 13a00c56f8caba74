import { readFile, stat } from 'node:fs/promises';
import jose from 'node-jose';
import { writePrivateJson } from './key-source.js';

/**
 * The receiving organizations of encrypted exchange (issue 9): each registered with an id and its
 * public JWKS. Kept as a JSON file under DATA_DIR (`exchange/recipients.json`), managed with
 * `npm run exchange-recipients`, and re-read by the server when the file changes.
 */

export interface RecipientEntry {
  id: string;
  name?: string;
  jwks: { keys: Array<Record<string, unknown>> };
}

export interface RecipientsFile {
  recipients: RecipientEntry[];
}

/** A recipient ready to encrypt to: the key FhirGate uses (the first suitable one of its JWKS). */
export interface Recipient {
  id: string;
  name?: string;
  key: jose.JWK.Key;
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const ALG_OF: Readonly<Record<string, string>> = { EC: 'ECDH-ES+A256KW', RSA: 'RSA-OAEP-256' };

/**
 * The key of a JWKS to encrypt to: a public EC (P-256/384/521) or RSA (≥ 2048 bits) key meant for
 * encryption (`use` enc or absent, `alg` absent or the one FhirGate uses for its type).
 * Throws with the reason when there is none or a key holds private material.
 */
export function encryptionKeyOf(jwks: unknown, id: string): Record<string, unknown> {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`recipient '${id}': the JWKS has no keys`);
  for (const key of keys as Array<Record<string, unknown>>) {
    if (['d', 'p', 'q', 'k'].some((m) => m in key)) throw new Error(`recipient '${id}': the JWKS holds private or secret key material; register the public keys only`);
  }
  const usable = (keys as Array<Record<string, unknown>>).find((k) => {
    const alg = ALG_OF[String(k.kty)];
    if (!alg || (k.use !== undefined && k.use !== 'enc') || (k.alg !== undefined && k.alg !== alg)) return false;
    if (k.kty === 'RSA') return Buffer.from(String(k.n ?? ''), 'base64url').length >= 256;
    return ['P-256', 'P-384', 'P-521'].includes(String(k.crv));
  });
  if (!usable) throw new Error(`recipient '${id}': no encryption key (EC P-256/384/521 for ECDH-ES+A256KW, or RSA ≥ 2048 bits for RSA-OAEP-256)`);
  return usable;
}

/** Checks a recipients file's content; throws naming the first problem. */
export function checkRecipients(value: unknown): RecipientsFile {
  const list = (value as RecipientsFile | null)?.recipients;
  if (!Array.isArray(list)) throw new Error('the recipients file must be {"recipients": [...]}');
  const seen = new Set<string>();
  for (const entry of list) {
    if (!ID.test(String(entry?.id))) throw new Error(`recipient id '${String(entry?.id)}' must be 1-64 letters, digits, . _ -`);
    if (seen.has(entry.id)) throw new Error(`recipient '${entry.id}' appears twice`);
    seen.add(entry.id);
    encryptionKeyOf(entry.jwks, entry.id);
  }
  return value as RecipientsFile;
}

/** Reads a recipients file; an absent file is an empty registry. */
export async function readRecipients(file: string): Promise<RecipientsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { recipients: [] };
    throw err;
  }
  return checkRecipients(JSON.parse(text));
}

/** Writes a recipients file atomically (mode 0600: who may receive data is the server's business). */
export async function writeRecipients(file: string, content: RecipientsFile): Promise<void> {
  await writePrivateJson(file, checkRecipients(content));
}

/**
 * The registry as the server reads it: the file is checked with one `stat` per lookup and parsed
 * again, with its keys imported, only when it changed.
 */
export function createRecipientRegistry(file: string): { get(id: string): Promise<Recipient | undefined> } {
  let cached: { stamp: string; byId: Map<string, Recipient> } | undefined;
  async function load(): Promise<Map<string, Recipient>> {
    let stamp = 'absent';
    try {
      const s = await stat(file);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (cached?.stamp === stamp) return cached.byId;
    const byId = new Map<string, Recipient>();
    for (const entry of (await readRecipients(file)).recipients) {
      const jwk = encryptionKeyOf(entry.jwks, entry.id);
      const key = await jose.JWK.asKey({ ...(jwk as jose.JWK.RawKey), use: 'enc', alg: ALG_OF[String(jwk.kty)] });
      byId.set(entry.id, { id: entry.id, ...(entry.name ? { name: entry.name } : {}), key });
    }
    cached = { stamp, byId };
    return byId;
  }
  return { get: async (id) => (await load()).get(id) };
}

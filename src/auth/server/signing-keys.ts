import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';

const FILE = 'signing-keys.json';

/**
 * The embedded authorization server's signing keys (one RS256, one ES256), private, in
 * `<authDir>/signing-keys.json` (mode 0600). Made on first start; the same keys sign its tokens and,
 * in tests, the tokens the tests mint, so tests go through the real verification path.
 */
export async function loadOrCreateSigningKeys(authDir: string): Promise<JSONWebKeySet> {
  const file = path.join(authDir, FILE);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as JSONWebKeySet;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const keys = [await newKey('RS256'), await newKey('ES256')];
  await mkdir(authDir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify({ keys }, null, 2), { mode: 0o600 });
  await rename(temp, file);
  return { keys };
}

async function newKey(alg: 'RS256' | 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, use: 'sig', kid: await calculateJwkThumbprint(jwk) };
}

/** Secrets signing the embedded server's cookies, in `<authDir>/cookie-keys.json` (made on first start). */
export async function loadOrCreateCookieKeys(authDir: string): Promise<string[]> {
  const file = path.join(authDir, 'cookie-keys.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as string[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const keys = [randomBytes(32).toString('base64url')];
  await mkdir(authDir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(keys), { mode: 0o600 });
  await rename(temp, file);
  return keys;
}

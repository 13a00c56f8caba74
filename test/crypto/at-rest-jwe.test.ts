import { randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import jose from 'node-jose';
import { describe, expect, it } from 'vitest';
import { atRestCiphers } from '../../src/crypto/at-rest-jwe.js';
import { gcmIv } from '../../src/crypto/sealed.js';

/**
 * Issue 14: `dir` JWEs are made and opened with node-jose's primitives on the ring's key object,
 * not its JWE processor. They must stay the same standard compact JWE: the `jose` package and
 * node-jose's full processor open what the fast path makes, and the fast path opens what they make.
 */

const KID = 'rest-test-1';
const bytes = randomBytes(32);
const dirKey = await jose.JWK.asKey({ kty: 'oct', kid: KID, use: 'enc', alg: 'A256GCM', k: bytes.toString('base64url') });
const { encrypt, decrypter } = atRestCiphers(KID, 'dir', dirKey);
const full = jose.JWE.createDecrypt(dirKey, { algorithms: ['dir', 'A256GCM'] });
const header = (jwe: string): Record<string, unknown> => JSON.parse(Buffer.from(jwe.split('.')[0], 'base64url').toString('utf8')) as Record<string, unknown>;
const text = (plaintext: Uint8Array): string => Buffer.from(plaintext).toString('utf8');

const PLAINTEXTS = ['{}', JSON.stringify({ r: 'Patient/p1/_history/2', k: ['telecom'], o: { telecom: [{ value: '555-0100' }] } }), 'é ü 漢字 🙂', 'x'.repeat(100_000)];

describe('dir + A256GCM JWEs of the fast path are standard compact JWE', () => {
  it.each(PLAINTEXTS.map((p) => [p.slice(0, 30), p]))('%s: jose and node-jose open it, with the kid in the header', async (_label, plaintext) => {
    const jwe = await encrypt(plaintext);
    const parts = jwe.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[1]).toBe('');
    expect(header(jwe)).toEqual({ alg: 'dir', enc: 'A256GCM', kid: KID });
    const opened = await compactDecrypt(jwe, new Uint8Array(bytes));
    expect(text(opened.plaintext)).toBe(plaintext);
    expect(text((await full.decrypt(jwe)).plaintext)).toBe(plaintext);
    expect(text((await decrypter.decrypt(jwe)).plaintext)).toBe(plaintext);
  });

  it('draws a fresh IV for every JWE', async () => {
    const ivs = new Set(await Promise.all(Array.from({ length: 50 }, async () => (await encrypt('same')).split('.')[2])));
    expect(ivs.size).toBe(50);
  });

  it('draws IVs from a pool (issue 14): 96 bits each, never two alike across refills, none aliasing another', () => {
    const drawn = Array.from({ length: 1000 }, () => gcmIv());
    expect(drawn.every((iv) => iv.length === 12)).toBe(true);
    expect(new Set(drawn.map((iv) => iv.toString('hex'))).size).toBe(1000);
    const copy = Buffer.from(drawn[998]);
    drawn[999].fill(0xff);
    drawn[997].fill(0xff);
    expect(drawn[998]).toEqual(copy);
    expect(gcmIv().equals(Buffer.alloc(12, 0xff))).toBe(false);
  });
});

describe('the fast path opens JWEs made by others', () => {
  const makers: Array<[string, () => Promise<string>]> = [
    ['node-jose createEncrypt (records written before the fast path)', () => jose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM' }, dirKey).update('hello', 'utf8').final()],
    ['jose, header in another member order (full processor)', () => new CompactEncrypt(Buffer.from('hello')).setProtectedHeader({ kid: KID, alg: 'dir', enc: 'A256GCM' }).encrypt(new Uint8Array(bytes))],
    ['jose, header as node-jose writes it', () => new CompactEncrypt(Buffer.from('hello')).setProtectedHeader({ enc: 'A256GCM', alg: 'dir', kid: KID }).encrypt(new Uint8Array(bytes))],
  ];
  it.each(makers)('%s', async (_label, make) => {
    expect(text((await decrypter.decrypt(await make())).plaintext)).toBe('hello');
  });
});

describe('the fast path fails closed', () => {
  const flip = (part: string): string => `${part[0] === 'A' ? 'B' : 'A'}${part.slice(1)}`;
  const cases: Array<[string, (parts: string[]) => string[]]> = [
    ['altered ciphertext', (p) => [p[0], p[1], p[2], flip(p[3]), p[4]]],
    ['altered tag', (p) => [p[0], p[1], p[2], p[3], flip(p[4])]],
    ['altered IV', (p) => [p[0], p[1], flip(p[2]), p[3], p[4]]],
    // GCM checks a shorter tag on fewer bits: it must be refused, not accepted at 64 bits.
    ['a tag truncated to 64 bits', (p) => [p[0], p[1], p[2], p[3], Buffer.from(p[4], 'base64url').subarray(0, 8).toString('base64url')]],
    ['an IV of another length', (p) => [p[0], p[1], Buffer.concat([Buffer.from(p[2], 'base64url'), Buffer.alloc(4)]).toString('base64url'), p[3], p[4]]],
    ['another kid in the header', (p) => [Buffer.from(JSON.stringify({ enc: 'A256GCM', alg: 'dir', kid: 'other' })).toString('base64url'), ...p.slice(1)]],
    ['a part missing', (p) => p.slice(0, 4)],
  ];
  it.each(cases)('%s', async (_label, alter) => {
    const jwe = await encrypt('secret');
    await expect(decrypter.decrypt(alter(jwe.split('.')).join('.'))).rejects.toThrow();
  });

  it('a JWE of another key does not open', async () => {
    const other = atRestCiphers(KID, 'dir', await jose.JWK.asKey({ kty: 'oct', kid: KID, use: 'enc', alg: 'A256GCM', k: randomBytes(32).toString('base64url') }));
    await expect(decrypter.decrypt(await other.encrypt('secret'))).rejects.toThrow();
  });
});

describe('A256KW keys keep node-jose full JWE processing', () => {
  it('makes A256KW JWEs that jose opens, and opens them', async () => {
    const kwBytes = randomBytes(32);
    const kwKey = await jose.JWK.asKey({ kty: 'oct', kid: 'kw-1', use: 'enc', alg: 'A256KW', k: kwBytes.toString('base64url') });
    const kw = atRestCiphers('kw-1', 'A256KW', kwKey);
    const jwe = await kw.encrypt('wrapped');
    expect(header(jwe)).toMatchObject({ alg: 'A256KW', enc: 'A256GCM', kid: 'kw-1' });
    expect(text((await compactDecrypt(jwe, new Uint8Array(kwBytes))).plaintext)).toBe('wrapped');
    expect(text((await kw.decrypter.decrypt(jwe)).plaintext)).toBe('wrapped');
  });
});

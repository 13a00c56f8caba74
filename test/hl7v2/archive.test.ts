import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildKeyRing, generateJwkSet, withNewCurrentKeys } from '../../src/crypto/key-ring.js';
import { createSealer } from '../../src/crypto/sealed.js';
import Sqlite from 'better-sqlite3';
import { DEDUPE_SQL } from '../../src/hl7v2/archive-index.js';
import { MessageArchive } from '../../src/hl7v2/archive.js';
import { jweKidsOnDisk } from '../crypto/support.js';

/** The archive journal on real files: sealed lines, a clear archive from before encryption, rotation. */

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

async function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'fhirgate-archive-'));
  dirs.push(dir);
  const set = await generateJwkSet();
  const ring = { current: await buildKeyRing(set, 'test ring') };
  return { dir, set, ring, sealer: createSealer(ring), file: path.join(dir, 'hl7v2', 'messages.jsonl') };
}

const fields = { sender: { application: 'A', facility: 'F', address: 'http' }, transport: 'http' as const, controlId: 'C1', messageType: 'ADT^A01', version: '2.5.1' };

describe('MessageArchive at rest', () => {
  it('seals raw and error texts, reads them back after a reopen, and rotates to the new key', async () => {
    const { dir, set, ring, sealer, file } = await setup();
    let archive = new MessageArchive(dir, sealer);
    await archive.open();
    const a = await archive.receive(fields, 'PID|1||SECRET-RAW', true);
    await archive.update(a.id, { outcome: 'error', error: { code: '207', text: 'SECRET-ERROR' } });
    const b = await archive.receive({ ...fields, controlId: 'C2' }, 'PID|2||OTHER', true);
    await archive.close();
    expect(readFileSync(file, 'utf8')).not.toMatch(/SECRET|OTHER/);

    archive = new MessageArchive(dir, sealer);
    await archive.open();
    expect(await archive.raw(a.id)).toBe('PID|1||SECRET-RAW');
    expect((await archive.get(a.id))?.error?.text).toBe('SECRET-ERROR');

    const oldKid = ring.current.atRest.kid;
    ring.current = await buildKeyRing(withNewCurrentKeys(set), 'rotated');
    expect(await archive.rotate()).toBe(3);
    expect([...jweKidsOnDisk(dir).keys()]).toEqual([ring.current.atRest.kid]);
    expect(ring.current.atRest.kid).not.toBe(oldKid);
    // Offsets were re-read from the new file; appends after the rewrite land after it.
    expect(await archive.raw(b.id)).toBe('PID|2||OTHER');
    const c = await archive.receive({ ...fields, controlId: 'C3' }, 'PID|3||THIRD', true);
    expect(await archive.raw(c.id)).toBe('PID|3||THIRD');
    expect(await archive.rotate()).toBe(0);
    await archive.close();
  });

  it('reads an archive written in clear before encryption, and a rotation seals it', async () => {
    const { dir, sealer, file } = await setup();
    const record = { id: 'legacy-1', receivedAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z', ...fields, outcome: 'received', resources: [], attempts: 0, duplicates: 0 };
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      `${JSON.stringify({ op: 'received', record, raw: 'PID|1||CLEAR-RAW' })}\n${JSON.stringify({ op: 'update', id: 'legacy-1', changes: { outcome: 'error', error: { code: '207', text: 'CLEAR-ERROR' } } })}\n`,
    );
    const archive = new MessageArchive(dir, sealer);
    await archive.open();
    expect(await archive.raw('legacy-1')).toBe('PID|1||CLEAR-RAW');
    expect(await archive.rotate()).toBe(2);
    expect(readFileSync(file, 'utf8')).not.toContain('CLEAR');
    expect(await archive.raw('legacy-1')).toBe('PID|1||CLEAR-RAW');
    expect((await archive.get('legacy-1'))?.error?.text).toBe('CLEAR-ERROR');
    await archive.close();
  });

  it('refuses a JWE copied onto another record', async () => {
    const { dir, sealer, file } = await setup();
    const archive = new MessageArchive(dir, sealer);
    await archive.open();
    const a = await archive.receive(fields, 'PID|1||A', true);
    const b = await archive.receive({ ...fields, controlId: 'C2' }, 'PID|1||B', true);
    expect(await archive.raw(b.id)).toBe('PID|1||B');
    await archive.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    lines[1].jwe = lines[0].jwe;
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    // The last sealed line is checked at open; any other one at its read.
    await expect(new MessageArchive(dir, sealer).open()).rejects.toThrow(`message ${b.id}: sealed value: the JWE belongs to hl7v2-archive:${a.id}`);
  });
});

describe('MessageArchive with another key ring', () => {
  it('refuses to open a journal its key ring cannot decrypt', async () => {
    const { dir, sealer } = await setup();
    const archive = new MessageArchive(dir, sealer);
    await archive.open();
    await archive.receive(fields, 'PID|1||A', true);
    await archive.close();
    const foreign = createSealer({ current: await buildKeyRing(await generateJwkSet(), 'foreign ring') });
    await expect(new MessageArchive(dir, foreign).open()).rejects.toThrow(/HL7 v2 archive .* is not in the key ring \(foreign ring\)/);
  });
});

describe('MessageArchive index on disk (issue 13)', () => {
  it('reopens from its index without reading the journal it has seen, and catches up with lines past it', async () => {
    const { dir, sealer, file } = await setup();
    let archive = new MessageArchive(dir, sealer);
    await archive.open();
    const a = await archive.receive(fields, 'PID|1||A', true);
    await archive.update(a.id, { outcome: 'error', ack: 'AE', error: { code: '207', text: 'FAILED-A' } });
    const b = await archive.receive({ ...fields, controlId: 'C2' }, 'PID|2||B', true);
    await archive.close();

    // A journal line that appears after the index's position (written, then a crash before the index commit).
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const late = { op: 'update', id: b.id, changes: { duplicates: 4, updatedAt: '2030-01-01T00:00:00.000Z' } };
    // The first line made unreadable with its length kept: an open that read the whole journal again would fail on it.
    const broken = lines[0].replace(/"op":"received"/, '"op"#"received"');
    writeFileSync(file, `${[broken, ...lines.slice(1), JSON.stringify(late)].join('\n')}\n`);

    archive = new MessageArchive(dir, sealer);
    await archive.open();
    expect((await archive.get(b.id))?.duplicates).toBe(4);
    expect((await archive.byDedupeKey(MessageArchive.key('A', 'F', 'C2')))?.id).toBe(b.id);
    expect((await archive.get(a.id))?.error?.text).toBe('FAILED-A');
    expect((await archive.list({ outcome: 'error' })).records.map((r) => r.id)).toEqual([a.id]);
    await archive.close();
  });

  it('builds its index again from the journal when the index is gone (first start after an upgrade, a restore)', async () => {
    const { dir, sealer } = await setup();
    let archive = new MessageArchive(dir, sealer);
    await archive.open();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await archive.receive({ ...fields, controlId: `K${i}` }, `PID|${i}||X`, true)).id);
    await archive.update(ids[3], { outcome: 'rejected' });
    await archive.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(path.join(dir, 'hl7v2', `messages.index.db${suffix}`), { force: true });

    archive = new MessageArchive(dir, sealer);
    await archive.open();
    const page = await archive.list({ count: 10 });
    expect(page.records.map((r) => r.controlId)).toEqual(Array.from({ length: 10 }, (_, k) => `K${29 - k}`));
    const rest = await archive.list({ count: 50, before: page.next });
    expect(rest.records).toHaveLength(20);
    expect(rest.next).toBeUndefined();
    // A rejected message frees its control id.
    expect(await archive.byDedupeKey(MessageArchive.key('A', 'F', 'K3'))).toBeUndefined();
    expect(await archive.raw(ids[17])).toBe('PID|17||X');
    await archive.close();
  });

  it('answers reads and de-duplication of a message whose line is not yet durable', async () => {
    const { dir, sealer } = await setup();
    const archive = new MessageArchive(dir, sealer);
    await archive.open();
    const a = await archive.receive(fields, 'PID|1||A', false);
    expect((await archive.allByDedupeKey(MessageArchive.key('A', 'F', 'C1'))).map((r) => r.id)).toEqual([a.id]);
    expect(await archive.raw(a.id)).toBe('PID|1||A');
    await archive.close();
  });
});

describe('MessageArchive de-duplication by content digest (issue 19)', () => {
  const message = (i: number, stamp = '20240101120000'): string => `MSH|^~\\&|A|F|B|G|${stamp}||ADT^A01|C1|P|2.5.1\rPID|1||MRN-${i}\r`;

  it('answers "same content?" and "any earlier?" from the index, without decrypting an earlier message', async () => {
    const { dir, sealer } = await setup();
    let opened = 0;
    const counting = { ...sealer, open: async (jwe: string, binding: string) => (opened++, sealer.open(jwe, binding)) };
    const archive = new MessageArchive(dir, counting);
    await archive.open();
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push((await archive.receive(fields, message(i), i === 199)).id);
    const key = MessageArchive.key('A', 'F', 'C1');
    const before = opened;
    // A resend (MSH-7 restamped, LF terminators) of message 57; a message with new content.
    const resend = await archive.earlier(key, message(57, '20250101000000').replace(/\r/g, '\n'));
    expect(resend.same?.id).toBe(ids[57]);
    expect(resend.latest?.id).toBe(ids[199]);
    expect(resend.undigested).toEqual([]);
    const other = await archive.earlier(key, message(1000));
    expect(other.same).toBeUndefined();
    expect(other.latest?.id).toBe(ids[199]);
    expect(opened).toBe(before);
    // A message received but not yet durable is found too.
    const fresh = await archive.receive(fields, message(1000), false);
    expect((await archive.earlier(key, message(1000))).same?.id).toBe(fresh.id);
    // Rejected messages free their control id: not found by either lookup.
    await archive.update(fresh.id, { outcome: 'rejected' });
    expect((await archive.earlier(key, message(1000))).same).toBeUndefined();
    await archive.close();

    // Both lookups are index searches, not scans of the key's rows.
    const db = new Sqlite(path.join(dir, 'hl7v2', 'messages.index.db'), { readonly: true });
    try {
      const plan = (sql: string, ...args: unknown[]): string => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
      expect(plan(DEDUPE_SQL.sameContent(2), key, 'a', 'b')).toMatch(/SEARCH messages USING (COVERING )?INDEX messages_by_content \(dedupe_key=\? AND content_digest=\?/);
      expect(plan(DEDUPE_SQL.latest, key)).toMatch(/SEARCH messages USING (COVERING )?INDEX messages_by_(key|content) \(dedupe_key=\?/);
      // Digests are keyed: no plain SHA-256 of a message's content is on disk.
      const digests = (db.prepare('SELECT content_digest FROM messages LIMIT 3').all() as Array<{ content_digest: string }>).map((r) => r.content_digest);
      expect(digests.every((d) => /^[^~]+~[A-Za-z0-9_-]{22}$/.test(d))).toBe(true);
    } finally {
      db.close();
    }
  });

  it('compares messages indexed before digests by their raw text, and a key rotation gives them a digest', async () => {
    const { dir, set, ring, sealer } = await setup();
    let archive = new MessageArchive(dir, sealer);
    await archive.open();
    const old = await archive.receive(fields, message(1), true);
    await archive.close();
    // An index and a journal from before digests: the column and the lines' digests taken away.
    const file = path.join(dir, 'hl7v2', 'messages.jsonl');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/,"digest":"[^"]+"/g, ''));
    for (const suffix of ['', '-wal', '-shm']) rmSync(path.join(dir, 'hl7v2', `messages.index.db${suffix}`), { force: true });
    const db = new Sqlite(path.join(dir, 'hl7v2', 'messages.index.db'));
    db.exec('CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, dedupe_key TEXT, received_at TEXT NOT NULL, outcome TEXT NOT NULL, message_type TEXT NOT NULL, control_id TEXT NOT NULL, application TEXT NOT NULL, facility TEXT NOT NULL, record TEXT NOT NULL, raw_offset INTEGER NOT NULL, error_at INTEGER)');
    db.close();

    archive = new MessageArchive(dir, sealer);
    await archive.open();
    const key = MessageArchive.key('A', 'F', 'C1');
    const found = await archive.earlier(key, message(1, '20250101000000'));
    expect(found.same).toBeUndefined();
    expect(found.undigested.map((r) => r.id)).toEqual([old.id]);
    // The handler compares those by content (dedupe.ts); newer messages get a digest.
    const next = await archive.receive(fields, message(2), true);
    expect((await archive.earlier(key, message(2))).same?.id).toBe(next.id);

    ring.current = await buildKeyRing(withNewCurrentKeys(set), 'rotated');
    expect(await archive.rotate()).toBe(2);
    const after = await archive.earlier(key, message(1));
    expect(after.same?.id).toBe(old.id);
    expect(after.undigested).toEqual([]);
    expect((await archive.earlier(key, message(2))).same?.id).toBe(next.id);
    await archive.close();
  });
});

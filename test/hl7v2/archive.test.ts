import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildKeyRing, generateJwkSet, withNewCurrentKeys } from '../../src/crypto/key-ring.js';
import { createSealer } from '../../src/crypto/sealed.js';
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
    expect(archive.get(a.id)?.error?.text).toBe('SECRET-ERROR');

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
    expect(archive.get('legacy-1')?.error?.text).toBe('CLEAR-ERROR');
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

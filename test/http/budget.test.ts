import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RESPONSE_CHARS } from '../../src/fhir/limits.js';
import { MAX_REPETITIONS } from '../../src/hl7v2/parse.js';
import { ackCode, rawConnection } from '../hl7v2/support.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';

/** Bounded work per request (issue 15, item 8): over budget is a 4xx OperationOutcome, and the server lives on. */
let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  server = await startServer({ AUDIT_SINK: 'log' });
  fhir = fhirClient(server.fhirUrl);
  // About 9 MB, within FHIR_MAX_BODY_BYTES: 9,000 names of 1,000 characters.
  const big = { resourceType: 'Patient', id: 'big', name: Array.from({ length: 9000 }, (_, i) => ({ family: `F${i}`.padEnd(1000, 'x') })) };
  const res = await fhir.put('Patient/big', big);
  expect(res.status).toBe(201);
});
afterAll(() => server.destroy());

describe('response budget', () => {
  it('a batch of GETs of a 9 MB Patient is a 413 once the batch-response passes the budget, and the server keeps serving', async () => {
    const entries = Math.ceil(MAX_RESPONSE_CHARS / 9_000_000) + 2;
    const batch = { resourceType: 'Bundle', type: 'batch', entry: Array.from({ length: entries }, (_, i) => ({ request: { method: 'GET', url: i % 2 ? 'Patient/big' : 'Patient?_id=big' } })) };
    const res = await fhir.post('', batch);
    expect([res.status, errorCode(res.body)]).toEqual([413, 'payload-too-large']);
    expect((await fhir.get('metadata')).status).toBe(200);
    expect((await fhir.get('Patient/big')).status).toBe(200);
  });

  it('a search page over FHIR_MAX_RESPONSE_BYTES is a 413, smaller pages are served, and the server keeps serving', async () => {
    // A server with a 1 MiB budget and Patients of about 300 KB: four of them pass it.
    const small = await startServer({ AUDIT_SINK: 'log', FHIR_MAX_RESPONSE_BYTES: String(1024 * 1024) });
    try {
      const client = fhirClient(small.fhirUrl);
      const ids = ['b0', 'b1', 'b2', 'b3'];
      for (const id of ids) {
        const res = await client.put(`Patient/${id}`, { resourceType: 'Patient', id, name: Array.from({ length: 300 }, (_, i) => ({ family: `F${i}`.padEnd(1000, 'x') })) });
        expect(res.status).toBe(201);
      }
      const res = await client.get(`Patient?_id=${ids.join(',')}&_count=4`);
      expect([res.status, errorCode(res.body)]).toEqual([413, 'payload-too-large']);
      expect((await client.get(`Patient?_id=${ids.join(',')}&_count=2`)).status).toBe(200);
      expect((await client.get('metadata')).status).toBe(200);
    } finally {
      await small.destroy();
    }
  });
});

describe('HL7 v2 repetitions', () => {
  it(`a PID-3 repeated more than ${MAX_REPETITIONS} times is rejected (AR 100) at once`, async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `ID${i}^^^F^MR`).join('~');
    const conn = await rawConnection(server.app.hl7.port()!);
    const started = Date.now();
    conn.send(`MSH|^~\\&|A|F|B|G|20240101||ADT^A01|REP-1|P|2.5\rEVN|A01\rPID|1||${ids}||Doe^J\r`);
    const ack = ackCode(await conn.frame(1));
    expect([ack.code, ack.error]).toEqual(['AR', '100']);
    expect(Date.now() - started).toBeLessThan(3000);
    conn.end();
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, MedicationRequest } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ackCode, rawConnection } from '../hl7v2/support.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { CORPUS_DIR, startServer, type TestServer } from '../support/server.js';

let server: TestServer;
let backend: FhirClient;

beforeAll(async () => {
  server = await startServer();
  backend = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

/** RDS-O13-01 of the corpus: order 1163422591 of Doxycycline, 6 tablets per fill and 1 refill (RXE-10, RXE-12); RXD dispenses 10. */
const SAMPLE = readFileSync(path.join(CORPUS_DIR, 'hl7v2/RDS_O13/ms-fhir-converter/RDS-O13-01.hl7'), 'latin1').replace(/\n/g, '\r');
const withIds = (controlId: string, dispenseSubId: string): string => SAMPLE.replace('|MSG00001|', `|${controlId}|`).replace(/\rRXD\|1\|/, `\rRXD|${dispenseSubId}|`);

describe('the HL7 v2 pharmacy feed goes through the dispensing rules (issue 17, item 1)', () => {
  it('applies a dispense within the order, and answers AE with the reason to one beyond it', async () => {
    expect(SAMPLE).toContain('|MSG00001|');
    const conn = await rawConnection(server.app.hl7.port()!);
    try {
      conn.send(withIds('RDS-RULES-1', '1'));
      expect(ackCode(await conn.frame(1)).code).toBe('AA');
      const [order] = ((await backend.get<Bundle>('MedicationRequest?identifier=1163422591')).body.entry ?? []).map((e) => e.resource as MedicationRequest);
      expect(order.status).toBe('active');
      // 10 + 10 tablets exceed 2 fills of 6: the second dispense (another RXD-1 sub-id, so another MedicationDispense) is refused.
      conn.send(withIds('RDS-RULES-2', '2'));
      const ack = await conn.frame(2);
      expect(ackCode(ack).code).toBe('AE');
      expect(ack).toContain('would make 20');
    } finally {
      conn.end();
    }
    const dispenses = await backend.get<Bundle>('MedicationDispense?_summary=count');
    expect(dispenses.body.total).toBe(1);
  });
});

import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADT, ackCode, rawConnection } from '../hl7v2/support.js';
import { fhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { privacyConsent } from './support.js';

/**
 * The hospital's HL7 v2 feed is one of the deployment's own systems: by default it is not subject to
 * patients' Consents (issue 8), so a patient who withholds everything from everyone still gets their
 * ADT updates applied. Only `CONSENT_APPLIES_TO_SYSTEM=true` would change that.
 */
let server: TestServer;
afterAll(() => server?.destroy());
beforeAll(async () => {
  server = await startServer();
});

async function send(message: string): Promise<string | undefined> {
  const conn = await rawConnection(server.app.hl7.port()!);
  conn.send(message);
  const { code } = ackCode(await conn.frame(1));
  conn.end();
  return code;
}

describe('the HL7 v2 feed and patients\' Consents', () => {
  it('updates the record of a patient who denies everyone', async () => {
    const fhir = fhirClient(server.fhirUrl);
    expect(await send(ADT('FEED-1', 'MRN-FEED', 'Lovelace'))).toBe('AA');
    const [patient] = (await fhir.get<Bundle>('Patient?identifier=MRN-FEED')).body.entry!.map((e) => e.resource as Patient);
    expect((await fhir.put(`Consent/feed-nobody`, privacyConsent('feed-nobody', patient.id!, { type: 'deny' }))).status).toBe(201);
    expect(await send(ADT('FEED-2', 'MRN-FEED', 'Byron', 'A08'))).toBe('AA');
    const updated = await fhir.get<Patient>(`Patient/${patient.id}`);
    expect(updated.body.name?.[0]?.family).toBe('Byron');
  });
});

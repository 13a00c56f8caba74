import type { AuditEvent, Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTotp } from '../../src/auth/server/totp.js';
import { aboutActor, privacyConsent } from '../consent/support.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { seed } from './fixtures.js';
import { browser } from './support/browser.js';
import { adminApi, authorizationRequest, tokenRequest } from './support/oauth.js';

/**
 * The sign-in's patient picker (issue 15, item 5): a clinician's standalone `launch/patient` sign-in
 * searches for the patient (name, birth date, identifier) instead of being shown a list; the search
 * runs as the user, through the role table and the consent gate, and is audited.
 */
const APP = 'https://chart.example/callback';
const SCOPE = 'openid fhirUser launch/patient patient/*.rs';
let server: TestServer;
let root: FhirClient;
let clientId: string;

const patient = (id: string, family: string, given: string, birthDate: string, mrn: string): Patient & { id: string } => ({
  resourceType: 'Patient',
  id,
  name: [{ family, given: [given] }],
  birthDate,
  identifier: [{ system: 'urn:oid:1.2.3.4', value: mrn }],
});

beforeAll(async () => {
  server = await startServer();
  root = fhirClient(server.fhirUrl);
  const others = Array.from({ length: 30 }, (_, i) => patient(`o${i}`, `Other${i}`, 'Pat', '1990-01-01', `MRN-O${i}`));
  await seed(root, [
    patient('ps1', 'Silvapick', 'Ana', '1980-02-03', 'MRN-PS1'),
    patient('ps2', 'Silvapick', 'Bruno', '1975-06-07', 'MRN-PS2'),
    patient('ps3', 'Silvapick', 'Carla', '1980-02-03', 'MRN-PS3'),
    ...others,
    { resourceType: 'Practitioner', id: 'dpick', name: [{ family: 'Picker' }] },
  ]);
  // Carla withholds her record from Dr Picker.
  await seed(root, [privacyConsent('ps3-deny-dpick', 'ps3', aboutActor('deny', 'Practitioner/dpick'))]);
  clientId = (await adminApi(server, 'POST', '/admin/clients', { name: 'Chart', kind: 'public', redirectUris: [APP], scope: SCOPE })).json.client_id;
});
afterAll(() => server.destroy());

/** Signs `username` in (first sign-in: TOTP enrolment, new password) up to the consent page of a standalone launch/patient. */
async function toConsentPage(username: string, roles: string[], fhirUser: string) {
  const created = await adminApi(server, 'POST', '/admin/users', { username, roles, fhirUser });
  expect(created.status).toBe(201);
  const { url, verifier } = authorizationRequest(server, clientId, APP, SCOPE);
  const agent = browser(APP);
  const enrol = await agent.submit(await agent.go(url), { username, password: created.json.oneTimePassword });
  const secret = /<code>([A-Z2-7]+)<\/code>/.exec(enrol.html)![1];
  const change = await agent.submit(enrol, { code: currentTotp(secret) });
  const consent = await agent.submit(change, { password: 'a long enough passphrase', repeat: 'a long enough passphrase' });
  expect(consent.status).toBe(200);
  return { agent, consent, verifier };
}

const offered = (html: string): string[] => [...html.matchAll(/name="patient" value="([^"]+)"/g)].map((m) => m[1]);

/** The picker searches Dr Picker made, as the audit trail has them. */
async function pickerSearches(): Promise<number> {
  const res = await root.get<Bundle<AuditEvent>>('AuditEvent?agent=Practitioner/dpick&_count=1000');
  expect(res.status, res.text).toBe(200);
  return (res.body.entry ?? []).filter((e) => e.resource?.resourceType === 'AuditEvent' && e.resource.subtype?.some((s) => s.code === 'search-type')).length;
}

describe('the sign-in patient picker (issue 15, item 5)', () => {
  it('searches by name, birth date and identifier as the clinician, withholds patients who deny them, audits each search, and binds only a patient they may open', async () => {
    const { agent, consent, verifier } = await toConsentPage('dr.picker', ['practitioner'], 'Practitioner/dpick');
    // A search form, not a list of patients.
    expect(consent.html).toContain('name="name"');
    expect(consent.html).toContain('name="birthdate"');
    expect(consent.html).toContain('name="identifier"');
    expect(offered(consent.html)).toEqual([]);
    const audited = await pickerSearches();

    const empty = await agent.submit(consent, { decision: 'search' });
    expect(empty.status).toBe(400);
    expect(offered(empty.html)).toEqual([]);

    const byName = await agent.submit(empty, { decision: 'search', name: 'silvapick' });
    expect(byName.status).toBe(200);
    // Carla (ps3) denies Dr Picker: the gate withholds her from the picker as from any search.
    expect(offered(byName.html).sort()).toEqual(['ps1', 'ps2']);
    expect(byName.html).toContain('value="silvapick"');

    const byBirthDate = await agent.submit(byName, { decision: 'search', birthdate: '1980-02-03' });
    expect(offered(byBirthDate.html)).toEqual(['ps1']);
    const byIdentifier = await agent.submit(byBirthDate, { decision: 'search', identifier: 'MRN-PS2' });
    expect(offered(byIdentifier.html)).toEqual(['ps2']);
    const broad = await agent.submit(byIdentifier, { decision: 'search', name: 'Other' });
    expect(offered(broad.html)).toHaveLength(20);
    expect(broad.html).toContain('narrow the search');
    const none = await agent.submit(broad, { decision: 'search', name: 'Nobody' });
    expect(offered(none.html)).toEqual([]);
    expect(none.html).toContain('No patient found');
    // Five searches ran (the empty one did not), each recorded once.
    expect((await pickerSearches()) - audited).toBe(5);

    // Naming a withheld patient by hand does not get around the gate.
    const withheld = await agent.submit(none, { decision: 'allow', patient: 'ps3' });
    expect(withheld.status).toBe(400);
    expect(withheld.callback).toBeUndefined();

    const done = await agent.submit(withheld, { decision: 'allow', patient: 'ps1' });
    const code = done.callback?.searchParams.get('code');
    expect(code, done.html.slice(0, 500)).toBeTruthy();
    const token = await tokenRequest(server, { grant_type: 'authorization_code', code: code!, redirect_uri: APP, client_id: clientId, code_verifier: verifier });
    expect(token.status).toBe(200);
    expect(token.json.patient).toBe('ps1');
    const app = fhirClient(server.fhirUrl, { token: token.json.access_token });
    expect((await app.get('Patient/ps1')).status).toBe(200);
    expect((await app.get('Patient/ps2')).status).toBe(403);
  });

  it('lets no role search patients that the role table does not allow to read them (an admin)', async () => {
    const { agent, consent } = await toConsentPage('admin.picker', ['admin'], 'Practitioner/apick');
    const refused = await agent.submit(consent, { decision: 'search', name: 'silvapick' });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('Your role may not search patients');
    expect(offered(refused.html)).toEqual([]);
    const typed = await agent.submit(refused, { decision: 'allow', patient: 'ps1' });
    expect(typed.status).toBe(400);
  });
});

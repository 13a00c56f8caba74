import path from 'node:path';
import type { Consent, Practitioner } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createAccountStore } from '../../src/auth/server/accounts.js';
import { fixtures, seed } from '../auth/fixtures.js';
import { browser } from '../auth/support/browser.js';
import { adminApi, authorizationRequest, tokenRequest } from '../auth/support/oauth.js';
import { privacyConsent, aboutActor } from '../consent/support.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { hasChromium, launchChromium, snap } from './support/chromium.js';

// The patient portal at /portal/, clicked through in headless Chromium (issue 21 item 4): a SMART
// public client with PKCE on the embedded server, using the FHIR API and the account API only.
const doctor = (id: string, given: string, family: string): Practitioner => ({ ...(fixtures.practitioner(id) as Practitioner), name: [{ prefix: ['Dr'], given: [given], family }] });

describe.skipIf(!hasChromium)('the patient portal in the browser', { timeout: 90_000 }, () => {
  let server: TestServer;
  let root: FhirClient;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let tracker: { clientId: string; refreshToken: string };
  const password = 'a long patient passphrase';

  beforeAll(async () => {
    server = await startServer();
    root = fhirClient(server.fhirUrl);
    await seed(root, [
      { ...fixtures.patient('p1'), name: [{ given: ['Maria'], family: 'Lopez' }], birthDate: '1980-02-03' } as never,
      fixtures.medicationRequest('p1-mr', 'p1'),
      doctor('d1', 'Ana', 'Silva'),
      doctor('d2', 'Ben', 'Okafor'),
      doctor('d3', 'Cleo', 'Marsh'),
      // Maria withholds her record from Dr Marsh, who then opens it in an emergency (break-glass).
      privacyConsent('p1-no-d3', 'p1', aboutActor('deny', 'Practitioner/d3')),
      // Dr Okafor asks for access (a proposed Consent naming him).
      privacyConsent('p1-request', 'p1', { ...aboutActor('permit', 'Practitioner/d2'), class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'MedicationRequest' }] }, 'proposed'),
    ]);
    const accounts = createAccountStore(path.join(server.dataDir, 'auth'));
    await accounts.create({ username: 'maria', roles: ['patient'], fhirUser: 'Patient/p1', password });
    // Accesses the log will show: Dr Silva through an app, Dr Marsh by break-glass.
    const viewer = await adminApi(server, 'POST', '/admin/clients', { name: 'Ward viewer', kind: 'public', redirectUris: ['http://localhost:9/cb'], scope: 'openid user/*.rs' });
    const silva = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'practitioner', fhirUser: 'Practitioner/d1', clientId: viewer.json.client_id }) });
    expect((await silva.get('MedicationRequest/p1-mr')).status).toBe(200);
    const marsh = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'practitioner', fhirUser: 'Practitioner/d3' }) });
    expect((await marsh.get('MedicationRequest/p1-mr', { 'X-Purpose-Of-Use': 'ETREAT' })).status).toBe(200);
    // Another app Maria connected earlier ("Med tracker"), with a refresh token.
    const registered = await adminApi(server, 'POST', '/admin/clients', { name: 'Med tracker', kind: 'public', redirectUris: ['http://localhost:9/tracker'], scope: 'openid launch/patient offline_access patient/*.rs' });
    const request = authorizationRequest(server, registered.json.client_id, 'http://localhost:9/tracker', 'openid launch/patient offline_access patient/*.rs');
    const agent = browser('http://localhost:9/tracker');
    const login = await agent.go(request.url);
    const consent = await agent.submit(login, { username: 'maria', password });
    const done = await agent.submit(consent, { decision: 'allow' });
    const tokens = await tokenRequest(server, { grant_type: 'authorization_code', code: done.callback!.searchParams.get('code')!, redirect_uri: 'http://localhost:9/tracker', client_id: registered.json.client_id, code_verifier: request.verifier });
    tracker = { clientId: registered.json.client_id, refreshToken: tokens.json.refresh_token };
    expect(tracker.refreshToken).toBeTruthy();

    chromium = await launchChromium();
    page = await chromium.context.newPage();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.destroy();
  });

  const section = (id: string) => page.locator(`#${id}`);
  const consentOf = async (id: string) => (await root.get<Consent>(`Consent/${id}`)).body;

  it('signs in with PKCE through the embedded server and shows the summary', async () => {
    await page.goto(`${server.origin}/portal/`);
    await snap(page, 'portal-signed-out');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Username').fill('maria');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow access' }).waitFor();
    expect(await page.locator('body').innerText()).toContain('FhirGate patient portal asks for access');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('Up to date.').waitFor();
    expect(await page.locator('#who').innerText()).toBe('Signed in as Maria Lopez');
    expect(await section('summary').innerText()).toContain('amoxicillin 500 mg (active)');
    expect(await section('summary').innerText()).toContain('1980-02-03');
    await snap(page, 'portal-summary');
  });

  it('grants a clinician access to prescriptions until a date, then revokes it', async () => {
    await page.getByLabel('Clinician', { exact: true }).selectOption({ label: 'Dr Ana Silva' });
    await page.getByLabel('Prescriptions').check();
    await page.getByLabel('Until (optional)').fill('2027-01-31');
    await page.getByRole('button', { name: 'Give access' }).click();
    const sentence = 'Dr Ana Silva (practitioner) may see your prescriptions until 2027-01-31';
    await section('consents').getByText(sentence).waitFor();
    await snap(page, 'portal-granted');
    const [written] = (await root.get<any>('Consent?patient=Patient/p1&status=active&actor=Practitioner/d1')).body.entry.map((e: any) => e.resource as Consent);
    expect(written.provision).toMatchObject({ type: 'permit', actor: [{ reference: { reference: 'Practitioner/d1' } }], class: [{ code: 'MedicationRequest' }], period: { end: '2027-01-31' } });

    await section('consents').locator('li', { hasText: sentence }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('Access revoked.').waitFor();
    expect(await section('consents').innerText()).not.toContain(sentence);
    expect((await consentOf(written.id!)).status).toBe('inactive');
  });

  it('grants access to everyone with a role, and to a whole organization', async () => {
    await page.getByLabel('Everyone with a role').check();
    await page.getByLabel('Role', { exact: true }).selectOption('pharmacist');
    await page.getByLabel('Dispensed medicines').check();
    await page.getByRole('button', { name: 'Give access' }).click();
    await section('consents').getByText('everyone with the role pharmacists may see your dispensed medicines').waitFor();
    await page.getByLabel('A whole organization').check();
    await page.getByLabel('Organization id').fill('hospital-1');
    await page.getByRole('button', { name: 'Give access' }).click();
    await section('consents').getByText('everyone at hospital-1 may see your whole record').waitFor();
    const active = (await root.get<any>('Consent?patient=Patient/p1&status=active')).body.entry.map((e: any) => e.resource as Consent);
    expect(active.some((c: Consent) => c.provision?.actor?.[0]?.role?.coding?.[0]?.code === 'pharmacist' && c.provision?.class?.[0]?.code === 'MedicationDispense')).toBe(true);
    expect(active.some((c: Consent) => c.provision?.actor?.[0]?.reference?.reference === 'Organization/hospital-1' && !c.provision?.class)).toBe(true);
  });

  it('approves a pending request from a clinician', async () => {
    const request = section('pending').locator('li', { hasText: 'Dr Ben Okafor (practitioner) asks to see your prescriptions' });
    await request.waitFor();
    await snap(page, 'portal-request');
    await request.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Request approved.').waitFor();
    expect((await consentOf('p1-request')).status).toBe('active');
    await section('consents').getByText('Dr Ben Okafor (practitioner) may see your prescriptions').waitFor();
    expect(await section('pending').innerText()).toContain('No pending requests.');
  });

  it('reads the access log: names and app names, break-glass highlighted, own activity filterable', async () => {
    const log = section('log');
    const silva = log.locator('tr', { hasText: 'Dr Ana Silva' }).first();
    expect(await silva.innerText()).toContain('Ward viewer');
    expect(await silva.innerText()).toContain('read prescriptions');
    const emergency = log.locator('tr.break-glass', { hasText: 'Dr Cleo Marsh' });
    expect(await emergency.count()).toBeGreaterThan(0);
    expect(await log.locator('td', { hasText: /^You$/ }).count()).toBe(0);
    await page.getByLabel('Hide my own activity').uncheck();
    expect(await log.locator('td', { hasText: /^You$/ }).count()).toBeGreaterThan(0);
    await snap(page, 'portal-access-log');
  });

  it('is usable on a phone and every control has a label', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await snap(page, 'portal-phone');
    const unlabelled = await page.locator('input, select, button').evaluateAll((els) => els.filter((e) => !(e as HTMLInputElement).labels?.length && !e.getAttribute('aria-label') && !e.textContent?.trim()).length);
    expect(unlabelled).toBe(0);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('lists connected apps and revokes one: its refresh token stops working', async () => {
    const apps = section('apps');
    await apps.getByText('Med tracker').waitFor();
    expect(await apps.innerText()).toContain('FhirGate patient portal');
    await snap(page, 'portal-apps');
    await apps.getByRole('button', { name: 'Revoke Med tracker' }).click();
    await page.getByText('Med tracker can no longer renew its access.').waitFor();
    expect(await apps.innerText()).not.toContain('Med tracker');
    const refresh = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tracker.refreshToken, client_id: tracker.clientId });
    expect(refresh.status).toBe(400);
    expect(refresh.json.error).toBe('invalid_grant');
  });
});

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createAccountStore } from '../../src/auth/server/accounts.js';
import { currentTotp, newTotpSecret } from '../../src/auth/server/totp.js';
import { recordOf, seed, fixtures } from '../auth/fixtures.js';
import { adminApi } from '../auth/support/oauth.js';
import { fhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { startAppServer } from './support/app-server.js';
import { hasChromium, launchChromium, snap } from './support/chromium.js';

// A third-party browser app on another origin, with the real fhirclient library, in headless
// Chromium: CORS, the CSP of the sign-in pages (form-action), consent, PKCE, refresh (issue 21).
describe.skipIf(!hasChromium)('a third-party SMART app in the browser (fhirclient)', { timeout: 60_000 }, () => {
  let server: TestServer;
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let other: Awaited<ReturnType<typeof startAppServer>>;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let clientId: string;
  const password = 'correct horse battery staple';
  const totp = newTotpSecret();

  beforeAll(async () => {
    server = await startServer();
    await seed(fhirClient(server.fhirUrl), [...recordOf('p1'), ...recordOf('p2'), fixtures.practitioner('d1')]);
    const accounts = createAccountStore(path.join(server.dataDir, 'auth'));
    await accounts.create({ username: 'ana', roles: ['patient'], fhirUser: 'Patient/p1', password });
    const doctor = await accounts.create({ username: 'dr.ana', roles: ['practitioner'], fhirUser: 'Practitioner/d1', password });
    accounts.setTotp(doctor.account.id, { secret: totp, confirmed: true });
    app = await startAppServer();
    other = await startAppServer();
    const registered = await adminApi(server, 'POST', '/admin/clients', {
      name: 'Chart viewer',
      kind: 'public',
      redirectUris: [`${app.origin}/index.html`],
      scope: 'openid fhirUser launch launch/patient offline_access online_access patient/*.rs patient/Consent.cruds user/*.rs',
    });
    clientId = registered.json.client_id;
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await app?.close();
    await other?.close();
    await server?.destroy();
  });

  async function signIn(page: Page, username: string, code?: string): Promise<void> {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    if (code !== undefined) {
      await page.getByLabel(/Code from your authenticator/).fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
    }
  }

  it('standalone patient launch: consent in plain words, Allow reaches the app on its origin, FHIR calls over CORS, write with preflight, refresh with fhirclient defaults', async () => {
    const page = await chromium.context.newPage();
    const scope = 'openid fhirUser launch/patient offline_access patient/*.rs patient/Consent.cruds';
    await page.goto(`${app.origin}/launch.html?${new URLSearchParams({ iss: server.fhirUrl, client: clientId, scope })}`);
    await page.getByLabel('Username').waitFor();
    await snap(page, 'third-party-sign-in');
    await signIn(page, 'ana');
    await page.getByRole('heading', { name: 'Allow access' }).waitFor();
    const consent = await page.locator('body').innerText();
    expect(consent).toContain('Chart viewer asks for access');
    expect(consent).not.toContain(clientId);
    expect(consent).toContain('It will open your own record Family-p1 (p1)');
    expect(consent).toContain('see all your health data');
    expect(consent).toContain('Until you revoke it');
    expect(consent).toMatch(/revoke this access at any time under “Connected apps”/);
    await snap(page, 'third-party-consent');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${app.origin}/index.html**`);
    const result = await page.evaluate(() => (window as any).app);
    expect(result).toMatchObject({ patientId: 'p1', family: 'Family-p1', medications: 1, etag: 'W/"1"', hasRefreshToken: true, banner: true });
    await snap(page, 'third-party-ready');

    const written = await page.evaluate((patient) => (window as any).writeConsent({ resourceType: 'Consent', status: 'proposed', scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] }, category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }], patient: { reference: `Patient/${patient}` }, policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] } }), 'p1');
    expect(written.location).toMatch(new RegExp(`/fhir/Consent/${written.id}/_history/1$`));

    const refreshed = await page.evaluate(() => (window as any).refreshNow());
    expect(refreshed).toEqual({ changed: true, family: 'Family-p1' });
    await page.close();
  });

  it('EHR launch: the consent page names the patient opened; online_access gives a refresh token that works while signed in', async () => {
    const ehrToken = await server.token({ role: 'practitioner', fhirUser: 'Practitioner/d1', scope: 'openid launch' });
    const launch = await fetch(`${server.origin}/auth/launch`, { method: 'POST', headers: { Authorization: `Bearer ${ehrToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ patient: 'p2' }) });
    const { launch: launchId } = (await launch.json()) as { launch: string };
    // Another user at the EHR: not Ana's sign-in session.
    await chromium.context.clearCookies();
    const page = await chromium.context.newPage();
    const scope = 'openid fhirUser launch online_access patient/*.rs';
    await page.goto(`${app.origin}/launch.html?${new URLSearchParams({ iss: server.fhirUrl, launch: launchId, client: clientId, scope })}`);
    await page.getByLabel('Username').waitFor();
    await signIn(page, 'dr.ana', currentTotp(totp));
    await page.getByRole('heading', { name: 'Allow access' }).waitFor();
    const consent = await page.locator('body').innerText();
    expect(consent).toContain('It will open the record of Family-p2 (p2)');
    expect(consent).toContain("see all this patient's health data");
    expect(consent).toContain('While you stay signed in');
    await snap(page, 'third-party-ehr-consent');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${app.origin}/index.html**`);
    const result = await page.evaluate(() => (window as any).app);
    expect(result).toMatchObject({ patientId: 'p2', family: 'Family-p2', hasRefreshToken: true });
    expect(result.scope.split(' ')).toContain('online_access');
    expect(await page.evaluate(() => (window as any).refreshNow())).toEqual({ changed: true, family: 'Family-p2' });
    await page.close();
  });

  it('an origin that is not a registered app gets no CORS headers: the browser blocks its FHIR calls; discovery stays open', async () => {
    const page = await chromium.context.newPage();
    await page.goto(`${other.origin}/index.html`).catch(() => undefined);
    const token = await server.token({ role: 'patient', fhirUser: 'Patient/p1', patient: 'p1', scope: 'patient/*.rs' });
    const outcome = await page.evaluate(
      async ({ fhir, token }) => {
        const blocked = await fetch(`${fhir}/Patient/p1`, { headers: { Authorization: `Bearer ${token}` } }).then(
          () => 'allowed',
          () => 'blocked',
        );
        const discovery = await fetch(`${fhir}/.well-known/smart-configuration`).then((r) => r.json());
        return { blocked, management: discovery.management_endpoint, capabilities: discovery.capabilities };
      },
      { fhir: server.fhirUrl, token },
    );
    expect(outcome.blocked).toBe('blocked');
    expect(outcome.management).toBe(`${server.origin}/portal/`);
    expect(outcome.capabilities).toEqual(expect.arrayContaining(['context-banner', 'permission-online', 'permission-offline']));
    await page.close();
  });
});

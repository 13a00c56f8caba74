import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { MIN_PASSWORD_LENGTH, requiresMfa, type Account, type AccountStore } from './accounts.js';
import type { LaunchContexts } from './launch-context.js';
import type { LoginAudit } from './login-audit.js';
import { changePasswordPage, consentPage, enrolPage, errorPage, loginPage, pageCsp, totpPage } from './pages.js';
import type { PatientPicker, PatientQuery, PickerAnswer } from './patient-picker.js';
import { readForm } from './request-body.js';
import { checkTotp, enrolment, newTotpSecret } from './totp.js';

export interface InteractionDeps {
  provider: Provider;
  mountPath: string;
  accounts: AccountStore;
  launches: LaunchContexts;
  /** Records every sign-in step, successful or not (issue 8). */
  audit: LoginAudit;
  /** The picker of a standalone `launch/patient` login by a clinician: a search as the user (issue 15 item 5). */
  picker: PatientPicker;
  /** A patient's name for the consent page ("Ana Silva (p1)"), or the id when unknown. */
  describePatient(id: string): Promise<string>;
  /** The patient portal, where users revoke apps (named on the consent page). */
  portalUrl: string;
}

/** Where a sign-in stands between the password and the end of login (kept only for the interaction's life). */
interface Pending {
  accountId: string;
  stage: 'totp' | 'enrol' | 'password';
  enrolSecret?: string;
  failures: number;
}

const MAX_CODE_FAILURES = 5;

const userOf = (account: Account) => ({ id: account.id, username: account.username, ...(account.fhirUser ? { fhirUser: account.fhirUser } : {}) });

/**
 * The login and consent pages of the embedded server (oidc-provider interactions): password, then
 * TOTP (or TOTP enrolment with a QR code for roles that require it), then a new password for
 * one-time passwords; then consent, with a patient picker for standalone `launch/patient` logins.
 */
export function interactionRoutes(deps: InteractionDeps) {
  const { provider, accounts, launches, mountPath } = deps;
  const pending = new Map<string, Pending>();

  const html = (ctx: KoaContextWithOIDC, body: string, status = 200): void => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', pageCsp(typeof ctx.state.redirectUri === 'string' ? ctx.state.redirectUri : undefined));
    ctx.body = body;
  };
  const finish = async (ctx: KoaContextWithOIDC, result: Parameters<Provider['interactionResult']>[2]): Promise<void> => {
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(to);
  };

  /** After the password: second factor, then a password change, then done. */
  async function nextStep(ctx: KoaContextWithOIDC, uid: string, account: Account, from: 'password' | 'mfa' | 'changed', clientId: string): Promise<void> {
    const action = (step: string): string => `${mountPath}/interaction/${uid}/${step}`;
    if (from === 'password' && requiresMfa(account)) {
      if (account.totp?.confirmed) {
        pending.set(uid, { accountId: account.id, stage: 'totp', failures: 0 });
        return html(ctx, totpPage(action('totp')));
      }
      const secret = newTotpSecret();
      pending.set(uid, { accountId: account.id, stage: 'enrol', enrolSecret: secret, failures: 0 });
      const { qrDataUrl } = await enrolment(secret, account.username);
      return html(ctx, enrolPage(action('enrol'), qrDataUrl, secret));
    }
    if (from !== 'changed' && account.mustChangePassword) {
      pending.set(uid, { accountId: account.id, stage: 'password', failures: 0 });
      return html(ctx, changePasswordPage(action('password'), MIN_PASSWORD_LENGTH));
    }
    pending.delete(uid);
    const amr = requiresMfa(account) ? ['pwd', 'otp', 'mfa'] : ['pwd'];
    try {
      await deps.audit.record(ctx, { method: amr.includes('otp') ? 'password+totp' : 'password', ok: true, user: userOf(account), clientId });
    } catch {
      // A sign-in that cannot be audited does not happen.
      return html(ctx, errorPage('temporarily_unavailable', 'Signing in is not possible right now; try again in a moment.'), 503);
    }
    await finish(ctx, { login: { accountId: account.id, amr } });
  }

  async function consent(ctx: KoaContextWithOIDC, uid: string, form?: URLSearchParams): Promise<void> {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const params = details.params as Record<string, string | undefined>;
    const client = await provider.Client.find(String(params.client_id));
    const account = details.session ? accounts.findById(details.session.accountId) : undefined;
    if (!client || !account) return html(ctx, errorPage('invalid_request', 'Unknown client or session'), 400);
    const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
    // Launch context: the EHR's launch, the patient's own record, or the picker (standalone launch/patient).
    let patient: string | undefined;
    let needsPicker = false;
    if (params.launch) {
      patient = launches.resolveLaunch(params.launch)?.patient;
      if (!patient) return finish(ctx, { error: 'invalid_request', error_description: 'unknown or expired launch' });
    } else if (scopes.includes('launch/patient')) {
      const own = account.roles.includes('patient') ? /^Patient\/(.+)$/.exec(account.fhirUser ?? '')?.[1] : undefined;
      patient = own;
      needsPicker = !own;
    }
    const action = `${mountPath}/interaction/${uid}/consent`;
    const caller = { account, clientId: client.clientId, source: ctx.ip };
    const view = async (message?: string, search?: { query: PatientQuery; answer?: PickerAnswer }) =>
      consentPage({
        action,
        appName: client.clientName ?? client.clientId,
        scopes,
        portalUrl: deps.portalUrl,
        ...(needsPicker ? { picker: { query: search?.query ?? {}, ...(search?.answer && 'patients' in search.answer ? { results: search.answer.patients, more: search.answer.more } : {}) } } : {}),
        ...(patient ? { patient: { label: await deps.describePatient(patient), own: !params.launch && account.fhirUser === `Patient/${patient}` } } : {}),
        ...(message ? { message } : {}),
      });
    if (!form) return html(ctx, await view());
    if (needsPicker && form.get('decision') === 'search') {
      // The picker searches (issue 15 item 5): as the user, through the role table and the consent gate, audited.
      const query = { name: form.get('name') ?? undefined, birthdate: form.get('birthdate') ?? undefined, identifier: form.get('identifier') ?? undefined };
      const answer = await deps.picker.search(caller, query);
      if ('refused' in answer) return html(ctx, await view(answer.refused, { query }), 400);
      return html(ctx, await view(answer.patients.length ? undefined : 'No patient found; change the search.', { query, answer }));
    }
    if (form.get('decision') !== 'allow') return finish(ctx, { error: 'access_denied', error_description: 'The user denied access' });
    if (needsPicker) {
      // Only a patient the user may open: the same read the app will make, so a typed-in id is no way around the picker's gate.
      patient = form.get('patient') || undefined;
      if (!patient || !(await deps.picker.mayOpen(caller, patient))) return html(ctx, await view('Search for the patient and choose one of the results.'), 400);
    }
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: account.id, clientId: client.clientId });
    if (!grant) return html(ctx, errorPage('invalid_request', 'Grant expired'), 400);
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, list] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, list.join(' '));
    const grantId = await grant.save();
    launches.bind(grantId, patient ? { patient } : {});
    await finish(ctx, { consent: { grantId } });
  }

  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<unknown> => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|totp|enrol|password|consent))?$/.exec(ctx.path);
    if (!match) return next();
    const [, uid, step] = match;
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      return html(ctx, errorPage('session_expired', 'This sign-in has expired; start again from the application.'), 400);
    }
    if (details.uid !== uid) return html(ctx, errorPage('invalid_request', 'Interaction mismatch'), 400);
    // Where this interaction ends (validated against the client's registration before it began).
    ctx.state.redirectUri = details.params.redirect_uri;
    const state = pending.get(uid);
    const clientId = String(details.params.client_id);
    // The sign-in page names the app as registered, not by its client id.
    const appName = (await provider.Client.find(clientId))?.clientName ?? clientId;
    if (ctx.method === 'GET' && !step) {
      if (details.prompt.name === 'consent') return consent(ctx, uid);
      pending.delete(uid);
      return html(ctx, loginPage(`${mountPath}/interaction/${uid}/login`, appName));
    }
    if (ctx.method !== 'POST') return html(ctx, errorPage('invalid_request', 'Method not allowed'), 405);
    const form = await readForm(ctx.req);
    if (step === 'consent' && details.prompt.name === 'consent') return consent(ctx, uid, form);
    if (step === 'login') {
      const username = form.get('username') ?? '';
      const result = await accounts.signIn(username, form.get('password') ?? '');
      if (!result.ok) {
        const known = accounts.findByUsername(username);
        await deps.audit.recordFailure(ctx, { method: 'password', reason: result.reason, user: known ? userOf(known) : { username }, clientId });
        const message = result.reason === 'locked' ? 'This account is locked after repeated failures; try again later or ask an administrator.' : 'Wrong username or password.';
        return html(ctx, loginPage(`${mountPath}/interaction/${uid}/login`, appName, message), 401);
      }
      return nextStep(ctx, uid, result.account, 'password', clientId);
    }
    const account = state ? accounts.findById(state.accountId) : undefined;
    if (!state || !account || state.stage !== step) return html(ctx, errorPage('invalid_request', 'Sign in first'), 400);
    if (step === 'totp' || step === 'enrol') {
      if (accounts.isLocked(account.id)) {
        pending.delete(uid);
        await deps.audit.recordFailure(ctx, { method: step === 'totp' ? 'totp' : 'totp-enrolment', reason: 'locked', user: userOf(account), clientId });
        return finish(ctx, { error: 'access_denied', error_description: 'account locked' });
      }
      const secret = step === 'totp' ? account.totp!.secret : state.enrolSecret!;
      const counter = checkTotp(secret, form.get('code') ?? '', step === 'totp' ? account.totp!.lastCounter : -1);
      if (counter === undefined) {
        // Per sign-in, and per account across sign-ins (issue 15): the account locks after LOCKOUT.codes wrong codes in a row.
        const tooMany = accounts.codeFailed(account.id) || ++state.failures >= MAX_CODE_FAILURES;
        await deps.audit.recordFailure(ctx, { method: step === 'totp' ? 'totp' : 'totp-enrolment', reason: tooMany ? 'too-many-codes' : 'invalid-code', user: userOf(account), clientId });
        if (tooMany) {
          pending.delete(uid);
          return finish(ctx, { error: 'access_denied', error_description: 'too many wrong codes' });
        }
        const action = `${mountPath}/interaction/${uid}/${step}`;
        if (step === 'totp') return html(ctx, totpPage(action, 'Wrong code.'), 401);
        return html(ctx, enrolPage(action, (await enrolment(secret, account.username)).qrDataUrl, secret, 'Wrong code.'), 401);
      }
      accounts.setTotp(account.id, { secret, confirmed: true, lastCounter: counter });
      return nextStep(ctx, uid, accounts.findById(account.id)!, 'mfa', clientId);
    }
    const password = form.get('password') ?? '';
    if (password.length < MIN_PASSWORD_LENGTH || password !== form.get('repeat')) {
      return html(ctx, changePasswordPage(`${mountPath}/interaction/${uid}/password`, MIN_PASSWORD_LENGTH, 'The passwords differ or are too short.'), 400);
    }
    await accounts.setPassword(account.id, password);
    return nextStep(ctx, uid, accounts.findById(account.id)!, 'changed', clientId);
  };
}

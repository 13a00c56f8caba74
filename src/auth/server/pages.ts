import { describeScope, durationWords } from '../scope-words.js';

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The Content-Security-Policy of the sign-in and consent pages. `form-action` also governs the
 * redirects that follow a form post (CSP3, and Chromium enforces it), so the app's redirect URI
 * (already checked against its registration by oidc-provider) must be listed or "Allow" goes nowhere.
 */
export function pageCsp(redirectUri?: string): string {
  const target = redirectUri && URL.canParse(redirectUri) ? new URL(redirectUri) : undefined;
  // A source expression cannot hold ';', ',' or spaces: fall back to the redirect URI's origin.
  const source = target ? (/[;,\s]/.test(target.href) ? target.origin : `${target.origin}${target.pathname}`) : '';
  return `default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'${source ? ` ${source}` : ''}; frame-ancestors 'none'`;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · FhirGate</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}label,input,button{display:block;margin:.4rem 0}input{width:100%;padding:.4rem}.error{color:#a00}</style>
</head><body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

const notice = (message?: string): string => (message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '');

export function loginPage(action: string, client: string, message?: string): string {
  return page(
    'Sign in',
    `<p>${escapeHtml(client)} asks to access FhirGate on your behalf.</p>${notice(message)}
<form method="post" action="${escapeHtml(action)}" autocomplete="off">
<label>Username <input name="username" required autofocus></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit">Sign in</button></form>`,
  );
}

export function totpPage(action: string, message?: string): string {
  return page(
    'Verification code',
    `${notice(message)}<form method="post" action="${escapeHtml(action)}" autocomplete="off">
<label>Code from your authenticator app <input name="code" inputmode="numeric" pattern="[0-9]{6}" required autofocus></label>
<button type="submit">Verify</button></form>`,
  );
}

export function enrolPage(action: string, qrDataUrl: string, secret: string, message?: string): string {
  return page(
    'Set up two-factor sign-in',
    `<p>Your role requires a second factor. Scan this code with an authenticator app, then enter the code it shows.</p>
<img src="${escapeHtml(qrDataUrl)}" alt="QR code for your authenticator app" width="200" height="200">
<p>Or enter this key by hand: <code>${escapeHtml(secret)}</code></p>${notice(message)}
<form method="post" action="${escapeHtml(action)}" autocomplete="off">
<label>Code <input name="code" inputmode="numeric" pattern="[0-9]{6}" required></label>
<button type="submit">Confirm</button></form>`,
  );
}

export function changePasswordPage(action: string, minLength: number, message?: string): string {
  return page(
    'Choose a new password',
    `<p>You signed in with a one-time password. Choose your own (at least ${minLength} characters).</p>${notice(message)}
<form method="post" action="${escapeHtml(action)}">
<label>New password <input name="password" type="password" minlength="${minLength}" required></label>
<label>Repeat <input name="repeat" type="password" minlength="${minLength}" required></label>
<button type="submit">Save</button></form>`,
  );
}

/** What the consent page says: the app by name, the patient opened, each scope in words, how long, how to revoke. */
export interface ConsentView {
  action: string;
  appName: string;
  scopes: readonly string[];
  /** The patient whose record the app opens (EHR launch, or the user's own record); undefined with the picker. */
  patient?: { label: string; own: boolean };
  /** The patient search (standalone launch by a clinician): what was searched, and what was found, if it ran. */
  picker?: { query: { name?: string; birthdate?: string; identifier?: string }; results?: ReadonlyArray<{ id: string; label: string }>; more?: boolean };
  /** The patient portal, where access is revoked later. */
  portalUrl: string;
  message?: string;
}

export function consentPage(view: ConsentView): string {
  const { picker } = view;
  const field = (name: 'name' | 'birthdate' | 'identifier', label: string, extra = ''): string =>
    `<label>${label} <input name="${name}" value="${escapeHtml(picker?.query[name] ?? '')}" maxlength="100"${extra}></label>`;
  const results = picker?.results
    ? picker.results
        .map((p, i) => `<label><input type="radio" name="patient" value="${escapeHtml(p.id)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(p.label)}</label>`)
        .join('') + (picker.more ? '<p>More patients match; narrow the search to see them.</p>' : '')
    : '';
  const pickerHtml = picker
    ? `<fieldset><legend>Patient</legend>${field('name', 'Name')}${field('birthdate', 'Birth date', ' placeholder="YYYY-MM-DD"')}${field('identifier', 'Identifier (MRN)')}
<button type="submit" name="decision" value="search">Search</button>${results}</fieldset>`
    : '';
  const own = view.patient?.own ?? false;
  const can = view.scopes.flatMap((s) => describeScope(s, { ownRecord: own }) ?? []);
  const opened = view.patient
    ? `<p>It will open ${own ? 'your own record' : 'the record of'} <strong>${escapeHtml(view.patient.label)}</strong>.</p>`
    : picker
      ? '<p>Search for the patient whose record it will open, and choose one.</p>'
      : '';
  return page(
    'Allow access',
    `<p><strong>${escapeHtml(view.appName)}</strong> asks for access to FhirGate on your behalf.</p>${opened}
<h2>If you allow it, the app may</h2><ul>${can.map((c) => `<li>${escapeHtml(c)}</li>`).join('')}</ul>
<details><summary>Technical scopes</summary><ul>${view.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul></details>
<h2>For how long</h2><p>${escapeHtml(durationWords(view.scopes))}</p>
<h2>Changing your mind</h2><p>You can revoke this access at any time under “Connected apps” in your <a href="${escapeHtml(view.portalUrl)}">FhirGate portal</a>.</p>${notice(view.message)}
<form method="post" action="${escapeHtml(view.action)}">${pickerHtml}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form>`,
  );
}

export function errorPage(error: string, description: string): string {
  return page('Something went wrong', `<p class="error">${escapeHtml(error)}</p><p>${escapeHtml(description)}</p>`);
}

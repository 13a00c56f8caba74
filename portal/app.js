// FhirGate's patient portal (issue 21): a SMART public client like any other. It signs in through
// the embedded authorization server with PKCE (smart-auth.js) and uses only the public FHIR API,
// plus the account API for connected apps. No framework and no build step: a few DOM helpers.

import { fhirUserOf, smartAuth } from './smart-auth.js';

const config = await (await fetch('config.json')).json();
const smart = await (await fetch(`${config.fhirBaseUrl}/.well-known/smart-configuration`)).json();
const authBase = smart.issuer;
const SCOPE = 'openid fhirUser launch/patient online_access patient/*.rs patient/Consent.cruds';
const { signIn, session, forget } = smartAuth({ config, smart, scope: SCOPE, key: 'fhirgate.portal' });
const ROLE_SYSTEM = 'https://fhirgate.dev/fhir/CodeSystem/role';
// Consent.provision.actor.role is required (R4): "primary information recipient".
const PRCP = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] };
const BREAK_GLASS = 'https://fhirgate.dev/fhir/StructureDefinition/break-glass';
const WORDS = { MedicationRequest: 'prescriptions', MedicationDispense: 'dispensed medicines', Appointment: 'appointments', Patient: 'demographics', Consent: 'privacy choices', AuditEvent: 'access log', Practitioner: 'clinician directory' };
// Audit subtypes in words: FHIR interactions, DICOM login and logout (DCM 110122, 110123).
const ACTIONS = { read: 'read', vread: 'read', 'search-type': 'searched', 'search-system': 'searched', 'search-compartment': 'searched', 'history-instance': 'read the history of', create: 'added', update: 'changed', patch: 'changed', delete: 'deleted', 110122: 'signed in', 110123: 'signed out' };
const ROLE_WORDS = { practitioner: 'doctors and nurses', pharmacist: 'pharmacists', receptionist: 'reception staff', admin: 'administrators', patient: 'patients' };

const $ = (id) => document.getElementById(id);
/** Creates an element; children are text or elements (never HTML strings, so nothing is injected). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat().filter((c) => c !== undefined && c !== null));
  return el;
}
const status = (text, error = false) => {
  $('status').textContent = text;
  $('status').className = error ? 'error' : 'muted';
};

// --- FHIR and account API ------------------------------------------------------------------
let token;
async function call(url, init = {}) {
  const res = await fetch(url, { ...init, headers: { Accept: 'application/fhir+json', Authorization: `Bearer ${token.access_token}`, ...(init.body ? { 'Content-Type': 'application/fhir+json' } : {}), ...init.headers } });
  const text = await res.text();
  const body = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(body?.issue?.[0]?.diagnostics || body?.error_description || `${res.status}`);
  return { body, etag: res.headers.get('ETag') };
}
const fhir = (path, init) => call(`${config.fhirBaseUrl}/${path}`, init).then((r) => r.body);
const entries = async (path) => ((await fhir(path)).entry || []).map((e) => e.resource);

// --- Words --------------------------------------------------------------------------------
const nameOf = (resource) => {
  const n = resource?.name?.[0];
  if (!n) return resource?.id;
  return n.text || [...(n.prefix || []), ...(n.given || []), n.family].filter(Boolean).join(' ');
};
const names = new Map();
async function practitionerName(reference) {
  if (!reference?.startsWith('Practitioner/')) return undefined;
  if (!names.has(reference)) names.set(reference, fhir(reference).then(nameOf, () => undefined));
  return names.get(reference);
}

/** "Dr Ana Silva (practitioner)", "everyone with the role pharmacists", "everyone at hospital-1". */
async function actorWords(actor) {
  const role = actor?.role?.coding?.find((c) => c.system === ROLE_SYSTEM)?.code;
  if (role) return `everyone with the role ${ROLE_WORDS[role] || role}`;
  const reference = actor?.reference?.reference || '';
  if (reference.startsWith('Organization/')) return `everyone at ${actor.reference.display || reference.slice(13)}`;
  const name = (await practitionerName(reference)) || actor?.reference?.display || reference || 'someone';
  return reference.startsWith('Practitioner/') ? `${name} (practitioner)` : name;
}

/** A Consent in one sentence: "Dr Ana Silva (practitioner) may see your prescriptions until 2027-01-31". */
async function consentWords(consent) {
  const p = consent.provision || {};
  const who = p.actor?.length ? (await Promise.all(p.actor.map(actorWords))).join(' and ') : 'Everyone';
  const verb = p.type === 'deny' || consent.policyRule?.coding?.some((c) => c.code === 'OPTOUT') ? 'may not see' : 'may see';
  const what = p.class?.length ? `your ${p.class.map((c) => WORDS[c.code] || c.code).join(', ')}` : 'your whole record';
  const from = p.period?.start && Date.parse(p.period.start) > Date.now() ? ` from ${p.period.start.slice(0, 10)}` : '';
  const until = p.period?.end ? ` until ${p.period.end.slice(0, 10)}` : '';
  const sentence = `${who} ${verb} ${what}${from}${until}`;
  return sentence[0].toUpperCase() + sentence.slice(1);
}

// --- Sections -----------------------------------------------------------------------------
let patientId;

async function renderSummary() {
  const patient = await fhir(`Patient/${patientId}`);
  $('who').textContent = `Signed in as ${nameOf(patient)}`;
  $('patient').replaceChildren(
    h('dt', {}, 'Name'), h('dd', {}, nameOf(patient) || '—'),
    h('dt', {}, 'Born'), h('dd', {}, patient.birthDate || '—'),
    h('dt', {}, 'Record id'), h('dd', {}, patient.id),
  );
  const meds = await entries(`MedicationRequest?patient=${patientId}&_count=50`);
  $('prescriptions').replaceChildren(...(meds.length ? meds.map((m) => h('li', {}, `${m.medicationCodeableConcept?.text || m.medicationCodeableConcept?.coding?.[0]?.display || 'Medicine'} (${m.status}${m.authoredOn ? `, ${m.authoredOn.slice(0, 10)}` : ''})`)) : [h('li', { class: 'muted' }, 'No prescriptions.')]));
  const appts = await entries(`Appointment?patient=${patientId}&_count=50`);
  $('appointments').replaceChildren(...(appts.length ? appts.map((a) => h('li', {}, `${a.description || 'Appointment'} (${a.status}${a.start ? `, ${a.start.slice(0, 16).replace('T', ' ')}` : ''})`)) : [h('li', { class: 'muted' }, 'No appointments.')]));
}

/** Re-reads a Consent and writes it back with another status (If-Match: nobody's change is lost). */
async function setStatus(id, newStatus, done) {
  const { body, etag } = await call(`${config.fhirBaseUrl}/Consent/${id}`);
  await call(`${config.fhirBaseUrl}/Consent/${id}`, { method: 'PUT', headers: etag ? { 'If-Match': etag } : {}, body: JSON.stringify({ ...body, status: newStatus }) });
  await Promise.all([renderConsents(), renderRequests()]);
  status(done);
}
const act = (fn) => (event) => {
  event.target.disabled = true;
  fn().catch((err) => status(err.message, true)).finally(() => (event.target.disabled = false));
};

async function renderConsents() {
  const consents = await entries(`Consent?patient=${patientId}&status=active&_count=100`);
  const items = await Promise.all(consents.map(async (c) => h('li', {}, await consentWords(c), ' ', h('button', { type: 'button', onclick: act(() => setStatus(c.id, 'inactive', 'Access revoked.')) }, 'Revoke'))));
  $('consents').replaceChildren(...(items.length ? items : [h('li', { class: 'muted' }, 'You have not given or refused anyone access yet; the default rules of this service apply.')]));
}

async function renderRequests() {
  const proposed = await entries(`Consent?patient=${patientId}&status=proposed&_count=100`);
  const items = await Promise.all(
    proposed.map(async (c) =>
      h('li', {}, `${(await consentWords(c)).replace(' may see ', ' asks to see ')}`, ' ',
        h('button', { type: 'button', onclick: act(() => setStatus(c.id, 'active', 'Request approved.')) }, 'Approve'),
        h('button', { type: 'button', onclick: act(() => setStatus(c.id, 'rejected', 'Request rejected.')) }, 'Reject')),
    ),
  );
  $('pending').replaceChildren(...(items.length ? items : [h('li', { class: 'muted' }, 'No pending requests.')]));
}

async function renderPractitioners() {
  const practitioners = await entries('Practitioner?_count=100').catch(() => []);
  $('practitioner').replaceChildren(...practitioners.map((p) => h('option', { value: p.id }, nameOf(p))));
}

async function grant(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const kind = form.get('kind');
  let actor;
  if (kind === 'practitioner') {
    const id = form.get('practitioner');
    if (!id) return status('Choose a clinician.', true);
    actor = { role: PRCP, reference: { reference: `Practitioner/${id}`, display: $('practitioner').selectedOptions[0]?.textContent } };
  } else if (kind === 'role') {
    const role = form.get('role');
    actor = { role: { coding: [{ system: ROLE_SYSTEM, code: role }] }, reference: { display: `everyone with the role ${role}` } };
  } else {
    const id = String(form.get('organization') || '').trim();
    if (!/^[A-Za-z0-9.-]{1,64}$/.test(id)) return status('Enter the organization id.', true);
    actor = { role: PRCP, reference: { reference: `Organization/${id}` } };
  }
  const types = form.getAll('type');
  const until = form.get('until');
  const consent = {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: new Date(Date.now() - 1000).toISOString(),
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      actor: [actor],
      ...(types.length ? { class: types.map((code) => ({ system: 'http://hl7.org/fhir/resource-types', code })) } : {}),
      ...(until ? { period: { end: until } } : {}),
    },
  };
  try {
    await fhir('Consent', { method: 'POST', body: JSON.stringify(consent) });
    event.target.reset();
    await renderConsents();
    status('Access given.');
  } catch (err) {
    status(`Could not give access: ${err.message}`, true);
  }
}

let appNames = {};
async function renderApps() {
  const { body } = await call(`${authBase}/account/apps`, { headers: { Accept: 'application/json' } });
  appNames = body.names || {};
  $('connected').replaceChildren(
    ...(body.apps.length
      ? body.apps.map((app) =>
          h('li', {}, h('strong', {}, app.name), app.grantedAt ? ` — since ${new Date(app.grantedAt * 1000).toISOString().slice(0, 10)}` : '', h('br'),
            h('span', { class: 'muted' }, `Allowed: ${app.scopes.join(' ')}`), h('br'),
            h('button', { type: 'button', 'aria-label': `Revoke ${app.name}`, onclick: act(() => revokeApp(app)) }, 'Revoke')),
        )
      : [h('li', { class: 'muted' }, 'No apps are connected.')]),
  );
}
async function revokeApp(app) {
  await call(`${authBase}/account/apps/${encodeURIComponent(app.grantId)}`, { method: 'DELETE' });
  if (app.clientId === config.clientId) return signOut();
  await renderApps();
  status(`${app.name} can no longer renew its access.`);
}

let auditRows = [];
async function renderLog() {
  const events = await entries(`AuditEvent?patient=Patient/${patientId}&_sort=-date&_count=100`);
  auditRows = await Promise.all(
    events.map(async (e) => {
      const requestor = e.agent?.find((a) => a.requestor) || e.agent?.[0];
      const reference = requestor?.who?.reference;
      const app = e.agent?.find((a) => a.type?.coding?.some((c) => c.code === '110150') && !a.requestor)?.who?.display;
      const who = reference === `Patient/${patientId}` ? 'You' : (await practitionerName(reference)) || reference || requestor?.who?.display || 'unknown';
      const types = [...new Set((e.entity || []).map((en) => en.what?.reference?.split('/')[0]).filter((t) => t && t !== 'Consent'))];
      const action = e.subtype?.map((c) => ACTIONS[c.code]).find(Boolean) || e.subtype?.[0]?.display || e.subtype?.[0]?.code || '';
      const what = `${action} ${types.map((t) => WORDS[t] || t).join(', ')}`.trim();
      return { own: reference === `Patient/${patientId}`, breakGlass: e.extension?.some((x) => x.url === BREAK_GLASS && x.valueBoolean), when: e.recorded, who, app, what };
    }),
  );
  drawLog();
}
function drawLog() {
  const hideOwn = $('hide-own').checked;
  const rows = auditRows.filter((r) => !(hideOwn && r.own));
  $('audit').replaceChildren(
    ...(rows.length
      ? rows.map((r) => h('tr', { class: r.breakGlass ? 'break-glass' : undefined }, h('td', {}, new Date(r.when).toLocaleString()), h('td', {}, r.who), h('td', {}, r.app ? appNames[r.app] || r.app : '—'), h('td', {}, r.what)))
      : [h('tr', {}, h('td', { colspan: '4', class: 'muted' }, 'Nobody else has looked at your record.'))]),
  );
}

function signOut() {
  forget();
  location.assign(location.pathname);
}

// --- Start ----------------------------------------------------------------------------------
$('sign-in').addEventListener('click', () => signIn().catch((err) => status(err.message, true)));
$('sign-out').addEventListener('click', signOut);
$('grant').addEventListener('submit', grant);
$('hide-own').addEventListener('change', drawLog);
try {
  token = await session();
  if (!token) {
    $('signed-out').hidden = false;
    status('');
  } else if (!token.patient || fhirUserOf(token) !== `Patient/${token.patient}`) {
    // A clinician signing in here would pick someone else's record: the portal is for patients.
    $('signed-out').hidden = false;
    forget();
    status('This portal is for patients: sign in with a patient account to see your own record.', true);
  } else {
    patientId = token.patient;
    $('signed-in').hidden = false;
    status('');
    // Connected apps first: the access log shows app names from it.
    await renderApps();
    await Promise.all([renderSummary(), renderConsents(), renderRequests(), renderPractitioners(), renderLog()]);
    status('Up to date.');
  }
} catch (err) {
  $('signed-out').hidden = false;
  status(err.message, true);
}

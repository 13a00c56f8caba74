import type autocannon from 'autocannon';
import { embeddedIssuer, mintToken } from '../../test/support/tokens.js';
import { startFhirGate } from '../lib/fhirgate.js';
import { measure, type Measurement } from '../lib/load.js';
import type { Service } from '../lib/processes.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { fixed, markdownTable } from '../lib/table.js';

/**
 * Issue 8: what the consent gate costs. One FhirGate; a practitioner (consent-checked) and a backend
 * service (not subject to Consents: the unchecked path) read a MedicationRequest by id and search
 * MedicationRequests, with 0, 1 and 10 active Consents per patient, none withholding anything the
 * search returns, so both paths return the same data. A last step adds, per patient, an 11th Consent
 * denying the practitioner one medication code nobody prescribes: it is decided per resource (every
 * MedicationRequest of every patient is read and decided once, then kept until a write of the type).
 * Both paths write the same AuditEvent per request.
 */

const FHIR_JSON = 'application/fhir+json';
const CONNECTIONS = 8;
const SETTLE_MS = 300;

interface Target {
  service: Service;
  checked: string;
  unchecked: string;
  patients: number;
}

export const consent: Scenario = {
  name: 'consent',
  description: 'read and search throughput under the consent gate with 0, 1 and 10 Consents per patient, as ratios to the unchecked path',
  async run(context) {
    const { settings, processes, log } = context;
    const { service, dataDir, authorization } = await startFhirGate(processes, {
      name: 'consent',
      clientId: 'bench-consent',
      env: { AUDIT_SINK: 'store', FHIRGATE_KEYS: '', FHIRGATE_KEYS_FILE: '', MONGODB_URI: '' },
    });
    const issuer = embeddedIssuer(dataDir, service.origin);
    const target: Target = {
      service,
      unchecked: authorization,
      checked: `Bearer ${await mintToken(issuer, { scope: 'user/*.rs', role: 'practitioner', fhirUser: 'Practitioner/bench', expiresIn: 24 * 3600 })}`,
      patients: settings.quick ? 20 : 100,
    };
    log(`seeding ${target.patients} patients with one MedicationRequest each`);
    for (let p = 0; p < target.patients; p++) {
      await put(target, `Patient/bp${p}`, { resourceType: 'Patient', id: `bp${p}`, name: [{ family: `Bench${p}` }] });
      await put(target, `MedicationRequest/bm${p}`, { resourceType: 'MedicationRequest', id: `bm${p}`, status: 'active', intent: 'order', medicationCodeableConcept: { text: 'x' }, subject: { reference: `Patient/bp${p}` } });
    }
    const rows: string[][] = [];
    let consents = 0;
    for (const step of STEPS) {
      log(`${step.label} Consents per patient`);
      for (; consents < step.perPatient; consents++) {
        for (let p = 0; p < target.patients; p++) await put(target, `Consent/bc${p}-${consents}`, consentOf(`bc${p}-${consents}`, `bp${p}`));
      }
      if (step.byCode) for (let p = 0; p < target.patients; p++) await put(target, `Consent/bcode${p}`, byCodeConsentOf(`bcode${p}`, `bp${p}`));
      for (const shape of ['read', 'search'] as const) {
        await cell(context, target, shape, 'unchecked', settings.warmupSeconds, 'warm-up ');
        const unchecked = await cell(context, target, shape, 'unchecked', settings.seconds);
        const checked = await cell(context, target, shape, 'checked', settings.seconds);
        rows.push([shape, step.label, String(Math.round(unchecked.requestsPerSecond)), String(Math.round(checked.requestsPerSecond)), fixed(checked.p50, 2), `${fixed(checked.requestsPerSecond / unchecked.requestsPerSecond, 2)}×`]);
      }
    }
    return { title: 'Consent gate: read and search throughput', body: [table(rows), '', notes(target.patients)].join('\n') };
  },
};

const STEPS = [
  { label: '0', perPatient: 0, byCode: false },
  { label: '1', perPatient: 1, byCode: false },
  { label: '10', perPatient: 10, byCode: false },
  { label: '10 + 1 by code', perPatient: 10, byCode: true },
];

/** An active Consent denying someone else: it must be evaluated, and never changes the answer. */
function consentOf(id: string, patient: string): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'deny', actor: [{ role: { coding: [{ code: 'PRCP' }] }, reference: { reference: 'Practitioner/someone-else' } }] },
  };
}

/** An active Consent denying the bench practitioner a code no resource has: decided resource by resource, withholding nothing. */
function byCodeConsentOf(id: string, patient: string): Record<string, unknown> {
  return {
    ...consentOf(id, patient),
    provision: {
      type: 'deny',
      actor: [{ role: { coding: [{ code: 'PRCP' }] }, reference: { reference: 'Practitioner/bench' } }],
      code: [{ coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: 'never-prescribed' }] }],
    },
  };
}

async function put(target: Target, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${target.service.origin}/fhir/${path}`, {
    method: 'PUT',
    headers: { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: target.unchecked },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`seeding ${path}: ${res.status} ${text.slice(0, 500)}`);
}

function request(target: Target, shape: 'read' | 'search', who: 'checked' | 'unchecked'): autocannon.Request {
  const headers = { Accept: FHIR_JSON, Authorization: target[who] };
  let next = 0;
  const pathOf = (): string => (shape === 'read' ? `/fhir/MedicationRequest/bm${next++ % target.patients}` : '/fhir/MedicationRequest?status=active&_count=20');
  return { method: 'GET', path: pathOf(), headers, setupRequest: (r) => Object.assign(r, { path: pathOf() }) };
}

async function cell(context: ScenarioContext, target: Target, shape: 'read' | 'search', who: 'checked' | 'unchecked', seconds: number, phase = ''): Promise<Measurement> {
  const label = `${phase}${shape} ${who}`;
  const result = await measure({ origin: target.service.origin, connections: CONNECTIONS, seconds, request: request(target, shape, who), label });
  target.service.assertAlive();
  context.log(`${label}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${fixed(result.p50, 2)} ms`);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return result;
}

function table(rows: string[][]): string {
  const right = (header: string) => ({ header, align: 'right' as const });
  return markdownTable([{ header: 'Interaction' }, right('Consents / patient'), right('Unchecked req/s'), right('Checked req/s'), right('Checked p50 ms'), right('Checked / unchecked')], rows);
}

function notes(patients: number): string {
  return [
    '## What was measured',
    '',
    `- ${patients} patients, one MedicationRequest each, embedded store, ${CONNECTIONS} connections; every request also writes its hash-chained AuditEvent.`,
    '- Unchecked: a backend-service token (`system/*.*`, not subject to Consents). Checked: a practitioner token (`user/*.rs`), decided against every active Consent.',
    "- read: `GET MedicationRequest/[id]`: the resource's patient's Consents, kept decoded until the next Consent write (one revision check per request), decide it.",
    '- search: `GET MedicationRequest?status=active&_count=20`: the restriction (a filter the store applies, so `_total` and paging see only what is permitted) is built from every active Consent once, then kept until a Consent is written or a provision period starts or ends; with a Consent on codes, until a MedicationRequest is written too. What each request pays: the revision checks and a larger filter.',
    '- `10 + 1 by code`: the 11th Consent per patient depends on each resource\'s codes, so every MedicationRequest is decided once on its content; the first request after a write of the type pays that, the others reuse it.',
  ].join('\n');
}

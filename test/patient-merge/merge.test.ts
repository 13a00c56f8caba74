import { describe, expect, it } from 'vitest';
import { fixtures } from '../auth/fixtures.js';
import { aboutActor, privacyConsent } from '../consent/support.js';
import { errorCode, fhirClient } from '../support/fhir-client.js';
import { ADT, ackCode, useMllpServer } from '../hl7v2/support.js';

/**
 * Issue 18 item 5: `Patient/$merge` over REST does what ADT^A40 does (the same writes,
 * src/patient-merge/merge-writes.ts), atomically and audited; afterwards HL7 v2 messages carrying
 * the old identifier reach the survivor, through a real MLLP socket.
 */
const hl7 = useMllpServer();
let n = 0;
const ok = async (message: string): Promise<void> => expect(ackCode(await hl7.send(message)).code).toBe('AA');
const byMrn = async (mrn: string): Promise<any> => (await hl7.fhir.get(`Patient?identifier=${encodeURIComponent(mrn)}`)).body.entry?.[0]?.resource;
const as = async (role: string, scope = 'user/*.cruds') => fhirClient(hl7.server.fhirUrl, { token: await hl7.server.token({ role, fhirUser: 'Practitioner/doc', scope }) });
const mergeBody = (source: string, target: string, extra: Array<Record<string, unknown>> = []) => ({
  resourceType: 'Parameters',
  parameter: [{ name: 'source-patient', valueReference: { reference: `Patient/${source}` } }, { name: 'target-patient', valueReference: { reference: `Patient/${target}` } }, ...extra],
});

/** Two Patients registered over MLLP, and the old one's prescription, consent and appointment over REST. */
async function duplicates(tag: string): Promise<{ old: any; survivor: any }> {
  await ok(ADT(`${tag}-${++n}`, `MRN-${tag}-OLD`, 'Old'));
  await ok(ADT(`${tag}-${++n}`, `MRN-${tag}-NEW`, 'Survivor'));
  const [old, survivor] = [await byMrn(`MRN-${tag}-OLD`), await byMrn(`MRN-${tag}-NEW`)];
  for (const r of [fixtures.medicationRequest(`${tag}-mr`, old.id), fixtures.consent(`${tag}-consent`, old.id), fixtures.appointment(`${tag}-appt`, old.id)]) {
    expect((await hl7.fhir.put(`${r.resourceType}/${r.id}`, r)).status).toBeLessThan(300);
  }
  return { old, survivor };
}

describe('Patient/$merge', () => {
  it('merges as ADT^A40 does: source inactive and replaced-by, survivor replaces, references moved, in one transaction', async () => {
    const { old, survivor } = await duplicates('R1');
    const doc = await as('practitioner');
    const res = await doc.post('Patient/$merge', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'source-patient-identifier', valueIdentifier: old.identifier[0] },
        { name: 'target-patient', valueReference: { reference: `Patient/${survivor.id}` } },
      ],
    });
    expect(res.status, res.text).toBe(200);
    const out = Object.fromEntries(res.body.parameter.map((p: any) => [p.name, p.resource]));
    expect(out.outcome.issue[0].diagnostics).toContain(`Patient/${old.id} was merged into Patient/${survivor.id}; 3 references moved`);
    expect(out.result).toMatchObject({ id: survivor.id, active: true, link: [{ type: 'replaces', other: { reference: `Patient/${old.id}` } }] });

    const oldNow = (await hl7.fhir.get(`Patient/${old.id}`)).body;
    expect(oldNow).toMatchObject({ active: false, link: [{ type: 'replaced-by', other: { reference: `Patient/${survivor.id}` } }] });
    expect((await hl7.fhir.get('MedicationRequest/R1-mr')).body.subject.reference).toBe(`Patient/${survivor.id}`);
    expect((await hl7.fhir.get('Consent/R1-consent')).body.patient.reference).toBe(`Patient/${survivor.id}`);
    expect((await hl7.fhir.get('Appointment/R1-appt')).body.participant[0].actor.reference).toBe(`Patient/${survivor.id}`);
    // Audited: the operation by the practitioner, and each write of its transaction.
    const events = (await hl7.fhir.get(`AuditEvent?patient=Patient/${old.id},Patient/${survivor.id}&_count=100`)).body.entry.map((e: any) => e.resource);
    const writes = events.filter((e: any) => e.action === 'U' && e.agent[0].who?.reference === 'Practitioner/doc');
    expect(writes.map((e: any) => e.entity[0].what.reference.replace(/\/_history\/.*/, ''))).toEqual(expect.arrayContaining([`Patient/${old.id}`, `Patient/${survivor.id}`, 'MedicationRequest/R1-mr', 'Consent/R1-consent', 'Appointment/R1-appt']));
    const all = (await hl7.fhir.get('AuditEvent?_count=200&_sort=-date')).body.entry.map((e: any) => e.resource);
    expect(all.some((e: any) => e.subtype?.[0]?.code === 'merge' && e.agent[0].who?.reference === 'Practitioner/doc' && e.outcome === '0')).toBe(true);
  });

  it('after a REST merge, HL7 v2 messages with the old identifier update the survivor (MLLP)', async () => {
    const { old, survivor } = await duplicates('R2');
    expect((await (await as('practitioner')).post('Patient/$merge', mergeBody(old.id, survivor.id))).status).toBe(200);
    await ok(ADT(`R2-${++n}`, 'MRN-R2-OLD', 'Renamed', 'A08'));
    const oldNow = (await hl7.fhir.get(`Patient/${old.id}`)).body;
    expect(oldNow.name[0].family).toBe('Old');
    expect((await hl7.fhir.get(`Patient/${survivor.id}`)).body).toMatchObject({ active: true, name: [{ family: 'Renamed' }] });
    // A pharmacy order naming the old MRN lands on the survivor too.
    await ok(['MSH|^~\\&|TESTAPP|TESTFAC|FHIRGATE|HOSP|20240101120000||RDE^O11^RDE_O11|R2-RDE|P|2.5.1', 'PID|1||MRN-R2-OLD^^^TESTFAC^MR||Old^Ada', 'ORC|NW|ORD-R2^TESTFAC', 'RXE||RX1^Amoxicillin^NDC|500||mg^mg^UCUM'].join('\r') + '\r');
    const [order] = (await hl7.fhir.get('MedicationRequest?identifier=ORD-R2')).body.entry.map((e: any) => e.resource);
    expect(order.subject.reference).toBe(`Patient/${survivor.id}`);
  });

  it('preview answers what would be written and writes nothing; result-patient sets the survivor', async () => {
    const { old, survivor } = await duplicates('R3');
    const doc = await as('practitioner');
    const preview = await doc.post('Patient/$merge', mergeBody(old.id, survivor.id, [{ name: 'preview', valueBoolean: true }]));
    expect(preview.status, preview.text).toBe(200);
    const out = Object.fromEntries(preview.body.parameter.map((p: any) => [p.name, p.resource]));
    expect(out.outcome.issue[0].diagnostics).toContain('would be merged');
    expect(out.result.link).toEqual([{ type: 'replaces', other: { reference: `Patient/${old.id}` } }]);
    expect((await hl7.fhir.get(`Patient/${old.id}`)).body.meta.versionId).toBe(old.meta.versionId);
    expect((await hl7.fhir.get('MedicationRequest/R3-mr')).body.subject.reference).toBe(`Patient/${old.id}`);

    const result = { resourceType: 'Patient', id: survivor.id, active: true, identifier: survivor.identifier, name: [{ family: 'Chosen', given: ['Name'] }] };
    const res = await doc.post('Patient/$merge', mergeBody(old.id, survivor.id, [{ name: 'result-patient', resource: result }]));
    expect(res.status, res.text).toBe(200);
    expect((await hl7.fhir.get(`Patient/${survivor.id}`)).body).toMatchObject({ name: [{ family: 'Chosen' }], link: [{ type: 'replaces' }] });
  });

  it('is for the roles the role table names: admins merge without seeing the Patient; receptionists and pharmacists may not', async () => {
    const { old, survivor } = await duplicates('R4');
    for (const role of ['receptionist', 'pharmacist', 'patient']) {
      const res = await (await as(role)).post('Patient/$merge', mergeBody(old.id, survivor.id));
      expect(res.status, role).toBe(403);
      expect(errorCode(res.body)).toBe('forbidden');
    }
    // A practitioner whose scopes do not grant updating Patients may not either.
    expect((await (await as('practitioner', 'user/*.rs')).post('Patient/$merge', mergeBody(old.id, survivor.id))).status).toBe(403);
    const res = await (await as('admin')).post('Patient/$merge', mergeBody(old.id, survivor.id));
    expect(res.status, res.text).toBe(200);
    expect(res.body.parameter.map((p: any) => p.name)).toEqual(['input', 'outcome']);
  });

  it('leaves the merged Patient out of the answer when the target withholds it from the practitioner by Consent', async () => {
    const { old, survivor } = await duplicates('R8');
    const deny = privacyConsent('R8-deny', survivor.id, aboutActor('deny', 'Practitioner/doc'));
    expect((await hl7.fhir.put('Consent/R8-deny', deny)).status).toBeLessThan(300);
    const res = await (await as('practitioner')).post('Patient/$merge', mergeBody(old.id, survivor.id));
    expect(res.status, res.text).toBe(200);
    expect(res.body.parameter.map((p: any) => p.name)).toEqual(['input', 'outcome']);
    expect((await hl7.fhir.get(`Patient/${old.id}`)).body.link[0].other.reference).toBe(`Patient/${survivor.id}`);
  });

  it.each([
    ['the same Patient twice', (o: any) => mergeBody(o.old.id, o.old.id), 422],
    ['a source that is not there', (o: any) => mergeBody('nobody', o.survivor.id), 404],
    ['a source given twice', (o: any) => ({ ...mergeBody(o.old.id, o.survivor.id), parameter: [...mergeBody(o.old.id, o.survivor.id).parameter, { name: 'source-patient-identifier', valueIdentifier: { value: 'x' } }] }), 400],
    ['no target', (o: any) => ({ resourceType: 'Parameters', parameter: [mergeBody(o.old.id, o.survivor.id).parameter[0]] }), 400],
    ['a result-patient of another id', (o: any) => mergeBody(o.old.id, o.survivor.id, [{ name: 'result-patient', resource: { resourceType: 'Patient', id: 'other' } }]), 400],
  ])('refuses %s', async (_name, body, status) => {
    const pair = await duplicates(`R5${++n}`);
    const res = await hl7.fhir.post('Patient/$merge', body(pair));
    expect(res.status, res.text).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect((await hl7.fhir.get(`Patient/${pair.old.id}`)).body.active).toBe(true);
  });

  it('refuses to merge a source already merged into another Patient, or into a merged-away target', async () => {
    const a = await duplicates('R6');
    const b = await duplicates('R7');
    expect((await hl7.fhir.post('Patient/$merge', mergeBody(a.old.id, a.survivor.id))).status).toBe(200);
    // Again into the same survivor: allowed, one link each way (as a repeated A40).
    expect((await hl7.fhir.post('Patient/$merge', mergeBody(a.old.id, a.survivor.id))).status).toBe(200);
    expect((await hl7.fhir.get(`Patient/${a.survivor.id}`)).body.link).toHaveLength(1);
    const other = await hl7.fhir.post('Patient/$merge', mergeBody(a.old.id, b.survivor.id));
    expect(other.status).toBe(422);
    expect(other.body.issue[0].diagnostics).toContain('already merged');
    expect((await hl7.fhir.post('Patient/$merge', mergeBody(b.old.id, a.old.id))).status).toBe(422);
  });
});

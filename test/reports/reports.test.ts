import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';

/**
 * Issue 18 item 4: the reports as FHIR operations over HTTP with real tokens, for the roles the
 * role table names. The server's clock is moved to register Patients on chosen days.
 */
let server: TestServer;
let system: FhirClient;
let offsetMs = 0;
const clockAt = (iso: string): void => {
  offsetMs = Date.now() - Date.parse(iso);
};

const rx = (id: string, requester: string, authoredOn: string, code = 'amox'): Resource =>
  ({
    resourceType: 'MedicationRequest',
    id,
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p1' },
    requester: { reference: requester },
    authoredOn,
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code }] },
    dispenseRequest: { numberOfRepeatsAllowed: 20 },
  }) as Resource;
const dispense = (id: string, prescription: string, code: string, whenHandedOver: string, status = 'completed'): Resource =>
  ({
    resourceType: 'MedicationDispense',
    id,
    status,
    subject: { reference: 'Patient/p1' },
    authorizingPrescription: [{ reference: `MedicationRequest/${prescription}` }],
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code }] },
    whenHandedOver,
  }) as Resource;
const appointment = (id: string, practitioner: string, start: string, status = 'booked'): Resource =>
  ({
    resourceType: 'Appointment',
    id,
    status,
    start,
    end: new Date(Date.parse(start) + 30 * 60_000).toISOString(),
    participant: [
      { actor: { reference: 'Patient/p1' }, status: 'accepted' },
      { actor: { reference: `Practitioner/${practitioner}` }, status: 'accepted' },
    ],
  }) as Resource;

const put = async (r: Resource): Promise<void> => {
  const res = await system.put(`${r.resourceType}/${r.id}`, r);
  expect(res.status, res.text).toBeLessThan(300);
};
const as = async (role: string) => fhirClient(server.fhirUrl, { token: await server.token({ role, fhirUser: 'Practitioner/a', scope: 'user/*.cruds' }) });
const param = (body: any, name: string): any[] => body.parameter.filter((p: any) => p.name === name);
const rows = (body: any, name: string) => param(body, name).map((p: any) => Object.fromEntries(p.part.map((x: any) => [x.name, x.valueInteger ?? x.valueReference?.reference ?? x.valueCode ?? x.valueDate ?? x.valuePeriod])));

beforeAll(async () => {
  server = await startServer({}, undefined, { clock: () => new Date(Date.now() - offsetMs) });
  system = fhirClient(server.fhirUrl);
  // New patients: two on 1 March, none on the 2nd, one on the 3rd; p1 updated on the 3rd (not new again).
  clockAt('2024-03-01T08:00:00Z');
  await put({ resourceType: 'Patient', id: 'p1' } as Resource);
  clockAt('2024-03-01T23:59:00Z');
  await put({ resourceType: 'Patient', id: 'p2' } as Resource);
  clockAt('2024-03-03T00:00:01Z');
  await put({ resourceType: 'Patient', id: 'p3' } as Resource);
  await put({ resourceType: 'Patient', id: 'p1', active: true } as Resource);
  clockAt('2024-03-05T12:00:00Z');
  for (const id of ['a', 'b', 'c']) await put({ resourceType: 'Practitioner', id } as Resource);
  await put({ resourceType: 'Organization', id: 'org', name: 'Clinic' } as Resource);
  await put(rx('rx1', 'Practitioner/a', '2024-02-01'));
  await put(rx('rx2', 'Practitioner/a', '2024-02-15', 'ibu'));
  await put(rx('rx3', 'Practitioner/b', '2024-02-20'));
  await put(rx('rx4', 'Practitioner/b', '2024-01-31')); // before the period
  await put(rx('rx5', 'Organization/org', '2024-02-10')); // not a practitioner
  await put(dispense('d1', 'rx1', 'amox', '2024-02-02T10:00:00Z'));
  await put(dispense('d2', 'rx1', 'amox', '2024-03-02T10:00:00Z'));
  await put(dispense('d3', 'rx2', 'ibu', '2024-02-16T10:00:00Z'));
  await put(dispense('d4', 'rx3', 'amox', '2024-02-21T10:00:00Z', 'preparation')); // not handed over
  await put(appointment('ap1', 'a', '2024-03-04T09:00:00Z'));
  await put(appointment('ap2', 'a', '2024-03-04T10:00:00Z'));
  await put(appointment('ap3', 'b', '2024-03-04T09:00:00Z'));
  await put(appointment('ap4', 'b', '2024-03-04T11:00:00Z', 'cancelled'));
  await put(appointment('ap5', 'c', '2024-04-01T09:00:00Z')); // after the period
});
afterAll(() => server.destroy());

describe('reports', () => {
  it('daily new patients: Patients first stored on each day, by GET', async () => {
    const res = await (await as('admin')).get('Patient/$new-patients?start=2024-03-01&end=2024-03-04');
    expect(res.status, res.text).toBe(200);
    expect(res.body.resourceType).toBe('Parameters');
    expect(param(res.body, 'period')[0].valuePeriod).toEqual({ start: '2024-03-01', end: '2024-03-04' });
    expect(param(res.body, 'total')[0].valueInteger).toBe(3);
    expect(rows(res.body, 'day')).toEqual([
      { date: '2024-03-01', count: 2 },
      { date: '2024-03-02', count: 0 },
      { date: '2024-03-03', count: 1 },
      { date: '2024-03-04', count: 0 },
    ]);
  });

  it('prescriptions by practitioner in a period, by POST with Parameters', async () => {
    const res = await (await as('pharmacist')).post('MedicationRequest/$prescriptions-by-practitioner', {
      resourceType: 'Parameters',
      parameter: [{ name: 'start', valueDate: '2024-02-01' }, { name: 'end', valueDate: '2024-02-29' }],
    });
    expect(res.status, res.text).toBe(200);
    expect(rows(res.body, 'practitioner')).toEqual([
      { practitioner: 'Practitioner/a', count: 2 },
      { practitioner: 'Practitioner/b', count: 1 },
    ]);
    expect(param(res.body, 'total')[0].valueInteger).toBe(3);
  });

  it('dispenses by medication, for the whole period and per month', async () => {
    const pharmacist = await as('pharmacist');
    const whole = await pharmacist.get('MedicationDispense/$dispenses-by-medication?start=2024-02-01&end=2024-03-31');
    expect(whole.status, whole.text).toBe(200);
    expect(rows(whole.body, 'dispensed').map(({ code, count }) => ({ code, count }))).toEqual([
      { code: 'amox', count: 2 },
      { code: 'ibu', count: 1 },
    ]);
    const monthly = await pharmacist.get('MedicationDispense/$dispenses-by-medication?start=2024-02-01&end=2024-03-31&interval=month');
    expect(rows(monthly.body, 'dispensed')).toEqual([
      { period: { start: '2024-02-01', end: '2024-02-29' }, code: 'amox', count: 1 },
      { period: { start: '2024-02-01', end: '2024-02-29' }, code: 'ibu', count: 1 },
      { period: { start: '2024-03-01', end: '2024-03-31' }, code: 'amox', count: 1 },
    ]);
  });

  it('appointment load per practitioner, cancelled ones left out', async () => {
    const res = await (await as('admin')).get('Appointment/$appointment-load?start=2024-03-01&end=2024-03-31');
    expect(res.status, res.text).toBe(200);
    expect(rows(res.body, 'practitioner')).toEqual([
      { practitioner: 'Practitioner/a', count: 2 },
      { practitioner: 'Practitioner/b', count: 1 },
    ]);
  });

  it.each([
    ['practitioner', 'Patient/$new-patients'],
    ['practitioner', 'MedicationRequest/$prescriptions-by-practitioner'],
    ['pharmacist', 'Patient/$new-patients'],
    ['pharmacist', 'Appointment/$appointment-load'],
    ['receptionist', 'Appointment/$appointment-load'],
    ['patient', 'MedicationDispense/$dispenses-by-medication'],
  ])('the role table decides: %s may not run %s', async (role, path) => {
    const res = await (await as(role)).get(path);
    expect(res.status, res.text).toBe(403);
    expect(errorCode(res.body)).toBe('forbidden');
  });

  it('needs an unrestricted scope on the counted type', async () => {
    const narrow = fhirClient(server.fhirUrl, { token: await server.token({ role: 'admin', fhirUser: 'Practitioner/a', scope: 'user/Practitioner.cruds' }) });
    expect((await narrow.get('Patient/$new-patients')).status).toBe(403);
    const launch = fhirClient(server.fhirUrl, { token: await server.token({ role: 'admin', fhirUser: 'Practitioner/a', scope: 'patient/*.rs', patient: 'p1' }) });
    expect((await launch.get('Patient/$new-patients')).status).toBe(403);
  });

  it.each([
    ['a malformed date', 'Patient/$new-patients?start=March'],
    ['start after end', 'Patient/$new-patients?start=2024-03-05&end=2024-03-01'],
    ['a period over a year', 'Patient/$new-patients?start=2020-01-01&end=2024-01-01'],
    ['an unknown interval', 'MedicationDispense/$dispenses-by-medication?interval=hour'],
  ])('refuses %s with 400', async (_name, path) => {
    const res = await system.get(path);
    expect(res.status, res.text).toBe(400);
    expect(errorCode(res.body)).toBe('bad-request');
  });

  it('is served on its own type only, and audited', async () => {
    expect((await system.get('Practitioner/$new-patients')).status).toBe(501);
    expect((await system.post('Practitioner/$new-patients', { resourceType: 'Parameters' })).status).toBe(501);
    const events = (await system.get('AuditEvent?_count=200')).body.entry.map((e: any) => e.resource);
    expect(events.some((e: any) => e.subtype?.[0]?.code === 'report-new-patients')).toBe(true);
  });
});

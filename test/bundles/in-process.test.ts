import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeBundle } from '../../src/fhir/bundles/index.js';
import { FhirError } from '../../src/fhir/errors.js';
import type { RequestContext } from '../../src/fhir/request.js';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { bundleOf, countOf, medicationRequest, patient, post } from './support.js';

/** The API other adapters (HL7 v2) use: a Bundle executed in-process, through the same pipeline. */

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.destroy());

const context = (scopes: string[]): RequestContext => ({
  requestId: crypto.randomUUID(),
  baseUrl: server.fhirUrl,
  scopes,
  purposeOfUse: [],
  authenticated: true,
  clientId: 'hl7v2-adapter',
  source: 'test',
});

describe('executeBundle', () => {
  it('runs a transaction through the pipeline and returns the transaction-response', async () => {
    const response = await executeBundle(
      server.app.pipeline,
      bundleOf('transaction', [post(patient('urn:inproc', '1'), 'urn:uuid:3a3a3a3a-0000-4000-8000-000000000001'), post(medicationRequest('urn:uuid:3a3a3a3a-0000-4000-8000-000000000001'))]),
      context(['system/Patient.cu', 'system/MedicationRequest.c']),
      { preferReturn: 'minimal' },
    );
    expect(response.type).toBe('transaction-response');
    expect(response.entry!.map((e) => e.response!.status)).toEqual(['201 Created', '201 Created']);
    expect(response.entry![0].resource).toBeUndefined();
    expect(await countOf(fhirClient(server.fhirUrl), 'Patient', 'identifier=urn:inproc|1')).toBe(1);
  });

  it('authorizes every entry: a missing scope fails the transaction with 403, naming the entry, nothing stored', async () => {
    const attempt = executeBundle(
      server.app.pipeline,
      bundleOf('transaction', [post(patient('urn:inproc', '2')), post(medicationRequest('Patient/x'))]),
      context(['system/Patient.c']),
    );
    await expect(attempt).rejects.toBeInstanceOf(FhirError);
    const error = (await attempt.catch((e: unknown) => e)) as FhirError;
    expect(error.code).toBe('forbidden');
    expect(error.outcome.issue[0].expression).toEqual(['Bundle.entry[1]']);
    expect(await countOf(fhirClient(server.fhirUrl), 'Patient', 'identifier=urn:inproc|2')).toBe(0);
  });

  it('an unauthenticated context is refused', async () => {
    const attempt = executeBundle(server.app.pipeline, bundleOf('batch', []), { ...context(['system/*.*']), authenticated: false });
    await expect(attempt).rejects.toMatchObject({ code: 'unauthorized' });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { resourceTypesOf, SERVED_TYPES } from '../../src/fhir/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { authHeaders } from '../support/tokens.js';

let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

describe('GET /fhir/metadata', () => {
  it('returns an R4 CapabilityStatement describing the served types', async () => {
    const res = await fhir.get<CapabilityStatement>('metadata');
    expect(res.status).toBe(200);
    const cs = res.body;
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
    expect(cs.kind).toBe('instance');
    expect(cs.implementation?.url).toBe(server.fhirUrl);
    expect(cs.format).toContain('application/fhir+json');
    const resources = cs.rest![0].resource!;
    // Every concrete R4 resource type (issue 17), the core ones first.
    expect(resources.map((r) => r.type)).toEqual(resourceTypesOf(r4Definitions(), 'all'));
    expect(resources.map((r) => r.type).slice(0, Object.keys(SERVED_TYPES).length)).toEqual(Object.keys(SERVED_TYPES));
    expect(resources.length).toBeGreaterThan(140);
    for (const r of resources) {
      expect(r.profile).toBe(`http://hl7.org/fhir/StructureDefinition/${r.type}`);
      expect(r.versioning).toBe('versioned-update');
      expect(r.operation?.map((o) => o.name)).toContain('validate');
    }
  });

  it('lists exactly the interactions each type answers', async () => {
    const cs = (await fhir.get<CapabilityStatement>('metadata')).body;
    const audit = cs.rest![0].resource!.find((r) => r.type === 'AuditEvent')!;
    const codes = audit.interaction!.map((i) => i.code);
    expect(codes).toEqual(expect.arrayContaining(['read', 'vread', 'create', 'history-instance', 'history-type']));
    expect(codes).not.toContain('update');
    expect(codes).not.toContain('delete');
    // What it advertises, it does: AuditEvent update is refused, Patient update is not.
    expect((await fhir.put('AuditEvent/x', { resourceType: 'AuditEvent', id: 'x' })).status).toBe(405);
    const patient = cs.rest![0].resource!.find((r) => r.type === 'Patient')!;
    expect(patient.interaction!.map((i) => i.code)).toContain('update');
  });

  it('advertises the profiles shipped in profiles/', async () => {
    const cs = (await fhir.get<CapabilityStatement>('metadata')).body;
    // The core types have FhirGate's own profiles (or US Core's); the other R4 types are served on their base definitions.
    const core = cs.rest![0].resource!.filter((r) => r.type in SERVED_TYPES);
    for (const r of core) expect(r.supportedProfile?.length, r.type).toBeGreaterThan(0);
  });
});

describe('health', () => {
  it('/healthz and /readyz answer 200 while the store is open', async () => {
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });

  it('/readyz answers 503 once the store is closed', async () => {
    const other = await startServer();
    await other.app.store.close();
    const ready = await fetch(`${other.origin}/readyz`);
    expect(ready.status).toBe(503);
    const read = await fetch(`${other.fhirUrl}/Patient/x`, { headers: authHeaders(other.fhirUrl) });
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBeTruthy();
    await other.destroy().catch(() => undefined);
  });
});

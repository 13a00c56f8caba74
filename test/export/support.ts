import type { Resource } from '@medplum/fhirtypes';
import { expect } from 'vitest';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';

export const ASYNC = { Prefer: 'respond-async', Accept: 'application/fhir+json' };

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Array<{ type: string; url: string; count: number }>;
  error: Array<{ type: string; url: string; count: number }>;
}

/** Kicks off an export (GET, or POST with a Parameters body) and returns its status URL. */
export async function kickOff(fhir: FhirClient, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<string> {
  const res = body === undefined ? await fhir.get(path, { ...ASYNC, ...headers }) : await fhir.post(path, body, { ...ASYNC, ...headers });
  expect(res.status, res.text).toBe(202);
  const location = res.headers.get('Content-Location');
  expect(location).toMatch(/\/fhir\/\$export-status\/[0-9a-f-]{36}$/);
  return location!;
}

/** Polls a status URL as a client would (honouring 202 + Retry-After, capped) until it is no longer in progress. */
export async function poll(fhir: FhirClient, statusUrl: string, timeoutMs = 60_000): Promise<{ status: number; body: any; headers: Headers }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fhir.get(statusUrl);
    if (res.status !== 202) return res;
    expect(res.headers.get('X-Progress')).toBeTruthy();
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
    if (Date.now() > deadline) throw new Error(`export still in progress after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Kick-off, poll, and the complete manifest. */
export async function exportAll(fhir: FhirClient, path: string, body?: unknown): Promise<{ statusUrl: string; manifest: Manifest }> {
  const statusUrl = await kickOff(fhir, path, body);
  const res = await poll(fhir, statusUrl);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { statusUrl, manifest: res.body as Manifest };
}

/** Downloads one file with a token; the resources of its ndjson lines. */
export async function download(url: string, token: string): Promise<Resource[]> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+ndjson' } });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get('Content-Type')).toMatch(/^application\/fhir\+ndjson/);
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Resource);
}

/** Every exported resource, as `Type/id`, over the manifest's output files. */
export async function exported(manifest: Manifest, token: string): Promise<string[]> {
  const out: string[] = [];
  for (const file of manifest.output) {
    const resources = await download(file.url, token);
    expect(resources.length).toBe(file.count);
    for (const r of resources) {
      expect(r.resourceType).toBe(file.type);
      out.push(`${r.resourceType}/${r.id}`);
    }
  }
  return out.sort();
}

export const clientWith = (fhirUrl: string, token: string): FhirClient => fhirClient(fhirUrl, { token });

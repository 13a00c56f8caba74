import type { Resource } from '@medplum/fhirtypes';
import { generatePatientRecords, generatePractitioner, practitionerCount } from '../lib/generate.js';

/** Where the FhirGate under test listens, and the `Authorization` header its requests carry. */
export interface FhirApi {
  origin: string;
  authorization: string;
}

export interface LoadResult {
  /** How the resources went in: single PUTs, or transaction Bundles. */
  method: string;
  byType: Record<string, number>;
  resources: number;
  seconds: number;
  /** Writes sent a second time after a network error (not an HTTP error): idempotent PUTs, so safe, but counted. */
  retries: number;
}

const FHIR_JSON = 'application/fhir+json';
/** Concurrent single writes: creates are fsync-bound, and group commit needs many in flight to batch them. */
const SINGLE_CONNECTIONS = 64;
const BUNDLE_CONNECTIONS = 8;
const BUNDLE_ENTRIES = 100;
const PROGRESS_MS = 15_000;

/**
 * Loads patients [from, to) of the seeded data set, with their resources and the practitioners
 * they need, through the real HTTP API. Every resource is written with its generated id
 * (`PUT /fhir/{type}/{id}`, update as create), so references are known before anything is
 * stored. Uses `POST /fhir` transaction Bundles when the server has that endpoint, else single
 * PUTs on 64 connections. Fails on the first answer that is not 200/201; a network error (reset
 * connection) is retried once, since the writes are idempotent, and counted.
 */
export async function loadPatients(api: FhirApi, seed: number, from: number, to: number, log: (message: string) => void): Promise<LoadResult> {
  const bundles = await hasTransactionEndpoint(api);
  const method = bundles
    ? `transaction Bundles of ${BUNDLE_ENTRIES} PUT entries (\`POST /fhir\`), ${BUNDLE_CONNECTIONS} connections`
    : `single \`PUT /fhir/{type}/{id}\` (update as create), ${SINGLE_CONNECTIONS} connections`;
  log(`loading patients ${from}–${to - 1} with their resources: ${method}`);
  const byType: Record<string, number> = {};
  const counted = function* (): Iterable<Resource> {
    for (const resource of resourcesOf(seed, from, to)) {
      byType[resource.resourceType] = (byType[resource.resourceType] ?? 0) + 1;
      yield resource;
    }
  };
  const started = performance.now();
  let written = 0;
  const network = { retries: 0 };
  const progress = setInterval(() => log(`  ${written} resources written, ${Math.round(written / ((performance.now() - started) / 1000))}/s`), PROGRESS_MS);
  try {
    if (bundles) {
      await pool(chunks(counted(), BUNDLE_ENTRIES), BUNDLE_CONNECTIONS, async (chunk) => {
        await putTransaction(api, chunk, network);
        written += chunk.length;
      });
    } else {
      await pool(counted(), SINGLE_CONNECTIONS, async (resource) => {
        await putResource(api, resource, network);
        written++;
      });
    }
  } finally {
    clearInterval(progress);
  }
  const seconds = (performance.now() - started) / 1000;
  return { method, byType, resources: written, seconds, retries: network.retries };
}

/** The practitioners the new patients need (those before `from` are in already), then each patient with its resources. */
function* resourcesOf(seed: number, from: number, to: number): Iterable<Resource> {
  for (let p = practitionerCount(from); p < practitionerCount(to); p++) yield generatePractitioner(seed, p);
  for (let i = from; i < to; i++) {
    const records = generatePatientRecords(seed, i);
    yield records.patient;
    yield* records.medicationRequests;
    yield* records.medicationDispenses;
    yield* records.appointments;
  }
}

/** An empty transaction answers 200 where `POST /fhir` exists (http.html#transaction); 404/405 where it does not yet. */
async function hasTransactionEndpoint(api: FhirApi): Promise<boolean> {
  const res = await fetch(`${api.origin}/fhir`, {
    method: 'POST',
    headers: headers(api),
    body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [] }),
  });
  await res.arrayBuffer();
  return res.status === 200;
}

async function putResource(api: FhirApi, resource: Resource, network: { retries: number }): Promise<void> {
  const path = `/fhir/${resource.resourceType}/${resource.id}`;
  const { status, text } = await send(`PUT ${path}`, api.origin + path, { method: 'PUT', headers: headers(api), body: JSON.stringify(resource) }, network);
  if (status !== 201 && status !== 200) throw new Error(`loading: PUT ${path} answered ${status}: ${text.slice(0, 2_000)}`);
}

async function putTransaction(api: FhirApi, resources: Resource[], network: { retries: number }): Promise<void> {
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({
      fullUrl: `${api.origin}/fhir/${resource.resourceType}/${resource.id}`,
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
  const first = `${resources[0].resourceType}/${resources[0].id}`;
  const { status, text } = await send(`transaction starting at ${first}`, `${api.origin}/fhir`, { method: 'POST', headers: headers(api), body: JSON.stringify(bundle) }, network);
  if (status !== 200) throw new Error(`loading: transaction starting at ${first} answered ${status}: ${text.slice(0, 2_000)}`);
  const entries = (JSON.parse(text) as { entry?: Array<{ response?: { status?: string } }> }).entry ?? [];
  const failed = entries.find((e) => !/^20[01]\b/.test(e.response?.status ?? ''));
  if (entries.length !== resources.length || failed) {
    throw new Error(`loading: transaction starting at ${first} answered ${entries.length} entries for ${resources.length}${failed ? `, one with status '${failed.response?.status}'` : ''}`);
  }
}

/**
 * fetch, once more after a network error, and with that error's cause in the message when the
 * second attempt fails too (undici says only "fetch failed").
 */
async function send(what: string, url: string, init: RequestInit, network: { retries: number }): Promise<{ status: number; text: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(url, init);
      return { status: res.status, text: await res.text() };
    } catch (err) {
      if (attempt < 2) {
        network.retries++;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`loading: ${what}: ${(err as Error).message}${cause ? ` (${[cause.code, cause.message].filter(Boolean).join(': ')})` : ''}`, { cause: err });
    }
  }
}

function headers(api: FhirApi): Record<string, string> {
  return { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: api.authorization, Prefer: 'return=minimal' };
}

function* chunks<T>(items: Iterable<T>, size: number): Iterable<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Runs `task` over the items with `concurrency` workers; the first failure stops all of them and is thrown. */
async function pool<T>(items: Iterable<T>, concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined) {
      const next = iterator.next();
      if (next.done) return;
      try {
        await task(next.value);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw failure;
}

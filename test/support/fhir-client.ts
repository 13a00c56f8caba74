import type { Resource } from '@medplum/fhirtypes';
import { defaultToken } from './tokens.js';

export interface FhirResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * A thin FHIR-over-HTTP client for tests: real HTTP, JSON in and out, nothing mocked.
 * It carries a real signed access token: by default the full-access one of the server the test
 * support started (`system/*.*`), or `token` (a minted one, or `false` for none).
 */
export function fhirClient(fhirUrl: string, clientOptions: { token?: string | false } = {}) {
  const token = clientOptions.token === undefined ? defaultToken(fhirUrl) : clientOptions.token || undefined;
  async function request<T = any>(method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<FhirResponse<T>> {
    const headers: Record<string, string> = { Accept: 'application/fhir+json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...options.headers };
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] ??= 'application/fhir+json';
    }
    const url = /^https?:\/\//.test(path) ? path : `${fhirUrl}/${path.replace(/^\//, '')}`;
    const res = await fetch(url, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }
  return {
    request,
    get: <T = any>(path: string, headers?: Record<string, string>) => request<T>('GET', path, { headers }),
    post: <T = any>(path: string, body: unknown, headers?: Record<string, string>) => request<T>('POST', path, { body, headers }),
    put: <T = any>(path: string, body: unknown, headers?: Record<string, string>) => request<T>('PUT', path, { body, headers }),
    delete: <T = any>(path: string, headers?: Record<string, string>) => request<T>('DELETE', path, { headers }),
    /** Creates a resource and returns it as stored. */
    async create<T extends Resource>(resource: T): Promise<T> {
      const res = await request<T>('POST', resource.resourceType, { body: resource });
      if (res.status !== 201) throw new Error(`create ${resource.resourceType} failed: ${res.status} ${res.text}`);
      return res.body;
    },
  };
}

export type FhirClient = ReturnType<typeof fhirClient>;

/** The stable FhirGate error code of an OperationOutcome (issue[0].details.coding[0].code). */
export function errorCode(outcome: any): string | undefined {
  return outcome?.issue?.[0]?.details?.coding?.[0]?.code;
}

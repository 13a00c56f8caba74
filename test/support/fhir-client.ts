import type { Resource } from '@medplum/fhirtypes';

export interface FhirResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A thin FHIR-over-HTTP client for tests: real HTTP, JSON in and out, nothing mocked. */
export function fhirClient(fhirUrl: string) {
  async function request<T = any>(method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<FhirResponse<T>> {
    const headers: Record<string, string> = { Accept: 'application/fhir+json', ...options.headers };
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] ??= 'application/fhir+json';
    }
    const res = await fetch(`${fhirUrl}/${path.replace(/^\//, '')}`, { method, headers, body });
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

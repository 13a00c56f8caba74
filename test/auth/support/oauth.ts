import { createHash, randomBytes } from 'node:crypto';
import type { TestServer } from '../../support/server.js';

/** Calls the embedded server's admin API with an admin token. */
export async function adminApi(server: TestServer, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const token = await server.token({ role: 'admin', scope: 'openid', fhirUser: 'Practitioner/admin' });
  const res = await fetch(`${server.origin}/auth${path}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: res.status === 204 ? undefined : await res.json() };
}

/** An authorization request with PKCE (S256), as any SMART app makes it. */
export function authorizationRequest(server: TestServer, clientId: string, redirectUri: string, scope: string): { url: string; verifier: string } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state: 'st', aud: server.fhirUrl, code_challenge: challenge, code_challenge_method: 'S256' });
  return { url: `${server.origin}/auth/authorize?${query}`, verifier };
}

/** A token request of a public client (authorization code or refresh token). */
export async function tokenRequest(server: TestServer, params: Record<string, string>): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${server.origin}/auth/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

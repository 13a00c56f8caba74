import { importJWK, SignJWT, type JWK } from 'jose';

/**
 * A SMART Backend Services token request (client credentials with a `private_key_jwt` assertion),
 * as a backend client would make it; used by `npm run auth -- token`.
 */
export async function requestToken(input: { tokenEndpoint: string; clientId: string; privateJwk: JWK; scope: string }): Promise<Record<string, unknown>> {
  const alg = input.privateJwk.alg ?? 'RS384';
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg, kid: input.privateJwk.kid, typ: 'JWT' })
    .setIssuer(input.clientId)
    .setSubject(input.clientId)
    .setAudience(input.tokenEndpoint)
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(await importJWK(input.privateJwk, alg));
  const res = await fetch(input.tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: input.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`token request failed (${res.status}): ${String(body.error)} ${String(body.error_description ?? '')}`);
  return body;
}

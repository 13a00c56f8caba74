// SMART App Launch for a public browser app (app-launch.html): authorization code with PKCE (S256),
// the token kept in this tab's sessionStorage, refreshed shortly before it expires. fhirclient does
// the same, but its browser bundle is ~100 kB for what is these few lines.

/**
 * @param {{ config: { clientId: string, fhirBaseUrl: string, redirectUri: string }, smart: Record<string, any>, scope: string, key: string }} options
 */
export function smartAuth({ config, smart, scope, key }) {
  const KEY = key;
  const SCOPE = scope;
  const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
  const saved = () => JSON.parse(sessionStorage.getItem(KEY) || '{}');
  const save = (value) => sessionStorage.setItem(KEY, JSON.stringify(value));

  async function signIn() {
    const verifier = random();
    const state = random();
    const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    save({ verifier, state });
    const query = new URLSearchParams({ response_type: 'code', client_id: config.clientId, redirect_uri: config.redirectUri, scope: SCOPE, state, aud: config.fhirBaseUrl, code_challenge: challenge, code_challenge_method: 'S256' });
    location.assign(`${smart.authorization_endpoint}?${query}`);
  }

  async function tokenRequest(params) {
    const res = await fetch(smart.token_endpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: config.clientId, ...params }) });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error_description || body.error || `sign-in failed (${res.status})`);
    return { ...body, expires_at: Date.now() / 1000 + (body.expires_in || 300) };
  }

  /** The current token: from the redirect back (code), from this tab's session, refreshed when about to expire. */
  async function session() {
    const query = new URLSearchParams(location.search);
    const state = saved();
    if (query.has('code') || query.has('error')) {
      history.replaceState(null, '', location.pathname);
      if (query.get('error')) throw new Error(query.get('error_description') || query.get('error'));
      if (query.get('state') !== state.state) throw new Error('The sign-in answer does not match this tab; sign in again.');
      const token = await tokenRequest({ grant_type: 'authorization_code', code: query.get('code'), redirect_uri: config.redirectUri, code_verifier: state.verifier });
      save({ token });
      return token;
    }
    let token = state.token;
    if (token && token.expires_at - 30 < Date.now() / 1000) {
      token = token.refresh_token ? await tokenRequest({ grant_type: 'refresh_token', refresh_token: token.refresh_token }).catch(() => undefined) : undefined;
      save(token ? { token } : {});
    }
    return token;
  }

  return { signIn, session, forget: () => sessionStorage.removeItem(KEY) };
}

/** The fhirUser claim of the ID token (openid fhirUser): whose account this is. */
export function fhirUserOf(token) {
  try {
    const payload = token.id_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).fhirUser;
  } catch {
    return undefined;
  }
}


/**
 * The endpoints a rest-hook Subscription may name (SUBSCRIPTION_ENDPOINTS). The server POSTs to
 * whatever a subscriber writes there, so without a list any user could make it reach internal
 * addresses (server-side request forgery): the list is checked when a Subscription is written and
 * again before every delivery, and an empty list allows none.
 */
export interface EndpointRule {
  protocol: 'http:' | 'https:';
  hostname: string;
  /** A port, or `*` for any; an entry without a port means the scheme's default port. */
  port: string;
  /** Path prefix, always ending in `/`. */
  path: string;
}

const ENTRY = /^(https?):\/\/([^/:]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}|\*))?(\/.*)?$/;

/** Parses `https://hooks.example.org/fhir/,http://127.0.0.1:*` into rules; throws with the offending entry. */
export function parseEndpointRules(setting: string): EndpointRule[] {
  return setting
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = ENTRY.exec(entry);
      if (!m) throw new Error(`'${entry}' is not an http(s) origin, optionally with :port, :* and a path`);
      const protocol = `${m[1]}:` as EndpointRule['protocol'];
      const path = m[4] ?? '/';
      // The WHATWG URL leaves the scheme's default port empty; so does the rule.
      const port = m[3] === (protocol === 'https:' ? '443' : '80') ? '' : (m[3] ?? '');
      return { protocol, hostname: m[2].toLowerCase(), port, path: path.endsWith('/') ? path : `${path}/` };
    });
}

/**
 * Whether `endpoint` is an absolute http(s) URL allowed by one of the rules. Compared on the parsed
 * URL (WHATWG), so `https://allowed.example@evil.example/` or `https://allowed.example.evil.example/`
 * are judged by their real host, and credentials in the URL are refused outright.
 */
export function endpointAllowed(endpoint: string, rules: readonly EndpointRule[]): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return false;
  const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return rules.some(
    (r) => r.protocol === url.protocol && r.hostname === url.hostname.toLowerCase() && (r.port === '*' || r.port === url.port) && path.startsWith(r.path),
  );
}

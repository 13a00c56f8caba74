/**
 * A minimal user agent for the login pages: keeps cookies, follows redirects by hand, and stops at
 * the application's redirect URI (the app, not served here, would take over there).
 */
export function browser(stopAt: string) {
  const jar = new Map<string, string>();
  const cookieHeader = (): string => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res: Response): void => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1)];
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  };

  /** Follows redirects until an HTML page (returned) or the app's redirect URI (returned as `callback`). */
  async function go(url: string, init: RequestInit = {}): Promise<{ url: string; status: number; html: string; callback?: URL }> {
    let current = url;
    let request: RequestInit = init;
    for (let hops = 0; hops < 20; hops++) {
      if (current.startsWith(stopAt)) return { url: current, status: 302, html: '', callback: new URL(current) };
      const res = await fetch(current, { ...request, redirect: 'manual', headers: { ...(request.headers as Record<string, string>), cookie: cookieHeader() } });
      remember(res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        current = new URL(location, current).href;
        request = {};
        continue;
      }
      return { url: current, status: res.status, html: await res.text() };
    }
    throw new Error('too many redirects');
  }

  return {
    go,
    /** Submits the page's form (its `action`) with fields, as a browser would. */
    submit(page: { url: string; html: string }, fields: Record<string, string>, formIndex = 0) {
      const actions = [...page.html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
      if (!actions[formIndex]) throw new Error(`no form on ${page.url}: ${page.html.slice(0, 500)}`);
      return go(new URL(actions[formIndex], page.url).href, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
    },
  };
}

import path from 'node:path';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { ClientStore } from './clients.js';
import { JsonFile } from './json-file.js';

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; absent = no expiry. */
  expiresAt?: number;
}

/**
 * oidc-provider's storage (sessions, grants, codes, refresh tokens, interactions), kept in memory and
 * written to `<authDir>/oidc-state.json` after each change, so refresh tokens and sessions survive a
 * restart. Clients come from the client store that admins manage (CLI and API).
 */
/** An authorization a user gave an app (an oidc-provider Grant), as the account API lists it. */
export interface GrantSummary {
  grantId: string;
  clientId: string;
  /** Every scope granted: OpenID ones and those for the FHIR server. */
  scopes: string[];
  /** Epoch seconds. */
  grantedAt?: number;
  expiresAt?: number;
}

export interface OidcAdapter {
  factory: (model: string) => Adapter;
  flush(): void;
  /** The grants of an account (its connected apps). */
  grantsOf(accountId: string): GrantSummary[];
  /** Removes a grant with every code, token and refresh token issued under it; false when unknown. */
  revokeGrant(grantId: string): boolean;
}

export function createOidcAdapter(authDir: string, clients: ClientStore): OidcAdapter {
  const file = new JsonFile<Record<string, Entry>>(path.join(authDir, 'oidc-state.json'), () => ({}));
  const entries = new Map<string, Entry>(Object.entries(file.read()));
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const now = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt !== undefined && entry.expiresAt <= now) entries.delete(key);
    file.write(Object.fromEntries(entries));
  };
  // Coalesce the several writes of one authorization step into one file write.
  const changed = (): void => {
    timer ??= setTimeout(flush, 20);
    timer.unref();
  };
  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  const factory = (model: string): Adapter => {
    const key = (id: string): string => `${model}:${id}`;
    if (model === 'Client') {
      return {
        find: async (id) => clients.metadata(id),
        upsert: async () => {
          throw new Error('clients are registered through the FhirGate client store');
        },
        findByUid: async () => undefined,
        findByUserCode: async () => undefined,
        consume: async () => {},
        destroy: async () => {},
        revokeByGrantId: async () => {},
      };
    }
    return {
      async upsert(id, payload, expiresIn) {
        entries.set(key(id), { payload, ...(expiresIn ? { expiresAt: Date.now() + expiresIn * 1000 } : {}) });
        if (model === 'Session' && payload.uid) entries.set(`SessionUid:${payload.uid}`, { payload: { id } as AdapterPayload, ...(expiresIn ? { expiresAt: Date.now() + expiresIn * 1000 } : {}) });
        changed();
      },
      find: async (id) => live(key(id))?.payload,
      async findByUid(uid) {
        const pointer = live(`SessionUid:${uid}`)?.payload as { id?: string } | undefined;
        return pointer?.id ? live(key(pointer.id))?.payload : undefined;
      },
      findByUserCode: async () => undefined,
      async consume(id) {
        const entry = live(key(id));
        if (entry) entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
        changed();
      },
      async destroy(id) {
        entries.delete(key(id));
        changed();
      },
      async revokeByGrantId(grantId) {
        for (const [k, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(k);
        changed();
      },
    };
  };
  const grantsOf = (accountId: string): GrantSummary[] =>
    [...entries.keys()]
      .filter((k) => k.startsWith('Grant:'))
      .flatMap((k) => {
        const p = live(k)?.payload as (AdapterPayload & { openid?: { scope?: string }; resources?: Record<string, string> }) | undefined;
        if (!p || p.accountId !== accountId || !p.clientId) return [];
        const scopes = [p.openid?.scope, ...Object.values(p.resources ?? {})].flatMap((s) => (s ? s.split(' ') : []));
        return [{ grantId: k.slice('Grant:'.length), clientId: p.clientId, scopes: [...new Set(scopes)], ...(p.iat ? { grantedAt: p.iat } : {}), ...(p.exp ? { expiresAt: p.exp } : {}) }];
      });
  const revokeGrant = (grantId: string): boolean => {
    const had = entries.delete(`Grant:${grantId}`);
    for (const [k, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(k);
    flush();
    return had;
  };
  return { factory, flush, grantsOf, revokeGrant };
}

import path from 'node:path';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../bearer.js';
import { JsonFile } from './json-file.js';

/**
 * Grants revoked at the embedded authorization server (token revocation of a refresh token, a
 * grant ended by the user), kept in `<authDir>/revoked-grants.json` for as long as any access token
 * of theirs could still be valid. The resource server refuses a token whose `grant_id` is listed,
 * so a revocation takes effect on the next request rather than when the JWT expires (issue 15).
 */
export function createRevokedGrants(authDir: string, clock: () => Date = () => new Date()) {
  const file = new JsonFile<Record<string, number>>(path.join(authDir, 'revoked-grants.json'), () => ({}));
  return {
    revoke(grantId: string): void {
      const now = clock().getTime();
      file.update((all) => {
        for (const [id, at] of Object.entries(all)) if (now - at > MAX_TOKEN_LIFETIME_SECONDS * 1000) delete all[id];
        all[grantId] = now;
      });
    },
    isRevoked: (grantId: string): boolean => Object.hasOwn(file.read(), grantId),
  };
}

export type RevokedGrants = ReturnType<typeof createRevokedGrants>;

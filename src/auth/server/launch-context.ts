import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { JsonFile } from './json-file.js';

/** SMART launch context bound to a grant: what the tokens of that grant carry as `patient`. */
export interface LaunchContext {
  patient?: string;
}

const LAUNCH_TTL_MS = 10 * 60_000;

/**
 * EHR launches and the context of each grant. An EHR creates a launch (`POST /auth/launch` with the
 * patient in view) and passes its opaque id as `launch`; the authorization binds the resolved context
 * to the grant, kept in `<authDir>/launch-contexts.json` so refresh tokens keep their patient.
 */
export function createLaunchContexts(authDir: string) {
  const launches = new Map<string, { context: LaunchContext; expiresAt: number }>();
  const grants = new JsonFile<Record<string, LaunchContext>>(path.join(authDir, 'launch-contexts.json'), () => ({}));
  return {
    /** A new EHR launch id for `context`, valid for ten minutes. */
    createLaunch(context: LaunchContext): string {
      const id = randomBytes(18).toString('base64url');
      launches.set(id, { context, expiresAt: Date.now() + LAUNCH_TTL_MS });
      return id;
    },
    resolveLaunch(id: string): LaunchContext | undefined {
      const launch = launches.get(id);
      if (!launch || launch.expiresAt < Date.now()) return undefined;
      return launch.context;
    },
    bind(grantId: string, context: LaunchContext): void {
      grants.update((all) => {
        all[grantId] = context;
      });
    },
    ofGrant: (grantId: string): LaunchContext | undefined => grants.read()[grantId],
  };
}

export type LaunchContexts = ReturnType<typeof createLaunchContexts>;

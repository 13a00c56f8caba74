import { embeddedIssuer, mintToken } from '../../test/support/tokens.js';
import type { ProcessGroup, Service } from './processes.js';
import { fhirGateCommand } from './server-command.js';

export interface FhirGateUnderTest {
  service: Service;
  dataDir: string;
  /** `Bearer …` of a backend-service token (system/*.*) signed with the embedded authorization server's key. */
  authorization: string;
}

/**
 * Starts FhirGate exactly as users do (`npm start`, see server-command.ts) in a fresh DATA_DIR (or the given one, to restart over existing data) and
 * mints a backend-service token as the tests mint theirs, so every benchmarked request goes through
 * the real token verification.
 */
export async function startFhirGate(processes: ProcessGroup, options: { clientId: string; name?: string; env?: Record<string, string>; dataDir?: string }): Promise<FhirGateUnderTest> {
  const dataDir = options.dataDir ?? (await processes.tempDir('fhirgate-bench-'));
  const command = await fhirGateCommand();
  const service = await processes.start({
    name: options.name ?? 'FhirGate',
    args: command.args,
    env: { ...command.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...options.env },
    envForPort: (port) => ({ PUBLIC_URL: `http://127.0.0.1:${port}` }),
    readyPath: '/readyz',
  });
  const token = await mintToken(embeddedIssuer(dataDir, service.origin), { clientId: options.clientId, expiresIn: 24 * 3600 });
  return { service, dataDir, authorization: `Bearer ${token}` };
}

/**
 * Two FhirGates started together for a ratio cell, the same but for the settings of each variant
 * (the workflow rules on and off, encryption on and off): each in its own DATA_DIR, embedded store,
 * generated key ring, so only the variants' settings differ.
 */
export async function startPair<K extends string>(
  processes: ProcessGroup,
  options: { name: string; clientId: string; env?: Record<string, string>; variants: Record<K, Record<string, string>> },
): Promise<Record<K, FhirGateUnderTest>> {
  const base = { FHIRGATE_KEYS: '', FHIRGATE_KEYS_FILE: '', MONGODB_URI: '', ...options.env };
  const names = Object.keys(options.variants) as K[];
  const gates = await Promise.all(names.map((variant) => startFhirGate(processes, { name: `${options.name} ${variant}`, clientId: options.clientId, env: { ...base, ...options.variants[variant] } })));
  return Object.fromEntries(names.map((variant, i) => [variant, gates[i]])) as Record<K, FhirGateUnderTest>;
}

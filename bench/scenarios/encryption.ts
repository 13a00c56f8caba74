import os from 'node:os';
import type autocannon from 'autocannon';
import type { Resource } from '@medplum/fhirtypes';
import jose from 'node-jose';
import { createSensitiveElements, DEFAULT_ENCRYPTED_ELEMENTS } from '../../src/crypto/elements.js';
import { createJweCodec } from '../../src/crypto/jwe-codec.js';
import { buildKeyRing, generateJwkSet } from '../../src/crypto/key-ring.js';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { createLogger } from '../../src/logger.js';
import { startPair } from '../lib/fhirgate.js';
import { benchPatient, benchPatientJson } from '../fixtures/patient.js';
import { measure, type Measurement } from '../lib/load.js';
import type { Service } from '../lib/processes.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { fixed, markdownTable } from '../lib/table.js';
import { serverDescription } from '../lib/server-command.js';

/**
 * Issue 9: what encryption at rest costs. The same FhirGate twice, encryption on (the default
 * sensitive elements: the bench Patient's telecom, address and contact become one JWE per version,
 * its telecom and identifier parameters a blind index) and off (FHIRGATE_ENCRYPTED_ELEMENTS={}),
 * read and create by id, back to back per cell; plus the per-operation cost of the codec in-process.
 */

const CONNECTIONS = [1, 16];
const FHIR_JSON = 'application/fhir+json';
const SETTLE_MS = 500;

interface Target {
  name: string;
  service: Service;
  authorization: string;
  ids: string[];
}

export const encryption: Scenario = {
  name: 'encryption',
  description: 'read and create of a Patient with encryption at rest on vs off, as an overhead ratio; codec cost per operation',
  async run(context) {
    const { settings, processes, log } = context;
    log('starting FhirGate with encryption on and off');
    const gates = await startPair(processes, { name: 'encryption', clientId: 'bench-encryption', variants: { on: { FHIRGATE_ENCRYPTED_ELEMENTS: '' }, off: { FHIRGATE_ENCRYPTED_ELEMENTS: '{}' } } });
    const [on, off] = (['on', 'off'] as const).map((variant): Target => ({ name: `encryption ${variant}`, service: gates[variant].service, authorization: gates[variant].authorization, ids: [] }));
    const seed = settings.quick ? 200 : 1_000;
    for (const target of [on, off]) {
      log(`${target.name}: creating ${seed} patients to read`);
      target.ids = await seedPatients(target, seed);
    }
    for (const target of [on, off]) for (const shape of ['read', 'create'] as const) await cell(context, target, shape, 16, settings.warmupSeconds, 'warm-up ');

    const rows: string[][] = [];
    for (const shape of ['read', 'create'] as const) {
      for (const connections of CONNECTIONS) {
        const withEncryption = await cell(context, on, shape, connections, settings.seconds);
        const without = await cell(context, off, shape, connections, settings.seconds);
        rows.push(row(shape, connections, withEncryption, without));
      }
    }
    log('measuring the codec in-process');
    const codec = await codecCosts(settings.quick ? 2_000 : 20_000);
    return { title: 'Encryption at rest: overhead on read and create', body: [table(rows), '', codecTable(codec), '', notes(seed)].join('\n') };
  },
};

async function seedPatients(target: Target, count: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = next++;
      const res = await fetch(`${target.service.origin}/fhir/Patient`, {
        method: 'POST',
        headers: { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: target.authorization },
        body: benchPatientJson(`ENC-SEED-${n}`),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`seeding ${target.name}: ${res.status} ${text.slice(0, 1_000)}`);
      ids.push((JSON.parse(text) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return ids;
}

let runs = 0;

function request(target: Target, shape: 'read' | 'create'): autocannon.Request {
  const headers = { Accept: FHIR_JSON, Authorization: target.authorization };
  let next = 0;
  if (shape === 'read') {
    return {
      method: 'GET',
      path: `/fhir/Patient/${target.ids[0]}`,
      headers,
      setupRequest: (r) => Object.assign(r, { path: `/fhir/Patient/${target.ids[next++ % target.ids.length]}` }),
    };
  }
  const run = runs++;
  return {
    method: 'POST',
    path: '/fhir/Patient',
    headers: { ...headers, 'Content-Type': FHIR_JSON },
    body: benchPatientJson(`ENC-${run}-0`),
    setupRequest: (r) => Object.assign(r, { body: benchPatientJson(`ENC-${run}-${next++}`) }),
  };
}

async function cell(context: ScenarioContext, target: Target, shape: 'read' | 'create', connections: number, seconds: number, phase = ''): Promise<Measurement> {
  const label = `${phase}${target.name} ${shape} @${connections}`;
  const result = await measure({ origin: target.service.origin, connections, seconds, request: request(target, shape), label });
  target.service.assertAlive();
  context.log(`${label}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${fixed(result.p50, 2)} ms, p99 ${fixed(result.p99, 2)} ms`);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return result;
}

function row(shape: string, connections: number, on: Measurement, off: Measurement): string[] {
  const side = (m: Measurement): string[] => [String(Math.round(m.requestsPerSecond)), fixed(m.p50, 2), fixed(m.p99, 2)];
  const ratio = on.requestsPerSecond / off.requestsPerSecond;
  return [shape, String(connections), ...side(on), ...side(off), `${fixed(ratio, 2)}×`, `${fixed((1 - ratio) * 100, 0)}%`];
}

function table(rows: string[][]): string {
  const right = (header: string) => ({ header, align: 'right' as const });
  return markdownTable(
    [
      { header: 'Interaction' },
      right('Connections'),
      right('On req/s'),
      right('p50 ms'),
      right('p99 ms'),
      right('Off req/s'),
      right('p50 ms'),
      right('p99 ms'),
      right('On / off'),
      right('Overhead'),
    ],
    rows,
  );
}

interface CodecCost {
  what: string;
  microseconds: number;
}

async function timeIt(n: number, op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(500, n); i++) await op();
  const started = performance.now();
  for (let i = 0; i < n; i++) await op();
  return ((performance.now() - started) * 1000) / n;
}

/** Microseconds per operation, one at a time on one core: the codec and node-jose underneath it, per key management. */
async function codecCosts(n: number): Promise<CodecCost[]> {
  const definitions = r4Definitions();
  const { elements } = createSensitiveElements(DEFAULT_ENCRYPTED_ELEMENTS, (t) => definitions.structureDefinitions.get(t));
  const patient = { ...benchPatient('COST-1'), id: 'cost', meta: { versionId: '1' } } as Resource;
  const payload = Buffer.from(JSON.stringify({ telecom: (patient as { telecom?: unknown }).telecom }));
  const costs: CodecCost[] = [];
  // A256KW: the at-rest default before issue 14 (one key unwrap per read); dir: the default since.
  for (const alg of ['A256KW', 'dir'] as const) {
    const set = await generateJwkSet();
    set.keys[0] = { ...set.keys[0], alg };
    const ring = { current: await buildKeyRing(set, 'bench') };
    const codec = createJweCodec({ ring, elements, logger: createLogger('silent') });
    const stored = await codec.encode(patient);
    const { key, kid } = ring.current.atRest;
    const decrypter = ring.current.atRestDecrypters.get(kid)!;
    const jwe = await jose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM' }, key).update(payload).final();
    costs.push(
      { what: `${alg}: \`encode\` of the bench Patient (select, redact, one JWE)`, microseconds: await timeIt(n, () => codec.encode(patient)) },
      { what: `${alg}: \`decode\` of the bench Patient (one decryption, restore)`, microseconds: await timeIt(n, () => codec.decode(stored)) },
      { what: `${alg}: node-jose compact JWE encrypt alone (~150 B payload)`, microseconds: await timeIt(n, () => jose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM' }, key).update(payload).final()) },
      { what: `${alg}: node-jose compact JWE decrypt alone`, microseconds: await timeIt(n, () => decrypter.decrypt(jwe)) },
    );
  }
  return costs;
}

function codecTable(costs: CodecCost[]): string {
  const decode = (alg: string): number | undefined => costs.find((c) => c.what.startsWith(`${alg}: \`decode\``))?.microseconds;
  const before = decode('A256KW');
  const after = decode('dir');
  const table = markdownTable(
    [{ header: 'In-process operation' }, { header: 'µs per operation', align: 'right' }],
    costs.map((c) => [c.what, fixed(c.microseconds, 1)]),
  );
  if (before === undefined || after === undefined) return table;
  return `${table}\n\nDecode of the bench Patient: ${fixed(before, 1)} µs with A256KW (the default before issue 14), ${fixed(after, 1)} µs with \`dir\` (the default since): ${fixed(before / after, 1)}× cheaper.`;
}

function notes(seed: number): string {
  const lines = [
    '## What was measured',
    '',
    '- **read**: `GET /fhir/Patient/{id}`, rotating through the pre-created patients; with encryption on, each read decrypts one JWE.',
    '- **create**: `POST /fhir/Patient` with the ~1.3 KB registration Patient of `bench/fixtures/patient.ts` (MRN, two phone/email contact points, an address, a next-of-kin contact); with encryption on, each create makes one JWE (telecom, address, contact) and HMAC tokens for the telecom, phone, email, address* and identifier parameters.',
    `- Both servers: ${serverDescription()}, embedded store in a fresh temp \`DATA_DIR\`, \`LOG_LEVEL=warn\`, ${seed} patients created before measuring. Encryption off is \`FHIRGATE_ENCRYPTED_ELEMENTS={}\` (key ring loaded, nothing selected).`,
    '- Cells with and without encryption run back to back; **On / off** is the throughput ratio, **Overhead** the throughput lost.',
    '- The in-process table times one operation at a time (warmed up), so it shows CPU cost, not throughput under concurrency.',
  ];
  if (os.cpus().length <= 4) {
    lines.push(`- This machine has ${os.cpus().length} cores shared by the load generator and both servers, so absolute numbers are low; the ratios are the point.`);
  }
  return lines.join('\n');
}

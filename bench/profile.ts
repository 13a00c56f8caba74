/**
 * `npx tsx bench/profile.ts <read|create|adt|rde|dispense|booking|search> [connections] [seconds]`:
 * a CPU profile of FhirGate under one load shape (issue 14, issue 19 item 8; dispense and booking:
 * the writes of the workflow scenario, issue 17, with PROFILE_ENV='{"FHIR_WORKFLOW_RULES":"false"}'
 * for the rules off; search: issue 13). Starts FhirGate with `node --cpu-prof`, as the
 * benchmarks start it, seeds what the shape needs, warms up, measures, stops the server (which
 * writes the profile) and prints where the CPU went: self time by function and by source file,
 * and the share of the garbage collector and of idle time.
 *
 * PROFILE_ENV='{"AUDIT_SINK":"log"}' adds environment to the server; PROFILE_DIR keeps the
 * `.cpuprofile` (default: a temp folder), to open in Chrome DevTools or speedscope.
 *
 * `search` runs over a copy of an existing DATA_DIR (PROFILE_DATA_DIR, e.g. one the search
 * scenario's data set was loaded into) the queries of PROFILE_PATHS (paths below the origin,
 * separated by spaces, e.g. `/fhir/Patient?family=Okafor /fhir/Patient?family=Lind`), rotating.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchPatientJson } from './fixtures/patient.js';
import { measure } from './lib/load.js';
import { createProcessGroup } from './lib/processes.js';
import type autocannon from 'autocannon';
import { embeddedIssuer, mintToken } from '../test/support/tokens.js';
import { freePort } from '../test/support/server.js';
import { sendMessages } from './scenarios/hl7v2.js';
import { request as workflowRequest, seed as workflowSeed } from './scenarios/workflow.js';

const FHIR_JSON = 'application/fhir+json';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args[0] === 'summary') {
    // `summary <file.cpuprofile> <from µs> <to µs>`: summarize a profile again (the window is printed with each run).
    return summarize(JSON.parse(await readFile(args[1], 'utf8')) as Profile, Number.NaN, [Number(args[2]), Number(args[3])]);
  }
  const [shape = 'read', connectionsArg = '16', secondsArg = '10'] = args;
  const connections = Number(connectionsArg);
  const seconds = Number(secondsArg);
  const processes = createProcessGroup();
  const profileDir = process.env.PROFILE_DIR ?? (await mkdtemp(path.join(os.tmpdir(), 'fhirgate-profile-')));
  try {
    const dataDir = await processes.tempDir('fhirgate-profile-data-');
    if (shape === 'search') {
      if (!process.env.PROFILE_DATA_DIR || !process.env.PROFILE_PATHS) throw new Error('search: set PROFILE_DATA_DIR and PROFILE_PATHS');
      await cp(process.env.PROFILE_DATA_DIR, dataDir, { recursive: true });
      // The copy's dirty pages written back now, not during the measurement (where every fdatasync would wait on them).
      execFileSync('sync');
    }
    const mllpPort = await freePort();
    const service = await processes.start({
      name: 'FhirGate',
      args: ['--cpu-prof', '--cpu-prof-dir', profileDir, '--import', 'tsx', 'src/main.ts'],
      env: { DATA_DIR: dataDir, LOG_LEVEL: 'warn', HL7_MLLP_PORT: String(mllpPort), ...JSON.parse(process.env.PROFILE_ENV ?? '{}') },
      envForPort: (port) => ({ PUBLIC_URL: `http://127.0.0.1:${port}` }),
      readyPath: '/readyz',
    });
    const token = await mintToken(embeddedIssuer(dataDir, service.origin), { clientId: 'bench-profile', expiresIn: 3600 });
    const authorization = `Bearer ${token}`;
    let rate: number;
    let window: [number, number] = [0, 0];
    const now = (): number => Number(process.hrtime.bigint() / 1000n);
    if (shape === 'adt' || shape === 'rde') {
      const type = shape === 'adt' ? 'ADT^A01' : 'RDE^O11';
      // The patients first, as the hl7v2 scenario does (its RDE^O11 cells follow the ADT^A01 ones).
      await sendMessages(mllpPort, 'ADT^A01', 4, 3, 'warm');
      if (shape === 'rde') await sendMessages(mllpPort, type, 4, 3, 'warm-rde');
      const start = now();
      const r = await sendMessages(mllpPort, type, connections, seconds, 'measured');
      window = [start, now()];
      rate = r.rate;
      process.stderr.write(`${type} @${connections}: ${r.rate.toFixed(1)} msg/s, p50 ${r.p50.toFixed(1)} ms, not AA ${r.failures}\n`);
    } else if (shape === 'dispense' || shape === 'booking') {
      // As the workflow scenario seeds and writes; enough free slots for the warm-up and the measured seconds.
      const target = { gate: { service, dataDir, authorization }, prescriptions: 200, slots: shape === 'booking' ? Math.max(3000, 1000 * (seconds + 3)) : 20, nextSlot: 0 };
      await workflowSeed(target);
      await measure({ origin: service.origin, connections, seconds: 3, request: workflowRequest(target, shape), label: 'warm-up' });
      const start = now();
      const cpu = service.cpuSeconds();
      const m = await measure({ origin: service.origin, connections, seconds, request: workflowRequest(target, shape), label: shape });
      window = [start, now()];
      rate = m.requestsPerSecond;
      // The server's CPU time (all threads) per request: unlike the profile's busy time, it does not count
      // the time the process waited for a core, so it compares on a loaded machine.
      const perRequest = ((service.cpuSeconds() - cpu) * 1e3) / m.requests;
      process.stderr.write(`${shape} @${connections}: ${m.requestsPerSecond.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms; cpu per request ${perRequest.toFixed(2)} ms\n`);
    } else {
      const ids = shape === 'search' ? (process.env.PROFILE_PATHS ?? '').split(/\s+/).filter(Boolean) : await seed(service.origin, authorization, 200);
      let next = 0;
      let mrn = 0;
      const request: autocannon.Request =
        shape === 'search'
          ? { method: 'GET' as const, path: ids[0], headers: { Accept: FHIR_JSON, Authorization: authorization }, setupRequest: (r) => Object.assign(r, { path: ids[next++ % ids.length] }) }
          : shape === 'read'
          ? { method: 'GET' as const, path: `/fhir/Patient/${ids[0]}`, headers: { Accept: FHIR_JSON, Authorization: authorization }, setupRequest: (r) => Object.assign(r, { path: `/fhir/Patient/${ids[next++ % ids.length]}` }) }
          : { method: 'POST' as const, path: '/fhir/Patient', headers: { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: authorization }, body: benchPatientJson('P-0'), setupRequest: (r) => Object.assign(r, { body: benchPatientJson(`P-${mrn++}`) }) };
      await measure({ origin: service.origin, connections, seconds: 3, request: { ...request }, label: 'warm-up' });
      const start = now();
      const cpu = service.cpuSeconds();
      const m = await measure({ origin: service.origin, connections, seconds, request: { ...request }, label: shape });
      window = [start, now()];
      rate = m.requestsPerSecond;
      // As for dispense and booking: the server's CPU time per request, which a loaded machine does not inflate.
      const perRequest = ((service.cpuSeconds() - cpu) * 1e3) / m.requests;
      process.stderr.write(`${shape} @${connections}: ${m.requestsPerSecond.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms; cpu per request ${perRequest.toFixed(2)} ms\n`);
    }
    await processes.stopAll();
    // The main thread's profile (`.<pid>.0.`); workers (tsx's esbuild service) write their own.
    const file = (await readdir(profileDir)).filter((f) => /\.0\.\d+\.cpuprofile$/.test(f)).sort().at(-1);
    if (!file) throw new Error(`no profile written to ${profileDir}`);
    summarize(JSON.parse(await readFile(path.join(profileDir, file), 'utf8')) as Profile, rate, window);
    process.stderr.write(`profile: ${path.join(profileDir, file)} ${window[0]} ${window[1]}\n`);
  } finally {
    await processes.stopAll();
  }
}

async function seed(origin: string, authorization: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const res = await fetch(`${origin}/fhir/Patient`, { method: 'POST', headers: { 'Content-Type': FHIR_JSON, Authorization: authorization }, body: benchPatientJson(`SEED-${n}`) });
    if (res.status !== 201) throw new Error(`seeding answered ${res.status}: ${await res.text()}`);
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

/**
 * Prints self time by function and file, and inclusive time of the busiest functions, over the
 * samples of the measured window only (V8's profile clock and process.hrtime are both CLOCK_MONOTONIC).
 */
function summarize(profile: Profile, rate: number, window: [number, number]): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  const inclusive = new Map<string, number>();
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t < window[0] || t > window[1]) return;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      const name = `${functionName || '(anonymous)'} ${url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '')}:${lineNumber + 1}`;
      if (!seen.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
      seen.add(name);
    }
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const file = url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '') || '(native)';
    const name = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const pkg = file.includes('node_modules/') ? file.replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, 'node_modules/$1') : file;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
  }
  const idle = byFunction.get('(idle) (native):0') ?? 0;
  const busy = total - idle;
  const top = (map: Map<string, number>, n: number) =>
    [...map].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`).join('\n');
  // CPU per request: what to compare on a shared machine, where the rate depends on the neighbours.
  const requests = (rate * (window[1] - window[0])) / 1e6;
  const perRequest = requests > 0 ? `; busy per request ${(busy / 1e3 / requests).toFixed(2)} ms` : '';
  process.stdout.write(`busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s profiled; measured rate ${rate.toFixed(1)}/s${perRequest}\n`);
  const interesting = new Map([...inclusive].filter(([k]) => !/^\(root\)|^\(program\)|^\(idle\)|node:internal|processTicksAndRejections/.test(k)));
  process.stdout.write(`\n== self time by function (share of busy) ==\n${top(byFunction, 45)}\n\n== by file / package ==\n${top(byFile, 30)}\n\n== inclusive time ==\n${top(interesting, 80)}\n`);
}

await main();

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { nodeScript } from './node-script.js';
import { ROOT_DIR, freePort } from './server.js';
import { embeddedIssuer, registerDefaultToken } from './tokens.js';

/** FhirGate as its own OS process (`src/main.ts`, as `npm run dev` starts it), for crash tests. */
export interface ChildServer {
  process: ChildProcess;
  fhirUrl: string;
  origin: string;
  stderr: () => string;
}

/**
 * @param options.fileSizeLimitBlocks `ulimit -f` of the process (512-byte blocks): writes past it fail
 * with a real EFBIG from the kernel, a disk-full stand-in (Node ignores SIGXFSZ)
 * @param options.env more environment (e.g. `HL7_MLLP_PORT`, which is otherwise 0: no fixed port)
 */
export async function startChildServer(dataDir: string, options: { fileSizeLimitBlocks?: number; env?: Record<string, string> } = {}): Promise<ChildServer> {
  // A port free when picked can be taken by another test's server before the child binds it: the
  // child then exits with EADDRINUSE, and is started again on another port.
  for (let attempt = 1; ; attempt++) {
    const started = await startOnce(dataDir, options);
    if (started !== 'port-taken' || attempt === 3) {
      if (started === 'port-taken') throw new Error('server did not start: three ports taken');
      return started;
    }
  }
}

async function startOnce(dataDir: string, options: { fileSizeLimitBlocks?: number; env?: Record<string, string> }): Promise<ChildServer | 'port-taken'> {
  const port = await freePort();
  const args = nodeScript('src/main.ts');
  const [command, argv] = options.fileSizeLimitBlocks
    ? ['/bin/sh', ['-c', `ulimit -f ${options.fileSizeLimitBlocks} && exec "$0" "$@"`, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, argv, {
    cwd: ROOT_DIR,
    env: { ...process.env, HL7_MLLP_PORT: '0', ...options.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', PUBLIC_URL: `http://127.0.0.1:${port}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const origin = `http://127.0.0.1:${port}`;
  // Generous: on a loaded machine (two test workers, other jobs) a cold start took over 30 s.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      if (stderr.includes('EADDRINUSE')) return 'port-taken';
      throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
    }
    if (await answersAsChild(origin, dataDir)) break;
    if (Date.now() > deadline) throw new Error(`server did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The child runs the embedded authorization server; its keys in DATA_DIR sign the tests' tokens.
  await registerDefaultToken(`${origin}/fhir`, embeddedIssuer(dataDir, origin));
  return { process: child, fhirUrl: `${origin}/fhir`, origin, stderr: () => stderr };
}

/** True when the server at `origin` is ready and is the child: it publishes the signing key the child wrote into its DATA_DIR. */
async function answersAsChild(origin: string, dataDir: string): Promise<boolean> {
  try {
    if (!(await fetch(`${origin}/readyz`)).ok) return false;
    const ours = (JSON.parse(await readFile(path.join(dataDir, 'auth', 'signing-keys.json'), 'utf8')) as { keys: Array<{ n?: string }> }).keys;
    const config = (await (await fetch(`${origin}/fhir/.well-known/smart-configuration`)).json()) as { jwks_uri: string };
    const published = ((await (await fetch(config.jwks_uri)).json()) as { keys: Array<{ n?: string }> }).keys;
    return published.some((key) => ours.some((own) => own.n !== undefined && own.n === key.n));
  } catch {
    return false; // not listening yet, keys not written yet, or another server on the port
  }
}

/** SIGKILL: no shutdown hooks, no flushing — what a power cut or OOM kill looks like to the store. */
export async function killHard(server: ChildServer): Promise<void> {
  const exited = new Promise((r) => server.process.once('exit', r));
  server.process.kill('SIGKILL');
  await exited;
}

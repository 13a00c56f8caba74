import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: bench/lib/ sits two levels below it. */
export const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A server under test, running as its own OS process. */
export interface Service {
  name: string;
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** How many lines the process has written to stdout and stderr (with LOG_LEVEL=warn, ideally none). */
  outputLines(): number;
  /** The last few KB of its output, for error messages. */
  outputTail(): string;
  /** Throws if the process has exited: a crash mid-run must not pass for a slow server. */
  assertAlive(): void;
  /** Resident set size of the process in MiB (Linux `/proc/<pid>/status` VmRSS), or NaN where unavailable. */
  rssMiB(): number;
  /** CPU seconds the process has used so far, all its threads (Linux `/proc/<pid>/stat` utime + stime), or NaN where unavailable. */
  cpuSeconds(): number;
  /** SIGTERM (SIGKILL after a grace period), resolving once the process has exited. */
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** Arguments after `node`, e.g. ['--import', 'tsx', 'src/main.ts']. */
  args: string[];
  /** Extra environment; PORT is added. */
  env?: Record<string, string>;
  /** Builds environment entries that depend on the chosen port (PUBLIC_URL). */
  envForPort?: (port: number) => Record<string, string>;
  /** Polled until it answers 200. */
  readyPath: string;
  readyTimeoutMs?: number;
}

/** Owns every child process and temp folder a benchmark creates, so one call cleans all of them up. */
export interface ProcessGroup {
  start(options: StartOptions): Promise<Service>;
  tempDir(prefix: string): Promise<string>;
  /** SIGTERM, then SIGKILL after a grace period; then removes temp folders. Safe to call twice. */
  stopAll(): Promise<void>;
  /** For `process.on('exit')`, where nothing asynchronous runs: SIGKILL and synchronous removal. */
  killAllSync(): void;
}

const TAIL_BYTES = 8 * 1024;
const STOP_GRACE_MS = 5_000;

/** Creates an empty process group. */
export function createProcessGroup(): ProcessGroup {
  const children = new Set<ChildProcess>();
  const tempDirs = new Set<string>();
  // Set by stopAll: a start still in flight then (e.g. the sibling of a server that failed) must not leave a child behind.
  let stopping = false;

  return {
    async start(options) {
      const port = await freePort();
      if (stopping) throw new Error(`${options.name} not started: the benchmark is stopping`);
      const child = spawn(process.execPath, options.args, {
        cwd: ROOT_DIR,
        env: { ...process.env, HL7_MLLP_PORT: '0', ...options.env, ...options.envForPort?.(port), PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      const service = watchOutput(child, options.name, `http://127.0.0.1:${port}`, () => stopChild(child));
      await waitUntilReady(child, service, options.readyPath, options.readyTimeoutMs ?? 120_000, () => stopping);
      return service;
    },

    async tempDir(prefix) {
      const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
      tempDirs.add(dir);
      return dir;
    },

    async stopAll() {
      stopping = true;
      await Promise.all([...children].map(stopChild));
      // Only after the processes are gone: a store may still be writing while it shuts down.
      await Promise.all([...tempDirs].map((dir) => rm(dir, { recursive: true, force: true })));
      tempDirs.clear();
    },

    killAllSync() {
      for (const child of children) child.kill('SIGKILL');
      for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
      tempDirs.clear();
    },
  };
}

function watchOutput(child: ChildProcess, name: string, origin: string, stop: () => Promise<void>): Service {
  let lines = 0;
  let tail = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    for (const ch of text) if (ch === '\n') lines++;
    tail = (tail + text).slice(-TAIL_BYTES);
  };
  // Both pipes must be drained, or a chatty child blocks on a full pipe and looks slow.
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return {
    name,
    origin,
    outputLines: () => lines,
    outputTail: () => tail,
    assertAlive() {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) during the benchmark. Last output:\n${tail}`);
      }
    },
    rssMiB: () => rssMiB(child.pid),
    cpuSeconds: () => cpuSeconds(child.pid),
    stop,
  };
}

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

function cpuSeconds(pid: number | undefined): number {
  try {
    // Fields after the command name (which may hold spaces), from field 3: utime and stime are fields 14 and 15.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}

function rssMiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return kb ? Number(kb[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function waitUntilReady(
  child: ChildProcess,
  service: Service,
  readyPath: string,
  timeoutMs: number,
  stopping: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  for (;;) {
    if (stopping()) throw new Error(`${service.name} not awaited: the benchmark is stopping`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${service.name} exited (${child.exitCode ?? child.signalCode}) before it was ready. Last output:\n${service.outputTail()}`);
    }
    try {
      const res = await fetch(service.origin + readyPath, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      lastProblem = `${readyPath} answered ${res.status}`;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${service.name} was not ready within ${timeoutMs / 1000} s (${lastProblem}). Last output:\n${service.outputTail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Asks the OS for a free port. The port is released before the child binds it, so another
 * process could take it in between; on a benchmark machine that race is harmless and a
 * retry is a rerun. (PORT=0 would avoid it, but at LOG_LEVEL=warn FhirGate does not log the port.)
 */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

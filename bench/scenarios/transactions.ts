import os from 'node:os';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { patientBundle, practitioners, RESOURCES_PER_BUNDLE } from '../fixtures/patient-bundle.js';
import { startFhirGate } from '../lib/fhirgate.js';
import type { Service } from '../lib/processes.js';
import type { Scenario } from '../lib/scenario.js';
import { fixed, markdownTable } from '../lib/table.js';
import { serverDescription } from '../lib/server-command.js';

const FHIR_JSON = 'application/fhir+json';
const UPLOADERS = [1, 4];
const SETTLE_MS = 500;

interface Cell {
  mode: 'transaction' | 'one by one';
  uploaders: number;
  patients: number;
  resources: number;
  seconds: number;
  /** Per patient: the transaction's round trip, or all its creates one after another. */
  latencies: number[];
}

/**
 * Transaction ingest (issue 4): how many resources per second FhirGate stores when clients upload
 * Synthea-shaped patient Bundles (`POST /fhir`, one transaction per patient), at 1 and 4
 * concurrent uploaders. The baseline is the same resources created one by one (`POST /fhir/[type]`,
 * references filled in by the client), so the ratio shows what a transaction saves or costs.
 */
export const transactions: Scenario = {
  name: 'transactions',
  description: 'transaction ingest of Synthea-shaped patient bundles (51 resources) at 1 and 4 uploaders, vs the same resources created one by one',
  async run(context) {
    const { settings, processes, log } = context;
    const { service, authorization } = await startFhirGate(processes, { clientId: 'bench-transactions' });
    const client = createClient(service.origin, authorization);
    log('creating the practitioners the bundles refer to');
    const practitionerIds = await Promise.all(practitioners().map(async (p) => (await client.post(p.resourceType, p)).id as string));
    let next = 0;
    const warm = await runCell(client, 'transaction', 2, settings.warmupSeconds, () => next++, practitionerIds);
    log(`warm-up: ${warm.patients} patients`);
    await runCell(client, 'one by one', 2, settings.warmupSeconds, () => next++, practitionerIds);

    const cells: Cell[] = [];
    for (const uploaders of UPLOADERS) {
      for (const mode of ['transaction', 'one by one'] as const) {
        const cell = await runCell(client, mode, uploaders, settings.seconds, () => next++, practitionerIds);
        service.assertAlive();
        log(`${mode} @${uploaders}: ${Math.round(cell.resources / cell.seconds)} resources/s (${cell.patients} patients)`);
        cells.push(cell);
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      }
    }
    return { title: 'Transaction ingest: Synthea-shaped patient bundles', body: [table(cells), '', notes(service)].join('\n') };
  },
};


type Client = ReturnType<typeof createClient>;

/** POST with the token; anything but 2xx fails the benchmark with the server's answer. */
function createClient(origin: string, authorization: string) {
  return {
    async post(path: string, body: unknown): Promise<any> {
      const res = await fetch(`${origin}/fhir/${path}`, {
        method: 'POST',
        headers: { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: authorization, Prefer: 'return=minimal' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status < 200 || res.status >= 300) throw new Error(`POST /fhir/${path} answered ${res.status}: ${text.slice(0, 2_000)}`);
      const location = res.headers.get('location');
      return text ? JSON.parse(text) : { id: location ? /\/([^/]+)\/_history\//.exec(location)?.[1] : undefined };
    },
  };
}

/** Each uploader sends patients one after another until the time is up; returns what was stored. */
async function runCell(client: Client, mode: Cell['mode'], uploaders: number, seconds: number, nextPatient: () => number, practitionerIds: string[]): Promise<Cell> {
  const cell: Cell = { mode, uploaders, patients: 0, resources: 0, seconds: 0, latencies: [] };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const uploader = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const bundle = patientBundle(nextPatient(), 'BENCH');
      const t0 = performance.now();
      if (mode === 'transaction') {
        const response = await client.post('', bundle);
        if (response.type !== 'transaction-response') throw new Error('the transaction did not answer a transaction-response');
      } else {
        await createOneByOne(client, bundle, practitionerIds);
      }
      cell.latencies.push(performance.now() - t0);
      cell.patients++;
      cell.resources += bundle.entry!.length;
    }
  };
  await Promise.all(Array.from({ length: uploaders }, uploader));
  cell.seconds = (performance.now() - started) / 1000;
  return cell;
}

/** The bundle's resources as individual creates, in order, each reference replaced by the id the server gave. */
async function createOneByOne(client: Client, bundle: Bundle, practitionerIds: string[]): Promise<void> {
  const ids = new Map<string, string>();
  const resolve = (ref: string): string => {
    const practitioner = /\|(\d+)$/.exec(ref);
    if (ref.startsWith('Practitioner?') && practitioner) return `Practitioner/${practitionerIds[Number(practitioner[1]) - 1_000_000_000]}`;
    return ids.get(ref) ?? ref;
  };
  for (const entry of bundle.entry as BundleEntry[]) {
    const resource = JSON.parse(JSON.stringify(entry.resource), (key, value) => (key === 'reference' && typeof value === 'string' ? resolve(value) : value)) as Resource;
    const created = await client.post(resource.resourceType, resource);
    ids.set(entry.fullUrl!, `${resource.resourceType}/${created.id}`);
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

function table(cells: Cell[]): string {
  const rate = (c: Cell): number => c.resources / c.seconds;
  const rows = cells.map((c) => {
    const baseline = cells.find((b) => b.mode === 'one by one' && b.uploaders === c.uploaders)!;
    return [
      c.mode,
      String(c.uploaders),
      String(c.patients),
      String(c.resources),
      String(Math.round(rate(c))),
      fixed(percentile(c.latencies, 0.5), 1),
      fixed(percentile(c.latencies, 0.99), 1),
      `${fixed(rate(c) / rate(baseline), 2)}×`,
    ];
  });
  const right = (header: string) => ({ header, align: 'right' as const });
  return markdownTable(
    [{ header: 'Mode' }, right('Uploaders'), right('Patients'), right('Resources'), right('Resources/s'), right('p50 ms / patient'), right('p99 ms / patient'), right('vs one by one')],
    rows,
  );
}

function notes(service: Service): string {
  const lines = [
    '## What was measured',
    '',
    `- Each patient is one Bundle of ${RESOURCES_PER_BUNDLE} resources shaped like a Synthea export, of the seven served types: 1 Patient, 20 MedicationRequests, 15 MedicationDispenses, 12 Appointments, 1 Consent, 2 AuditEvents (\`bench/fixtures/patient-bundle.ts\`). Entries reference the patient and each other by \`urn:uuid:\` fullUrls and the practitioners by conditional references (\`Practitioner?identifier=...\`), which the server resolves by search.`,
    '- **transaction**: `POST /fhir` with the Bundle, `Prefer: return=minimal`: every entry validated, authorized and audited, all written in one durable (fsynced) commit.',
    '- **one by one**: the same resources as `POST /fhir/[type]`, one after another per uploader (the client fills in the ids of what it created before, and the practitioners\' ids); one durable commit each.',
    '- **Uploaders**: clients sending patients concurrently, each waiting for its answer before sending the next. Latency is per patient (the transaction, or all 51 creates).',
    '- **vs one by one**: resources/s of the row divided by the one-by-one rate at the same number of uploaders.',
    `- FhirGate: ${serverDescription()}, embedded store in a fresh temp \`DATA_DIR\`, \`LOG_LEVEL=warn\`, a \`system/*.*\` token of the embedded authorization server.`,
  ];
  if (os.cpus().length <= 4) lines.push(`- This machine has ${os.cpus().length} cores, shared by the uploaders and the server.`);
  if (service.outputLines() > 0) lines.push(`- FhirGate wrote ${service.outputLines()} log lines at level warn during the run; see its output for why.`);
  return lines.join('\n');
}

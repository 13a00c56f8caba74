/**
 * Replays archived HL7 v2 messages that failed, after a fix (issue 6), through a running FhirGate:
 *
 *   FHIRGATE_TOKEN=<operator token> npm run hl7:replay -- [--url http://localhost:8080] <id>...
 *   FHIRGATE_TOKEN=<operator token> npm run hl7:replay -- --failed [--since 2024-01-01] [--type ADT^A01]
 *
 * It calls `POST /hl7/messages/{id}/$replay` (never the store: the server applies the message through
 * its pipeline, with the token's authorization). The token needs the admin role or a system/ scope.
 */
import { parseArgs } from 'node:util';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string' }, failed: { type: 'boolean' }, since: { type: 'string' }, type: { type: 'string' } },
  });
  const base = (values.url ?? process.env.FHIRGATE_URL ?? 'http://localhost:8080').replace(/\/+$/, '');
  const token = process.env.FHIRGATE_TOKEN;
  if (!token) return fail('FHIRGATE_TOKEN must hold an access token with the admin role or a system/ scope');
  const headers = { Authorization: `Bearer ${token}` };
  const ids = [...positionals];
  if (values.failed) {
    for (const outcome of ['error', 'rejected']) {
      let next: string | undefined = `/hl7/messages?${new URLSearchParams({ outcome, _count: '500', ...(values.since ? { since: values.since } : {}), ...(values.type ? { type: values.type } : {}) })}`;
      while (next) {
        const res = await fetch(`${base}${next}`, { headers });
        if (!res.ok) return fail(`listing failed: ${res.status} ${await res.text()}`);
        const page = (await res.json()) as { messages: Array<{ id: string }>; next?: string };
        ids.push(...page.messages.map((m) => m.id));
        next = page.next;
      }
    }
  }
  if (!ids.length) return fail('nothing to replay: give message ids or --failed');
  let failures = 0;
  for (const [i, id] of ids.entries()) {
    const res = await fetch(`${base}/hl7/messages/${encodeURIComponent(id)}/$replay`, { method: 'POST', headers });
    const body = (await res.json().catch(() => ({}))) as { ack?: string; message?: { error?: { text: string } } };
    const ok = res.ok && body.ack === 'AA';
    if (!ok) failures++;
    process.stdout.write(`[${i + 1}/${ids.length}] ${id}: ${res.ok ? body.ack : `HTTP ${res.status}`}${body.message?.error && !ok ? ` ${body.message.error.text}` : ''}\n`);
  }
  process.stdout.write(`${ids.length - failures} replayed, ${failures} still failing\n`);
  return failures ? 1 : 0;
}

function fail(message: string): number {
  process.stderr.write(`hl7-replay: ${message}\n`);
  return 2;
}

main().then((code) => process.exit(code), (err: unknown) => process.exit(fail(err instanceof Error ? err.message : String(err))));

/**
 * The baseline: the least a Koa JSON server can do for the same two request shapes.
 * FhirGate's throughput divided by this one's is the cost of everything FhirGate adds
 * (routing, content negotiation, validation, the store, audit), independent of the machine.
 *
 * Started by the benchmark as its own process: `PORT=<port> node --import tsx bench/bare-koa.ts`.
 * Every GET (including the readiness probe) answers the static Patient; every POST parses
 * its JSON body and echoes it with 201.
 */
import Koa from 'koa';
import getRawBody from 'raw-body';
import { benchPatient } from './fixtures/patient.js';

const STATIC_PATIENT = {
  ...benchPatient('BENCH-BARE'),
  id: 'bare-koa',
  meta: { versionId: '1', lastUpdated: '2024-01-01T00:00:00.000Z' },
};

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.method === 'GET') {
    ctx.type = 'application/fhir+json';
    // An object, not a pre-serialised string: any JSON server pays for serialisation, so the
    // baseline does too, and the ratio isolates what FhirGate adds on top.
    ctx.body = STATIC_PATIENT;
    return;
  }
  if (ctx.method === 'POST') {
    const text = await getRawBody(ctx.req, { limit: '10mb', encoding: 'utf-8' });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      ctx.throw(400, 'invalid JSON');
    }
    ctx.status = 201;
    ctx.type = 'application/fhir+json';
    ctx.body = parsed;
    return;
  }
  ctx.status = 405;
});

app.listen(Number(process.env.PORT));

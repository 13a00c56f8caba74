import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { SERVED_TYPES } from '../../src/fhir/registry.js';
import { createValidator } from '../../src/validation/create-validator.js';
import { fixed, markdownTable } from '../lib/table.js';
import type { Scenario } from '../lib/scenario.js';
import { EXAMPLES_DIR as EXAMPLES } from '../../test/support/corpus-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function examplesOf(type: string): Resource[] {
  const dir = path.join(EXAMPLES, type);
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Resource);
}

/** Mean microseconds of `fn` over the resources, repeated until `seconds` have passed. */
async function measure(resources: Resource[], seconds: number, fn: (r: Resource) => unknown): Promise<number> {
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (const r of resources) await fn(r);
    runs += resources.length;
  }
  return ((performance.now() - start) * 1000) / runs;
}

/**
 * In-process cost of validating the official examples of each type, next to a JSON round trip
 * (parse + stringify) of the same resources as the baseline, plus the one-off construction time.
 */
export const validation: Scenario = {
  name: 'validation',
  description: 'validator construction time and per-resource validation cost vs a JSON round trip',
  async run({ settings, log }) {
    const t0 = performance.now();
    const definitions = r4Definitions();
    const t1 = performance.now();
    const validator = await createValidator({ definitions, resourceTypes: Object.keys(SERVED_TYPES), profilesDir: path.join(ROOT, 'profiles'), terminologyDir: path.join(ROOT, 'terminology') });
    const t2 = performance.now();
    const seconds = settings.quick ? 0.3 : Math.max(1, settings.seconds / 2);
    const rows: string[][] = [];
    for (const type of Object.keys(SERVED_TYPES)) {
      log(`validation: ${type}`);
      const resources = examplesOf(type);
      await measure(resources, Math.min(seconds, 0.5), (r) => validator.validate(r)); // warm-up
      const validate = await measure(resources, seconds, (r) => validator.validate(r));
      const roundTrip = await measure(resources, seconds, (r) => JSON.parse(JSON.stringify(r)));
      rows.push([type, String(resources.length), fixed(validate, 1), fixed(roundTrip, 1), `${fixed(validate / roundTrip, 1)}×`]);
    }
    const table = markdownTable(
      [{ header: 'Type' }, { header: 'Examples', align: 'right' }, { header: 'validate µs', align: 'right' }, { header: 'JSON round trip µs', align: 'right' }, { header: 'validate / round trip', align: 'right' }],
      rows,
    );
    const body = [
      `Loading the R4 definitions: ${fixed(t1 - t0, 0)} ms; building the validator: ${fixed(t2 - t1, 0)} ms (once per server start).`,
      '',
      table,
    ].join('\n');
    return { title: 'Validation cost', body };
  },
};

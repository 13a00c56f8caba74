import type { Driver, SqlCondition, SqlParam } from './sql-filter.js';
import type { StatementCache } from './statement-cache.js';

/**
 * Which search-value driver a query starts from (issue 13): the one selecting the fewest
 * resources, found by counting each driver's index entries no further than needed, or none when
 * every driver is broad and walking the record table in sort order is cheaper.
 */

/** What choosing a driver reads: the store's statements. */
interface ChoiceContext {
  statements: StatementCache;
}

/**
 * A query starts from the search-value index when one of its drivers selects fewer resources than
 * this; otherwise it walks the record table (in sort order, so a page stops early) and uses the
 * index as a filter. Estimating costs at most this many index entries per driver.
 */
export const DRIVER_LIMIT = 1000;

/**
 * A driver this small is taken without estimating the others: starting from a smaller one would
 * save at most this many candidates, each a probe or two inside the page query (about 1 µs
 * apiece on the 20k-patient data set), while estimating another driver is a statement of its own
 * (about 5 µs even when it stops at its first entry). `MedicationRequest?patient=X&status=active`
 * no longer counts the thousands of `active` entries up to the patient's one or two (issue 13).
 */
export const SMALL_DRIVER = 4;

/**
 * The first round of estimates counts each driver no further than this: a driver below it is
 * taken (or a smaller one), and only when every driver reaches it are they counted again up to
 * DRIVER_LIMIT. A common value before a selective one (`Patient?gender=male&family=…`,
 * `Appointment?date=ge…&practitioner=X`) is then counted to this many entries, not DRIVER_LIMIT
 * (about 40 µs on the 20k-patient data set), whatever the order of the parameters (issue 13).
 */
const FIRST_ROUND = 128;

/** The driver selecting the fewest resources, if one selects fewer than DRIVER_LIMIT. */
export function pickDriver(ctx: ChoiceContext, where: SqlCondition): Driver | undefined {
  const drivers = where.drivers ?? [];
  if (drivers.length === 0) return undefined;
  const first = drivers.length > 1 ? smallest(ctx, drivers, Math.min(FIRST_ROUND, DRIVER_LIMIT)) : undefined;
  return first?.driver ?? smallest(ctx, drivers, DRIVER_LIMIT)?.driver;
}

/**
 * The driver selecting the fewest resources, however many, for a query that reads every match
 * (a count, a group count, a find without limit): walking the record table would read every
 * record of the type, more than any driver selects (issue 13: `AuditEvent?patient=X`'s total,
 * with thousands of events naming X, scanned every AuditEvent). Drivers are counted to FIRST_ROUND,
 * then, while all reach the cap, to eight times more: the one found is within 8x of the smallest,
 * and no driver is counted much past it. Starting at DRIVER_LIMIT, a common value before a selective
 * one was counted to 1,000 entries: the group count of a `_has` (`status=active` and the page's
 * candidates) spent ~0.3 ms there on the 20k-patient data set.
 */
export function pickDriverOfAll(ctx: ChoiceContext, where: SqlCondition): Driver | undefined {
  const drivers = where.drivers ?? [];
  if (drivers.length <= 1) return drivers[0];
  for (let cap = Math.min(FIRST_ROUND, DRIVER_LIMIT); ; cap *= 8) {
    const best = smallest(ctx, drivers, cap);
    if (best) return best.driver;
  }
}

/** The driver with the fewest entries below `cap`, each counted no further than the best so far. */
function smallest(ctx: ChoiceContext, drivers: readonly Driver[], cap: number): { driver: Driver; size: number } | undefined {
  let best: { driver: Driver; size: number } | undefined;
  for (const driver of drivers) {
    // Counted no further than the best so far: `Appointment?practitioner=X&date=ge…` stops counting
    // the date's entries at the practitioner's ~100.
    const size = estimate(ctx, driver, best?.size ?? cap);
    if (size < (best?.size ?? cap)) best = { driver, size };
    if (best && best.size <= SMALL_DRIVER) break;
  }
  return best;
}

/** Index entries a driver reads, counted part by part and no further than `cap` in all. */
export function estimate(ctx: ChoiceContext, driver: Driver, cap: number): number {
  let size = 0;
  for (const part of driver.parts) {
    size += ctx.statements.get(`SELECT count(*) FROM (${part.sql} LIMIT ?)`).pluck().get(...part.params, cap - size) as number;
    if (size >= cap) break;
  }
  return size;
}

/**
 * The driver's distinct resource numbers, as the table `d`. A single part selecting each resource
 * once (an equal value) needs no DISTINCT: SQLite would copy every match into a temporary b-tree
 * to remove duplicates there cannot be (`Appointment?practitioner=`, issue 13).
 */
export function driverTable(driver: Driver): string {
  const [only] = driver.parts;
  if (driver.parts.length === 1 && only.distinct) return `(${only.sql}) d`;
  return `(SELECT DISTINCT rid FROM (${driver.parts.map((p) => p.sql).join(' UNION ALL ')})) d`;
}

export function driverParams(driver: Driver): SqlParam[] {
  return driver.parts.flatMap((p) => p.params);
}

/** The only driver of a condition, if it has exactly one of one part: taken without an estimate. */
export function onlyDriver(_ctx: ChoiceContext, where: SqlCondition): Driver | undefined {
  const [driver, other] = where.drivers ?? [];
  return driver && !other && driver.parts.length === 1 ? driver : undefined;
}

/**
 * A clock for the app under test (`startServer(env, dir, { clock: clock.now })`) that runs with real
 * time and can be moved forward: a Consent's provision period or a time window ends when the test
 * says, without sleeping (issue 16). Never moves back, like the server expects of a wall clock.
 */
export interface TestClock {
  now: () => Date;
  /** Moves the clock `ms` milliseconds forward. */
  advance(ms: number): void;
  /** Moves the clock to just after `instant` (no-op if already past it). */
  passTo(instant: Date | number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  const now = (): Date => new Date(Date.now() + offset);
  return {
    now,
    advance(ms) {
      offset += Math.max(0, ms);
    },
    passTo(instant) {
      const target = typeof instant === 'number' ? instant : instant.getTime();
      offset += Math.max(0, target + 1 - now().getTime());
    },
  };
}

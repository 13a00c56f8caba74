import type { ProcessGroup } from './processes.js';

/** Settings shared by every scenario, read once from the environment in `bench/run.ts`. */
export interface BenchSettings {
  /** Measured seconds per table cell. */
  seconds: number;
  /** Seconds of discarded load before measuring, so the JIT and caches are warm. */
  warmupSeconds: number;
  /** A smoke run: shorter, smaller, and its results are not written over the real ones. */
  quick: boolean;
}

export interface ScenarioContext {
  settings: BenchSettings;
  processes: ProcessGroup;
  /** Progress for the person watching; goes to stderr so stdout holds only the tables. */
  log(message: string): void;
}

export interface ScenarioResult {
  /** Heading of the results file. */
  title: string;
  /** Markdown placed after the environment block: the table and its notes. */
  body: string;
}

/** One benchmark, selectable by name: `npm run bench -- <name>`. */
export interface Scenario {
  name: string;
  description: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

/**
 * The framework-free view of a parsed HL7 v2 message the mappers read: segments in order, values
 * addressed by field, repetition, component and sub-component (all 1-based but the repetition).
 * A value is a string, `null` for the v2 "delete" marker `""`, or undefined when absent.
 */
export type V2Value = string | null | undefined;

export interface V2Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subComponent: string;
}

/** One component: its sub-components' values (index 0 is sub-component 1). */
export type V2Component = readonly V2Value[];
/** One repetition of a field: its components (index 0 is component 1). */
export type V2Repetition = readonly V2Component[];

export interface V2Segment {
  readonly id: string;
  /** 0-based position in the message (for ERR-2 locations). */
  readonly index: number;
  /** 1-based sequence among segments of the same id. */
  readonly sequence: number;
  /** Every repetition of field `field`. */
  reps(field: number): readonly V2Repetition[];
  /** One value: field, component, sub-component, repetition. */
  get(field: number, component?: number, subComponent?: number, repetition?: number): V2Value;
}

export interface V2Message {
  readonly delimiters: V2Delimiters;
  readonly segments: readonly V2Segment[];
  /** MSH-12 as sent, e.g. `2.5.1`. */
  readonly version: string;
  /** MSH-9.1 and MSH-9.2, e.g. `ADT` and `A01`. */
  readonly messageCode: string;
  readonly triggerEvent: string;
  /** MSH-10. */
  readonly controlId: string;
  /** First segment of `id`, or undefined. */
  first(id: string): V2Segment | undefined;
  /** Every segment of `id`, in order. */
  all(id: string): V2Segment[];
}

/** A repetition's value: component and sub-component, 1-based. */
export function repValue(rep: V2Repetition | undefined, component = 1, subComponent = 1): V2Value {
  return rep?.[component - 1]?.[subComponent - 1];
}

/** The non-empty string value, or undefined (for `null` deletes too). */
export function text(value: V2Value): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

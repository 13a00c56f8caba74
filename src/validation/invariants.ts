import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { ElementDefinitionConstraint, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { makeIssue } from './issues.js';
import type { ElementItem } from './json-items.js';

/** Variables FHIR defines for invariants (https://hl7.org/fhir/R4/fhirpath.html#variables). */
export interface InvariantEnv {
  resource: unknown;
  rootResource: unknown;
}

/** A constraint compiled once, run against many element instances. */
export interface Invariant {
  readonly key: string;
  readonly severity: 'error' | 'warning';
  readonly human: string;
  readonly expression: string;
  /** Best-practice rules (dom-6) are advice for whole resources, not for contained ones. */
  readonly bestPractice: boolean;
  /**
   * Runs the expression on `context` (an element instance, or its parent for list invariants).
   * Returns the raw result, or undefined when fhirpath.js could not evaluate it.
   */
  run(context: unknown, env: InvariantEnv): unknown[] | undefined;
}

/**
 * Constraints FhirGate checks natively instead of through fhirpath.js:
 * - ele-1 and ext-1 hold on every element / extension, so evaluating them through FHIRPath
 *   would dominate validation time for a trivial structural rule;
 * - dom-3 uses `descendants().as(canonical)`, which fhirpath.js 5 rejects ("Expected singleton
 *   on left side of 'as'") on any resource with contained content;
 * - txt-1 and txt-2 (`htmlChecks()` on Narrative.div) need corrections fhirpath.js lacks
 *   (`xml:lang`, telling the two apart; issue 20).
 * See `native-invariants.ts` and `narrative.ts`.
 */
export const NATIVE_INVARIANTS: ReadonlySet<string> = new Set(['ele-1', 'ext-1', 'dom-3', 'txt-1', 'txt-2']);

type Json = Record<string, unknown>;
const objectOf = (value: unknown): Json | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined);

/**
 * Sufficient conditions, read from the JSON, under which a base invariant holds, by its exact
 * expression: when one is met, fhirpath.js is not run (its result could only be `true` or empty).
 * These invariants hold on every Reference, ContactPoint, Period and resource, so evaluating them
 * was most of a Patient's validation time (issue 19 item 8); when the condition is not met (a
 * contained resource, a local `#` reference, a phone without system) fhirpath.js decides as before.
 * `test/validation/sure-invariants.test.ts` checks each against fhirpath.js.
 */
export const SURELY_HOLDS: Readonly<Record<string, (element: Json) => boolean>> = {
  // dom-2, dom-4, dom-5: rules about contained resources, of which there are none.
  'contained.contained.empty()': (e) => e.contained === undefined,
  'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()': (e) => e.contained === undefined,
  'contained.meta.security.empty()': (e) => e.contained === undefined,
  // dom-6 (best practice): a narrative with its div.
  'text.`div`.exists()': (e) => typeof objectOf(e.text)?.div === 'string',
  // ref-1: only a local reference (`#id`) is looked up among the contained resources.
  "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))": (e) =>
    typeof e.reference === 'string' ? !e.reference.startsWith('#') : e.reference === undefined && e._reference === undefined,
  // cpt-2: a system, or no value.
  'value.empty() or system.exists()': (e) => typeof e.system === 'string' || (e.value === undefined && e._value === undefined),
  // per-1: an open period.
  'start.hasValue().not() or end.hasValue().not() or (start <= end)': (e) => e.start === undefined || e.end === undefined,
  // pat-1 (Patient.contact): a contact with a name, an address, an organization or a telecom (issue 14).
  'name.exists() or telecom.exists() or address.exists() or organization.exists()': (e) =>
    [e.name, e.address, e.organization].some(nonEmptyObject) || (Array.isArray(e.telecom) && e.telecom.some(nonEmptyObject)),
};

/**
 * The other side: conditions, read from the JSON, under which a base invariant surely fails
 * (fhirpath.js could only answer `false`), so it is reported without running fhirpath.js (issue 14).
 * `test/validation/sure-invariants.test.ts` checks each against fhirpath.js.
 */
export const SURELY_FAILS: Readonly<Record<string, (element: Json) => boolean>> = {
  // dom-6 (best practice, a warning): no narrative at all, the usual case of a resource sent by a system.
  'text.`div`.exists()': (e) => e.text === undefined && e._text === undefined,
};

function nonEmptyObject(value: unknown): boolean {
  const object = objectOf(value);
  return object !== undefined && Object.keys(object).length > 0;
}

/** Whether an element has no child `name`: neither the value nor its `_name` twin nor a choice variant (`nameQuantity`). */
function lacks(element: Json, name: string): boolean {
  for (const key of Object.keys(element)) {
    const bare = key.charCodeAt(0) === 95 ? key.slice(1) : key; // `_name`
    if (bare === name) return false;
    if (bare.length > name.length && bare.startsWith(name)) {
      const next = bare.charCodeAt(name.length);
      if (next >= 65 && next <= 90) return false;
    }
  }
  return true;
}

/**
 * The two shapes most datatype invariants take (tim-1..10, qty-3, cpt-2 and many more):
 * `x.empty() or …` and `x.exists() implies …` hold whatever follows when the element has no `x`
 * (FHIRPath `true or {}` is true, `false implies {}` is true).
 */
const GUARD = /^([a-z][A-Za-z0-9]*)\.(empty\(\) or |exists\(\) implies )/;
export function guardOf(expression: string): ((element: Json) => boolean) | undefined {
  const match = GUARD.exec(expression);
  // `implies` and `xor` bind looser than `or` or chain (`a or b implies c` is `(a or b) implies c`): then the guard decides nothing.
  if (!match || /\b(implies|xor)\b/.test(expression.slice(match[0].length))) return undefined;
  const name = match[1];
  return (element) => lacks(element, name);
}

const UCUM = 'http://unitsofmeasure.org';
const BEST_PRACTICE = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice';
const quiet = { traceFn: () => undefined };

/**
 * Compiles a constraint's FHIRPath with `base` giving fhirpath.js the element's type context
 * (needed for choice types such as `value`). When `listOf` is given, the expression is
 * wrapped as `` `listOf`.select(expression) `` and run on the parent: used for constraints on
 * primitive elements, whose bare JSON value carries neither its FHIR type nor its `_name`
 * extensions, so they are reached from the parent like FHIRPath itself would.
 * Returns undefined for constraints without an expression, natively checked ones, or
 * expressions fhirpath.js cannot parse (skipped rather than failing every write).
 */
export function compileInvariant(constraint: ElementDefinitionConstraint, base: string, listOf?: string): Invariant | undefined {
  const { key, expression } = constraint;
  if (!expression || NATIVE_INVARIANTS.has(key)) return undefined;
  const source = listOf ? `\`${listOf}\`.select(${expression})` : expression;
  let compiled: (context: unknown, vars: Record<string, unknown>) => unknown;
  try {
    compiled = fhirpath.compile({ base, expression: source }, r4Model, quiet) as typeof compiled;
  } catch {
    return undefined;
  }
  const holds = listOf ? undefined : (SURELY_HOLDS[expression] ?? guardOf(expression));
  const fails = listOf ? undefined : SURELY_FAILS[expression];
  return {
    key,
    severity: constraint.severity === 'warning' ? 'warning' : 'error',
    human: constraint.human ?? '',
    expression,
    bestPractice: constraint.extension?.some((e) => e.url === BEST_PRACTICE && e.valueBoolean === true) ?? false,
    run(context, env) {
      const element = (holds || fails) && objectOf(context);
      if (element && holds?.(element)) return [true];
      if (element && fails?.(element)) return [false];
      try {
        const result = compiled(context, { resource: env.resource, rootResource: env.rootResource, ucum: UCUM });
        return Array.isArray(result) ? result : [result];
      } catch {
        // An expression fhirpath.js cannot evaluate on this data (unsupported function or type)
        // says nothing about the resource; skipping it avoids false rejections.
        return undefined;
      }
    },
  };
}

/** Compiles every constraint that can be compiled (see `compileInvariant`). */
export function compileInvariants(constraints: readonly ElementDefinitionConstraint[], base: string, listOf?: string): Invariant[] {
  return constraints.map((c) => compileInvariant(c, base, listOf)).filter((i): i is Invariant => i !== undefined);
}

/**
 * Runs a primitive element's invariant once on the parent and maps the per-occurrence results
 * back to the occurrences; when they cannot be paired, a failure is reported on the element.
 */
export function runListInvariant(inv: Invariant, parent: unknown, items: readonly ElementItem[], elementLocation: string, env: InvariantEnv, profile?: string): OperationOutcomeIssue[] {
  const result = inv.run(parent, env);
  if (!result) return [];
  if (result.length === items.length) return items.filter((_, i) => result[i] === false).map((item) => invariantIssue(inv, item.location, profile));
  return failed(result) ? [invariantIssue(inv, elementLocation, profile)] : [];
}

/**
 * Whether a result means the invariant failed. Only an explicit `false` fails: an empty result
 * is FHIRPath's "unknown" (e.g. comparing dates of different precision), which is not a violation.
 */
export function failed(result: unknown[] | undefined): boolean {
  return result !== undefined && result.length > 0 && result.every((r) => r === false);
}

/** The issue reported for a failed invariant. */
export function invariantIssue(inv: Pick<Invariant, 'key' | 'severity' | 'human'>, location: string, profile?: string): OperationOutcomeIssue {
  const from = profile ? ` (profile ${profile})` : '';
  return makeIssue(inv.severity, 'invariant', `${inv.key}: ${inv.human}${from}`, location);
}

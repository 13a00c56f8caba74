import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { navigationRoot } from '../search/index/expression.js';
import { nationalIdentifiers, wholeElementSelect, type DirectSelect } from './direct-select.js';
import { pathOf, type Step } from './redact.js';

/**
 * Identifier systems and v2-0203 identifier types of national identifiers (social security,
 * national person, passport, driver's licence numbers: HL7 v2 PID-19/PID-20, issue 19).
 * Identifiers of other systems (e.g. an MRN) stay in clear.
 */
const NATIONAL_ID_SYSTEMS = [
  'http://hl7.org/fhir/sid/us-ssn',
  'urn:oid:2.16.840.1.113883.4.1', // US SSN
  'https://fhir.nhs.uk/Id/nhs-number',
  'http://fhir.nl/fhir/NamingSystem/bsn',
  'urn:oid:2.16.840.1.113883.2.4.6.3', // Dutch BSN
  'urn:oid:1.2.250.1.213.1.4.8', // French INS-NIR
  'http://ns.electronichealth.net.au/id/hi/ihi/1.0',
];
const NATIONAL_ID_TYPES = ['SS', 'NI', 'PPN', 'DL'];
const NATIONAL_ID =
  `Patient.identifier.where(system in (${NATIONAL_ID_SYSTEMS.map((s) => `'${s}'`).join(' | ')})` +
  ` or type.coding.where(system = 'http://terminology.hl7.org/CodeSystem/v2-0203' and (code in (${NATIONAL_ID_TYPES.map((c) => `'${c}'`).join(' | ')}) or code.startsWith('NN'))).exists())`;
/** The default national-identifier rule, read without fhirpath.js (direct-select.ts). */
const NATIONAL_ID_SELECT = nationalIdentifiers(NATIONAL_ID_SYSTEMS, NATIONAL_ID_TYPES);

/**
 * The elements encrypted at rest unless FHIRGATE_ENCRYPTED_ELEMENTS says otherwise (issue 9).
 * The narrative (`text`) is included where it is there: it usually renders the very
 * addresses, phone numbers and notes that are encrypted.
 */
export const DEFAULT_ENCRYPTED_ELEMENTS: Readonly<Record<string, readonly string[]>> = {
  Patient: [NATIONAL_ID, 'Patient.telecom', 'Patient.address', 'Patient.contact', 'Patient.photo', 'Patient.text'],
  MedicationRequest: ['MedicationRequest.note', 'MedicationRequest.text'],
  Consent: ['Consent.sourceAttachment', 'Consent.text'],
};

/** Elements the server itself needs in clear. */
const NEVER_ENCRYPTED = new Set(['id', 'meta', 'resourceType']);

/** Which elements of which type are sensitive; expressions compiled once. */
export interface SensitiveElements {
  /** Top-level elements (JSON keys) the expressions of a type start from, e.g. `telecom`, `sourceAttachment`. */
  roots(resourceType: string): ReadonlySet<string>;
  /** The configured expressions of a type, for messages. */
  expressions(resourceType: string): readonly string[];
  /** JSON paths of the sensitive values present in a resource (none: nothing to encrypt). */
  select(resource: Resource): Step[][];
}

/** An expression compiled once, with the top-level element it starts from. */
interface Compiled {
  root: string;
  evaluate: (resource: unknown) => unknown;
  /** The same selection read from the JSON, when the expression has such a form (direct-select.ts). */
  direct?: DirectSelect;
}

/** Whether a resource has the element: as is, as a primitive's `_x` twin, or as a choice variant (`source` → `sourceAttachment`). */
function present(resource: Record<string, unknown>, keys: readonly string[], root: string): boolean {
  if (root in resource || `_${root}` in resource) return true;
  return keys.some((k) => k.length > root.length && k.startsWith(root) && /[A-Z]/.test(k.charAt(root.length)));
}

/** Whether `root` is an element of the type: directly, or as a variant of a choice (`sourceAttachment` of `source[x]`). */
function elementOf(sd: StructureDefinition, type: string, root: string): { min: number } | undefined {
  for (const el of sd.snapshot?.element ?? []) {
    const p = el.path ?? '';
    if (p === `${type}.${root}`) return { min: el.min ?? 0 };
    if (p.endsWith('[x]') && p.startsWith(`${type}.`)) {
      const stem = p.slice(type.length + 1, -3);
      if (root === stem || (root.startsWith(stem) && /^[A-Z]/.test(root.slice(stem.length)))) return { min: el.min ?? 0 };
    }
  }
  return undefined;
}

/**
 * Checks and compiles the configuration. Each expression must start at its type and navigate
 * from one optional top-level element (`Patient.telecom`, `Patient.identifier.where(...)`): the
 * stored resource stays valid FHIR without it, and the search index can tell which parameters
 * it touches. Returns the problems instead of throwing, so all of them are reported at once.
 */
export function createSensitiveElements(
  config: Readonly<Record<string, readonly string[]>>,
  structureDefinition: (type: string) => StructureDefinition | undefined,
): { elements: SensitiveElements; problems: string[] } {
  const problems: string[] = [];
  const compiled = new Map<string, Compiled[]>();
  const roots = new Map<string, Set<string>>();
  for (const [type, expressions] of Object.entries(config)) {
    const sd = structureDefinition(type);
    if (!sd) {
      problems.push(`'${type}' is not a served resource type`);
      continue;
    }
    for (const expression of expressions) {
      const root = expression.startsWith(`${type}.`) ? navigationRoot(expression) : undefined;
      const element = root ? elementOf(sd, type, root) : undefined;
      if (!root) problems.push(`'${expression}' must start with '${type}.' and only navigate (with where/ofType/as filters) from one element`);
      else if (NEVER_ENCRYPTED.has(root)) problems.push(`'${expression}': ${type}.${root} is needed in clear by the server`);
      else if (!element) problems.push(`'${expression}': ${type} has no element '${root}'`);
      else if (element.min > 0) problems.push(`'${expression}': ${type}.${root} is required, so the stored resource would be invalid without it`);
      if (!root || !element || element.min > 0 || NEVER_ENCRYPTED.has(root)) continue;
      try {
        const evaluate = fhirpath.compile(expression, r4Model, { resolveInternalTypes: false, traceFn: () => undefined }) as Compiled['evaluate'];
        const direct = type === 'Patient' && expression === NATIONAL_ID ? NATIONAL_ID_SELECT : wholeElementSelect(sd, type, expression);
        compiled.set(type, [...(compiled.get(type) ?? []), { root, evaluate, ...(direct ? { direct } : {}) }]);
        roots.set(type, (roots.get(type) ?? new Set()).add(root));
      } catch (err) {
        problems.push(`'${expression}' does not compile: ${(err as Error).message}`);
      }
    }
  }
  const none = new Set<string>();
  return {
    problems,
    elements: {
      roots: (type) => roots.get(type) ?? none,
      expressions: (type) => config[type] ?? [],
      select(resource) {
        const expressions = compiled.get(resource.resourceType);
        if (!expressions) return [];
        const record = resource as unknown as Record<string, unknown>;
        const keys = Object.keys(record);
        const paths: Step[][] = [];
        for (const { root, evaluate, direct } of expressions) {
          // Most resources lack most sensitive elements: skip the FHIRPath engine for those.
          if (!present(record, keys, root)) continue;
          const found = direct?.(record);
          if (found) {
            paths.push(...found);
            continue;
          }
          const result = evaluate(resource);
          for (const value of Array.isArray(result) ? result : [result]) paths.push(pathOf(value));
        }
        return paths;
      },
    },
  };
}

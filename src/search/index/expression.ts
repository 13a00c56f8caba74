/**
 * Text-level handling of the official SearchParameter expressions: restricting a multi-type
 * expression to one resource type, and taking out the `resolve()` filters fhirpath.js cannot
 * run synchronously. Only the shapes the R4 definitions use are recognized; anything else is
 * passed to fhirpath.js unchanged.
 */

/** One `|` branch of an expression, ready to compile. */
export interface ExpressionBranch {
  /** The branch with any `.where(resolve() is T)` removed. */
  expression: string;
  /** `T` of a removed `.where(resolve() is T)`: only references to that type belong to the branch. */
  targetType?: string;
  /**
   * The top-level element the branch starts from, when the branch is plain navigation:
   * a resource without that element cannot yield a value, so evaluation can be skipped.
   */
  rootElement?: string;
}

/** Splits on `|` outside parentheses and string literals. */
export function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

/** The type a branch navigates from: `Patient` for `Patient.name` and `(Patient.deceased as dateTime)`. */
function branchType(branch: string): string | undefined {
  return /^\(*\s*([A-Za-z]+)\b/.exec(branch)?.[1];
}

/**
 * The branches of `expression` that apply to `resourceType`: e.g. `Patient.name | Practitioner.name`
 * keeps `Patient.name` for Patient. Branches on `Resource` / `DomainResource` apply to every type.
 */
export function restrictToType(expression: string, resourceType: string): string[] {
  return splitUnion(expression).filter((branch) => {
    const type = branchType(branch);
    return type === resourceType || type === 'Resource' || type === 'DomainResource';
  });
}

const RESOLVE_FILTER = /\.where\(\s*resolve\(\)\s+is\s+([A-Za-z]+)\s*\)/;

/**
 * Prepares one branch for fhirpath.js. `resolve()` needs the target resource (asynchronously,
 * in fhirpath.js); the index stores references, not targets, so `X.where(resolve() is T)` is
 * evaluated as `X` and narrowed to references whose type is `T`
 * (https://hl7.org/fhir/R4/fhirpath.html#functions).
 */
export function prepareBranch(branch: string): ExpressionBranch {
  const match = RESOLVE_FILTER.exec(branch);
  const expression = match ? branch.replace(RESOLVE_FILTER, '') : branch;
  const targetType = match?.[1];
  const rootElement = navigationRoot(expression);
  return { expression, ...(targetType ? { targetType } : {}), ...(rootElement ? { rootElement } : {}) };
}

/**
 * `name` for `Patient.name.family`, `(X.medication as CodeableConcept)` or
 * `Patient.telecom.where(system='email')`: expressions that only navigate down from one
 * top-level element, so an absent element means an empty result. Undefined for anything with
 * top-level logic (e.g. `Patient.deceased.exists() and ...`, which is `false`, not empty).
 */
export function navigationRoot(expression: string): string | undefined {
  const match = /^(\(?)[A-Za-z]+\.([a-z][A-Za-z0-9]*)(.*)$/.exec(expression.trim());
  if (!match) return undefined;
  let cast = match[1] === '('; // `(X.y as T)`: the cast must close the parenthesis
  let rest = match[3];
  while (rest.length > 0) {
    const filter = /^\.(where|as|ofType)\(/.exec(rest);
    const step = /^\.[a-z][A-Za-z0-9]*/.exec(rest);
    const castEnd = cast ? /^\s+as\s+[A-Za-z]+\s*\)/.exec(rest) : null;
    if (filter) {
      const close = closingParen(rest, filter[0].length - 1);
      if (close < 0) return undefined;
      rest = rest.slice(close + 1);
    } else if (step) {
      rest = rest.slice(step[0].length);
    } else if (castEnd) {
      rest = rest.slice(castEnd[0].length);
      cast = false;
    } else {
      return undefined;
    }
  }
  return cast ? undefined : match[2];
}

function closingParen(text: string, open: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'" && text[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Fixed and pattern values (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.fixed_x_):
 * a fixed value must be matched exactly; a pattern only requires the instance to contain it
 * (every property the pattern has, with arrays matched item by item to some instance item).
 */
export function equalsFixed(value: unknown, fixed: unknown): boolean {
  if (value === fixed) return true;
  if (Array.isArray(value) || Array.isArray(fixed)) {
    return Array.isArray(value) && Array.isArray(fixed) && value.length === fixed.length && value.every((v, i) => equalsFixed(v, fixed[i]));
  }
  if (!isRecord(value) || !isRecord(fixed)) return false;
  const keys = Object.keys(fixed);
  return keys.length === Object.keys(value).length && keys.every((k) => equalsFixed(value[k], fixed[k]));
}

/** Whether `value` contains everything `pattern` has. */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return pattern.every((p) => values.some((v) => matchesPattern(v, p)));
  }
  if (isRecord(pattern)) {
    return isRecord(value) && Object.entries(pattern).every(([k, p]) => matchesPattern(value[k], p));
  }
  return value === pattern;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A decimal with the range its written precision implies. */
export interface NumberRange {
  value: number;
  /** Inclusive lower bound: value minus half a unit in the last written digit. */
  lo: number;
  /** Exclusive upper bound: value plus half a unit in the last written digit. */
  hi: number;
}

const DECIMAL = /^([+-]?)(\d+)?(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a decimal as written and derives its implicit range from its significant digits
 * (https://hl7.org/fhir/R4/search.html#number): `100` is [99.5, 100.5), `100.00` is
 * [99.995, 100.005), `1e2` is [50, 150). Returns undefined for anything else.
 */
export function numberRange(text: string): NumberRange | undefined {
  const m = DECIMAL.exec(text);
  if (!m || (m[2] === undefined && !m[3])) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  const fractionDigits = m[3]?.length ?? 0;
  const exponent = m[4] === undefined ? 0 : Number(m[4]);
  const lastDigit = exponent - fractionDigits; // the power of ten of the last written digit
  const half = 10 ** lastDigit / 2;
  // Rounding to one digit below the last written one removes binary noise (100.005 - 0.005).
  const digits = Math.min(100, Math.max(0, 1 - lastDigit));
  return { value, lo: round(value - half, digits), hi: round(value + half, digits) };
}

function round(n: number, digits: number): number {
  return digits > 0 ? Number(n.toFixed(Math.min(digits, 100))) : n;
}

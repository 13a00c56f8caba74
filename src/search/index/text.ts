/**
 * Text normalization shared by extraction and compilation, so that stored values and
 * search values are folded the same way.
 */

const COMBINING_MARKS = /\p{M}+/gu;

/**
 * Case- and accent-insensitive form of a string (https://hl7.org/fhir/R4/search.html#string):
 * decomposed (NFD), combining marks removed, lower-cased. `Müller` and `MULLER` both fold to `muller`.
 */
export function fold(text: string): string {
  return text.normalize('NFD').replace(COMBINING_MARKS, '').toLowerCase();
}

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|]/g;

/**
 * Escapes text for use inside a regular expression, so that user input only ever matches
 * itself: no metacharacters, hence no injected patterns and no catastrophic backtracking.
 */
export function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, '\\$&');
}

const SOUNDEX_CODES: Readonly<Record<string, string>> = {
  b: '1', f: '1', p: '1', v: '1',
  c: '2', g: '2', j: '2', k: '2', q: '2', s: '2', x: '2', z: '2',
  d: '3', t: '3',
  l: '4',
  m: '5', n: '5',
  r: '6',
};

/**
 * American Soundex of one word (`Smith` and `Smyth` are both `s530`), the phonetic algorithm
 * FhirGate uses for `phonetic` parameters, whose matching the spec leaves to the server.
 * Returns undefined for words without letters.
 */
export function soundex(word: string): string | undefined {
  const letters = fold(word).replace(/[^a-z]/g, '');
  if (letters.length === 0) return undefined;
  let code = letters[0];
  let previous = SOUNDEX_CODES[letters[0]] ?? '';
  for (let i = 1; i < letters.length && code.length < 4; i++) {
    const ch = letters[i];
    const digit = SOUNDEX_CODES[ch];
    if (digit && digit !== previous) code += digit;
    // h and w do not separate equal codes; vowels do.
    if (ch !== 'h' && ch !== 'w') previous = digit ?? '';
  }
  return code.padEnd(4, '0');
}

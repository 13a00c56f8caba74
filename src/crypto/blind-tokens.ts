import { createHmac } from 'node:crypto';
import type { SearchParamType } from '../search/types.js';
import type { IndexKey } from './key-ring.js';

/**
 * Keyed HMAC tokens of a blind index (issue 9): what `record.index` holds for a parameter over
 * encrypted elements instead of the values. A token is HMAC-SHA256 under an index key of
 * (resource type, parameter, match form, value parts), truncated to 128 bits: equal inputs give
 * equal tokens, so exact matches work, while neither the value nor a deterministic ciphertext of
 * it is stored, and the same phone number gives unrelated tokens in different parameters.
 *
 * Match forms (https://hl7.org/fhir/R4/search.html#token):
 *
 * | form | input                        | query                                      |
 * |------|------------------------------|--------------------------------------------|
 * | `c`  | code / value                 | `code` (any system)                        |
 * | `sc` | system, code                 | `system\|code`                             |
 * | `nc` | code of a value without system | `\|code`                                  |
 * | `s`  | system                       | `system\|` (reveals which records share a system, not the values) |
 * | `ty` | type system, type code, value | `:of-type`                                |
 * | `e`  | exact string                 | `:exact` on string parameters              |
 * | `r`  | `Type/id`                    | reference parameters                       |
 * | `u`  | uri                          | uri parameters (exact)                     |
 */
export type Form = [form: 'c' | 'sc' | 'nc' | 's' | 'ty' | 'e' | 'r' | 'u', ...parts: string[]];

/** The token of one form under one key. */
export function token(key: IndexKey, resourceType: string, code: string, form: Form): string {
  // JSON of the array is an unambiguous encoding: no part can shift into another.
  return createHmac('sha256', key.secret).update(JSON.stringify([resourceType, code, ...form])).digest().subarray(0, 16).toString('base64url');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * The match forms one plaintext index entry (see `search/index/fields.ts`) supports. Types
 * without exact-match semantics (dates, numbers, quantities, composites) give none: their
 * entries only record that a value exists, for `:missing`.
 */
export function formsOfEntry(type: SearchParamType, entry: Record<string, unknown>): Form[] {
  switch (type) {
    case 'token': {
      const s = str(entry.s);
      const c = str(entry.c);
      const forms: Form[] = [];
      if (c) forms.push(['c', c], s ? ['sc', s, c] : ['nc', c]);
      if (s) forms.push(['s', s]);
      if (c && Array.isArray(entry.ty)) {
        for (const t of entry.ty as Array<Record<string, unknown>>) {
          const ts = str(t.s);
          const tc = str(t.c);
          if (ts && tc) forms.push(['ty', ts, tc, c]);
        }
      }
      return forms;
    }
    case 'string':
      return str(entry.e) ? [['e', entry.e as string]] : [];
    case 'reference':
      return str(entry.r) ? [['r', entry.r as string]] : [];
    case 'uri':
      return str(entry.u) ? [['u', entry.u as string]] : [];
    default:
      return [];
  }
}

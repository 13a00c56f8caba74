import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { navigationRoot, prepareBranch, splitUnion } from '../search/index/expression.js';
import { entriesPath, indexKey, sortKey } from '../search/index/fields.js';
import { anyOf } from '../search/index/filter.js';
import { SearchRefusal } from '../search/refusal.js';
import type { SearchIndex, SearchParamDef } from '../search/types.js';
import type { Filter } from '../store/port.js';
import { formsOfEntry, token, type Form } from './blind-tokens.js';
import type { SensitiveElements } from './elements.js';
import type { KeyRingRef } from './jwe-codec.js';

/** `record.index` field naming the index key the record's tokens were made with (rotation re-indexes the others). */
export const INDEX_KID_FIELD = '__bidx';

/**
 * The encrypted top-level elements a parameter reads: those a branch navigates from, or whose
 * choice element it navigates from (a reference parameter on `source[x]` reads only
 * `sourceReference`, so an encrypted `sourceAttachment` leaves it in clear). Branches that are
 * not plain navigation count when they mention the element at all.
 */
function encryptedRootsRead(def: SearchParamDef, roots: ReadonlySet<string>): string[] {
  if (!def.expression || roots.size === 0) return [];
  const read = new Set<string>();
  for (const branch of splitUnion(def.expression)) {
    const root = navigationRoot(prepareBranch(branch).expression);
    for (const e of roots) {
      const hit =
        root === undefined
          ? new RegExp(`\\b${def.resourceType}\\.${e}\\b`).test(branch)
          : root === e ||
            (e.startsWith(root) && /^[A-Z]/.test(e.slice(root.length)) && (def.type !== 'reference' || e === `${root}Reference`)) ||
            (root.startsWith(e) && /^[A-Z]/.test(root.slice(e.length)));
      if (hit) read.add(e);
    }
  }
  return [...read];
}

function refuse(def: SearchParamDef, elements: SensitiveElements, what: string): SearchRefusal {
  const read = encryptedRootsRead(def, elements.roots(def.resourceType)).map((e) => `${def.resourceType}.${e}`);
  return new SearchRefusal(
    `Search parameter '${def.code}' of ${def.resourceType} reads encrypted elements (${read.join(', ')}), which are indexed only as keyed hashes: ${what}`,
    [def.code],
  );
}

/** The match form of one query value; undefined when the value needs a match the blind index cannot do. */
function queryForm(def: SearchParamDef, modifier: string | undefined, value: string): Form | undefined {
  if (value.length === 0) throw new FhirError('bad-request', `Search parameter '${def.code}' needs a non-empty value`);
  switch (def.type) {
    case 'token': {
      if (modifier === 'of-type') {
        const [ts, tc, ...rest] = value.split('|');
        const v = rest.join('|');
        if (!ts || !tc || !v) throw new FhirError('bad-request', `Search parameter '${def.code}:of-type' needs a value of the form type-system|type-code|value`);
        return ['ty', ts, tc, v];
      }
      if (modifier !== undefined && modifier !== 'not') return undefined;
      const bar = value.indexOf('|');
      if (bar < 0) return ['c', value];
      const system = value.slice(0, bar);
      const code = value.slice(bar + 1);
      if (!system && !code) throw new FhirError('bad-request', `Search parameter '${def.code}' needs a non-empty value`);
      return !system ? ['nc', code] : !code ? ['s', system] : ['sc', system, code];
    }
    case 'string':
      return modifier === 'exact' ? ['e', value] : undefined;
    case 'reference':
      return modifier === undefined && /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(value) ? ['r', value] : undefined;
    case 'uri':
      return modifier === undefined ? ['u', value] : undefined;
    default:
      return undefined;
  }
}

const WHAT_WORKS: Readonly<Record<string, string>> = {
  token: 'only code, system|code, |code, system|, :not, :of-type and :missing searches are possible',
  string: 'only exact matches (:exact) and :missing are possible',
  reference: 'only Type/id and :missing are possible',
  uri: 'only exact matches and :missing are possible',
};

/**
 * The search index with a blind index over encrypted elements (issue 9), layered on the plain one:
 * `extract` replaces the entries of every parameter that reads an encrypted element by keyed
 * HMAC tokens (and drops its sort values); `compile` turns exact-match queries on those
 * parameters into the same tokens (under every index key of the ring, so records not yet
 * re-indexed by a rotation still match) and refuses every other kind of search with a 400.
 */
export function blindIndex(inner: SearchIndex, options: { ring: KeyRingRef; elements: SensitiveElements; resourceTypes: readonly string[] }): SearchIndex {
  const { ring, elements } = options;
  const blind = new Map<string, Map<string, SearchParamDef>>();
  for (const type of options.resourceTypes) {
    const roots = elements.roots(type);
    // Types without encrypted elements have nothing to blind (and their parameters stay uncompiled until used).
    if (roots.size === 0) continue;
    const params = [...inner.params(type).values()].filter((def) => encryptedRootsRead(def, roots).length > 0);
    if (params.length > 0) blind.set(type, new Map(params.map((def) => [def.code, def])));
  }
  const blindParam = (type: string, code: string): SearchParamDef | undefined => blind.get(type)?.get(code);

  function tokensOf(def: SearchParamDef, forms: Form[], all: boolean): string[] {
    const keys = all ? ring.current.indexKeys : ring.current.indexKeys.slice(0, 1);
    return forms.flatMap((form) => keys.map((key) => token(key, def.resourceType, def.code, form)));
  }

  function extract(resource: Resource): Record<string, unknown> {
    const index = inner.extract(resource);
    const params = blind.get(resource.resourceType);
    if (!params) return index;
    let hashed = false;
    for (const def of params.values()) {
      const key = indexKey(def.code);
      delete index[sortKey(def.code, 1)];
      delete index[sortKey(def.code, -1)];
      const entries = index[key];
      if (!Array.isArray(entries)) continue;
      index[key] = entries.map((entry) => ({ h: [...new Set(tokensOf(def, formsOfEntry(def.type, entry as Record<string, unknown>), false))] }));
      hashed = true;
    }
    if (hashed) index[INDEX_KID_FIELD] = ring.current.indexKeys[0].kid;
    return index;
  }

  function compile(type: string, code: string, modifier: string | undefined, values: string[]): Filter {
    const def = blindParam(type, code);
    if (!def || modifier === 'missing' || values.length === 0) return inner.compile(type, code, modifier, values);
    const path = entriesPath(code);
    const perValue = values.map((value) => {
      const form = queryForm(def, modifier, value);
      if (!form) throw refuse(def, elements, WHAT_WORKS[def.type] ?? 'no search on it is possible except :missing');
      return tokensOf(def, [form], true);
    });
    if (modifier === 'not') return { [path]: { $not: { $elemMatch: { h: { $in: perValue.flat() } } } } };
    // $elemMatch, not a dotted path: `h` is an array inside an array of entries.
    return anyOf(perValue.map((tokens) => ({ [path]: { $elemMatch: { h: tokens.length === 1 ? tokens[0] : { $in: tokens } } } })));
  }

  return {
    params: (type) => inner.params(type),
    extract,
    compile,
    compileReferenceIn(type, code, references) {
      const def = blindParam(type, code);
      if (!def) return inner.compileReferenceIn(type, code, references);
      return { [entriesPath(code)]: { $elemMatch: { h: { $in: tokensOf(def, [...new Set(references)].map((r): Form => ['r', r]), true) } } } };
    },
    // Blind entries hold no references, so `_include` and `_revinclude` find none through them.
    referencesOf: (record, code) => inner.referencesOf(record, code),
    // From the clear resource: who a resource belongs to does not depend on how its index is stored.
    referencesIn: (resource, codes) => inner.referencesIn(resource, codes),
    sortField(type, code, direction) {
      const def = blindParam(type, code);
      if (def) throw refuse(def, elements, 'it cannot be sorted on');
      return inner.sortField(type, code, direction);
    },
  };
}

/** The parameters a blind index hashes, by type (for documentation and tests). */
export function blindParams(index: SearchIndex, elements: SensitiveElements, resourceTypes: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const type of resourceTypes) {
    if (elements.roots(type).size === 0) continue;
    const codes = [...index.params(type).values()].filter((def) => encryptedRootsRead(def, elements.roots(type)).length > 0).map((d) => d.code);
    if (codes.length > 0) out[type] = codes.sort();
  }
  return out;
}

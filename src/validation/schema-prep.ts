/** The `$id` under which the prepared schema is registered with ajv. */
export const SCHEMA_ID = 'fhir';

type Schema = Record<string, unknown>;

/**
 * Adapts the official R4 JSON schema (draft-06) for per-type compilation with ajv 8:
 *
 * - the root `oneOf` over every resource (with its `discriminator`) is dropped: we compile
 *   one validator per resource type, so errors name the offending element instead of
 *   "must match exactly one schema" across 146 branches;
 * - `ResourceList` (contained resources, Bundle entries) becomes "an object with a
 *   resourceType": each contained resource is validated separately with its own type's
 *   validator, which keeps compilation small and messages precise;
 * - integer, positiveInt and unsignedInt get `type: integer` with bounds: the official schema
 *   types them as `number` with a string regex, which JSON numbers never meet, so 0, -1 or
 *   1.5 would pass. Choice properties (`multipleBirthInteger`) repeat the definition inline
 *   instead of referring to it; those copies are pointed at the fixed definitions;
 * - `enum`s on coded properties become plain `code`s: required bindings are checked against
 *   the terminology layer, which reports them once, as `code-invalid`, with the ValueSet;
 * - every complex type and resource gets `type: object`: the official schema only lists
 *   `properties`, which JSON Schema applies to objects alone, so a string or number where a
 *   HumanName or an Element (`_birthDate`) belongs would otherwise pass;
 * - `required` lists are dropped: cardinality is checked from the snapshots, which also
 *   accept a primitive present only through its `_name` companion (legal FHIR JSON the
 *   schema's `required` rejects) and locate the missing element precisely;
 * - empty strings, arrays and objects are refused: FHIR JSON has no `""`, `[]` or `{}`
 *   (https://hl7.org/fhir/R4/json.html), which the official patterns only partly say (`uri`'s
 *   `^\S*$` accepts `""`). Every string primitive gets `minLength: 1`, every array property
 *   `minItems: 1`, every complex type and resource `minProperties: 1`; `xhtml`, untyped in the
 *   official schema, becomes a string like the other primitives.
 */
export function prepareSchema(official: Schema): Schema {
  const schema = structuredClone(official);
  delete schema.$schema;
  delete schema.id;
  delete schema.discriminator;
  delete schema.oneOf;
  schema.$id = SCHEMA_ID;
  const definitions = schema.definitions as Record<string, Schema>;
  const resourceList = {
    type: 'object',
    required: ['resourceType'],
    properties: { resourceType: { type: 'string' } },
  };
  const integers = new Map(INTEGER_TYPES.map((t) => [definitions[t]?.pattern, t]));
  definitions.integer = { type: 'integer', minimum: -2147483648, maximum: 2147483647 };
  definitions.positiveInt = { type: 'integer', minimum: 1, maximum: 2147483647 };
  definitions.unsignedInt = { type: 'integer', minimum: 0, maximum: 2147483647 };
  definitions.xhtml = { ...definitions.xhtml, type: 'string' };
  for (const definition of Object.values(definitions)) {
    if (definition.properties && !definition.type) definition.type = 'object';
    if (definition.type === 'object') definition.minProperties = 1;
    if (definition.type === 'string') definition.minLength = 1;
    delete definition.required;
    replaceInline(definition, integers);
    for (const property of Object.values((definition.properties ?? {}) as Record<string, Schema>)) {
      if (property.type === 'array') property.minItems = 1;
    }
  }
  definitions.ResourceList = resourceList;
  return schema;
}

const INTEGER_TYPES = ['integer', 'positiveInt', 'unsignedInt'];

/** Replaces coded `enum`s and inline integer copies below `node` by references. */
function replaceInline(node: unknown, integers: ReadonlyMap<unknown, string>): void {
  if (Array.isArray(node)) {
    node.forEach((n) => replaceInline(n, integers));
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const obj = node as Schema;
  for (const [key, child] of Object.entries(obj)) {
    if (typeof child !== 'object' || child === null || Array.isArray(child)) {
      replaceInline(child, integers);
    } else if ('enum' in child) {
      obj[key] = { $ref: '#/definitions/code' };
    } else if ((child as Schema).type === 'number' && integers.has((child as Schema).pattern)) {
      obj[key] = { $ref: `#/definitions/${integers.get((child as Schema).pattern)}` };
    } else {
      replaceInline(child, integers);
    }
  }
}

import type { TypedValue } from './node.js';

/**
 * Search values read straight from the JSON of resource types whose parameters are all plain
 * paths, without the FHIRPath engine (issue 14). The server writes an AuditEvent for every
 * request: evaluating its ~20 parameter expressions with fhirpath.js was ~8% of a read's CPU.
 * Each path yields exactly the typed values fhirpath.js yields for the expression (FHIR type of
 * the element and its `Type.element` path, for bindings); `test/search/direct-values.test.ts`
 * checks the two agree on a table of AuditEvents.
 */

/** One branch expression answered directly: the JSON keys to follow, the element's FHIR type and path. */
interface DirectPath {
  keys: readonly string[];
  type: string;
  elementPath: string;
}

const path = (expression: string, type: string, elementPath?: string): [string, DirectPath] => {
  const [root, ...keys] = expression.split('.');
  return [expression, { keys, type, elementPath: elementPath ?? `${root}.${keys.join('.')}` }];
};

/** AuditEvent (R4): every search parameter's branch, after `.where(resolve() is T)` is taken out (expression.ts). */
const DIRECT: ReadonlyMap<string, ReadonlyMap<string, DirectPath>> = new Map([
  [
    'AuditEvent',
    new Map([
      path('Resource.meta.profile', 'canonical', 'Meta.profile'),
      path('Resource.meta.security', 'Coding', 'Meta.security'),
      path('Resource.meta.source', 'uri', 'Meta.source'),
      path('Resource.meta.tag', 'Coding', 'Meta.tag'),
      path('AuditEvent.action', 'code'),
      path('AuditEvent.agent.network.address', 'string'),
      path('AuditEvent.agent.who', 'Reference'),
      path('AuditEvent.agent.name', 'string'),
      path('AuditEvent.agent.role', 'CodeableConcept'),
      path('AuditEvent.agent.altId', 'string'),
      path('AuditEvent.agent.policy', 'uri'),
      path('AuditEvent.recorded', 'instant'),
      path('AuditEvent.entity.what', 'Reference'),
      path('AuditEvent.entity.name', 'string'),
      path('AuditEvent.entity.role', 'Coding'),
      path('AuditEvent.entity.type', 'Coding'),
      path('AuditEvent.outcome', 'code'),
      path('AuditEvent.source.site', 'string'),
      path('AuditEvent.source.observer', 'Reference'),
      path('AuditEvent.subtype', 'Coding'),
      path('AuditEvent.type', 'Coding'),
    ]),
  ],
]);

/** Follows `keys` from `node`, through repeating elements (arrays), collecting the non-null leaves. */
function collect(node: unknown, keys: readonly string[], at: number, out: unknown[]): void {
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const item of node) collect(item, keys, at, out);
    return;
  }
  if (at === keys.length) {
    out.push(node);
    return;
  }
  if (typeof node === 'object') collect((node as Record<string, unknown>)[keys[at]], keys, at + 1, out);
}

/**
 * The direct evaluation of one branch expression of a type, when it has one: a function from the
 * resource to its typed values; undefined when the expression must go through fhirpath.js.
 */
export function directBranch(resourceType: string, expression: string): ((resource: unknown) => TypedValue[]) | undefined {
  const direct = DIRECT.get(resourceType)?.get(expression);
  if (!direct) return undefined;
  const { keys, type, elementPath } = direct;
  return (resource) => {
    const leaves: unknown[] = [];
    collect(resource, keys, 0, leaves);
    return leaves.map((value) => ({ type, value, elementPath }));
  };
}

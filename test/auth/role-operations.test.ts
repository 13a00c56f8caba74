import { describe, expect, it } from 'vitest';
import { ROLE_TABLE } from '../../src/auth/roles.js';
import { INTERACTIONS } from '../../src/fhir/interactions/table.js';

// The role table names operations by string (auth must not import the report handlers); this keeps
// those names equal to the interaction table's rows that ask the role table (`access`).
const checked = new Set(Object.values(INTERACTIONS).flatMap((spec) => (spec.access ? [spec.access.name] : [])));

describe('role table operations', () => {
  it.each(Object.entries(ROLE_TABLE))('%s lists only operations the interaction table checks by role', (_role, rule) => {
    for (const name of rule.operations ?? []) expect(checked, `$${name}`).toContain(name);
  });

  it('every role-checked operation is granted to at least one role', () => {
    const granted = new Set(Object.values(ROLE_TABLE).flatMap((rule) => rule.operations ?? []));
    for (const name of checked) expect(granted, `$${name}`).toContain(name);
  });
});

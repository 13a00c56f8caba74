import { FhirError } from '../fhir/errors.js';

/**
 * A search the server refuses outright, whatever `Prefer: handling` says: applying the rest of the
 * criteria and dropping this one would return a superset the client did not ask for, without a
 * way to get the intended answer. Example: a string search over encrypted elements, which are
 * indexed only as keyed hashes (issue 9). Answered 400 with the reason.
 */
export class SearchRefusal extends FhirError {
  constructor(diagnostics: string, expression?: string[]) {
    super('bad-request', diagnostics, expression ? { expression } : {});
    this.name = 'SearchRefusal';
  }
}

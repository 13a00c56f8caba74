import type { InteractionDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult, Interaction } from '../request.js';
import { capabilities } from './capabilities.js';
import { create } from './create.js';
import { remove } from './delete.js';
import { historyInstance, historySystem, historyType } from './history.js';
import { read, vread } from './read.js';
import { batch } from './batch.js';
import { patch } from './patch.js';
import { everything, searchCompartment, searchType } from './search.js';
import { transaction } from './transaction.js';
import { update } from './update.js';
import { validate } from './validate.js';
import { match } from '../../patient-match/operation.js';
import { merge } from '../../patient-merge/operation.js';
import { REPORT_INTERACTIONS, REPORT_OPERATIONS } from '../../reports/index.js';

export type InteractionHandler = (request: FhirRequest, deps: InteractionDeps) => Promise<FhirResult>;

/** One generic handler per interaction, parameterized by resource type; no per-type code anywhere. */
export const INTERACTIONS: Readonly<Record<Interaction, InteractionHandler>> = {
  capabilities,
  read,
  vread,
  create,
  update,
  delete: remove,
  'history-instance': historyInstance,
  'history-type': historyType,
  validate,
  'search-type': searchType,
  'search-compartment': searchCompartment,
  everything,
  patch,
  'history-system': historySystem,
  transaction,
  batch,
  match,
  merge,
  ...REPORT_INTERACTIONS,
};

/** A type-level operation: on every served type unless `types` says which; `get` when it changes nothing and so may be invoked by GET (operations.html#request). */
export interface TypeOperation {
  interaction: Interaction;
  definition: string;
  types?: readonly string[];
  get?: boolean;
}

/** Type-level operations, by name as it appears after `$` in the URL; the CapabilityStatement lists exactly these. */
export const TYPE_OPERATIONS: Readonly<Record<string, TypeOperation>> = {
  validate: { interaction: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' },
  match: { interaction: 'match', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match', types: ['Patient'] },
  // R5's Patient/$merge (patient.html#merge), served on R4 (issue 18).
  merge: { interaction: 'merge', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-merge', types: ['Patient'] },
  ...REPORT_OPERATIONS,
};

/**
 * Instance-level operations invoked with a body (`POST [type]/[id]/$name`) on every served type.
 * They are the type-level operations of the same name, so the CapabilityStatement lists them once.
 */
export const INSTANCE_POST_OPERATIONS: Readonly<Record<string, { interaction: Interaction; definition: string }>> = {
  validate: TYPE_OPERATIONS.validate,
};

/** Instance-level operations (`[type]/[id]/$name`), with the types they apply to; the CapabilityStatement lists them. */
export const INSTANCE_OPERATIONS: Readonly<Record<string, { interaction: Interaction; definition: string; types: readonly string[] }>> = {
  everything: { interaction: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything', types: ['Patient'] },
};

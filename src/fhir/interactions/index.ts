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
};

/** Type-level operations, by name as it appears after `$` in the URL; the CapabilityStatement lists exactly these. */
export const TYPE_OPERATIONS: Readonly<Record<string, { interaction: Interaction; definition: string }>> = {
  validate: { interaction: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' },
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

import type { OperationNeed } from '../../auth/operation-access.js';
import type { Permission } from '../../auth/scopes.js';
import { match } from '../../patient-match/operation.js';
import { merge } from '../../patient-merge/operation.js';
import { REPORTS } from '../../reports/index.js';
import type { Exchange } from '../exchange.js';
import type { InteractionDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult, Interaction } from '../request.js';
import { batch } from './batch.js';
import { capabilities } from './capabilities.js';
import { create } from './create.js';
import { remove } from './delete.js';
import { historyInstance, historySystem, historyType } from './history.js';
import { patch } from './patch.js';
import { read, vread } from './read.js';
import { everything, searchCompartment, searchType } from './search.js';
import { transaction } from './transaction.js';
import { update } from './update.js';
import { validate } from './validate.js';

/**
 * An interaction's handler: generic over the resource type, plain data in and out. The exchange
 * (third argument) carries what the pipeline decided (grant, Consents, the records it loaded, the
 * transaction's unit); handlers that need none of it may ignore it.
 */
export type InteractionHandler = (request: FhirRequest, deps: InteractionDeps, exchange: Exchange) => Promise<FhirResult>;

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A URL pattern relative to the FHIR base, shared by HTTP and bundle entries (one router,
 * `src/fhir/routes.ts`): literal segments (`_history`, `$validate`) and `[type]`, `[id]`, `[vid]`,
 * `[target]` (a compartment search's type).
 */
export interface RoutePattern {
  method: RouteMethod;
  path: string;
  /** False for routes a bundle entry may not use (a Bundle inside a Bundle). */
  inEntries?: boolean;
}

/**
 * What the consent step does (README "Consent and audit"):
 * `none` skips it (the envelope or metadata); `result` decides on what the interaction returns;
 * `target` also decides on the resource named by id before running; `patient` on the whole
 * patient's record first (compartment search, $everything); `body` decides on what a write would store.
 */
export type ConsentMode = 'none' | 'result' | 'target' | 'patient' | 'body' | 'target+body';

/** How an operation appears in the CapabilityStatement (`rest.resource.operation`). */
export interface OperationInfo {
  name: string;
  definition: string;
  /** Types it is offered on; absent: every served type. */
  types?: readonly string[];
}

/** One row of the table: everything FhirGate knows about an interaction, in one place. */
export interface InteractionSpec {
  handler: InteractionHandler;
  routes: readonly RoutePattern[];
  /**
   * SMART v2 permission letters, any one of which permits it; `envelope` needs only authentication
   * (each entry of a batch or transaction is authorized on its own); `open` needs nothing.
   */
  scopes: readonly Permission[] | 'envelope' | 'open';
  consent: ConsentMode;
  /** `AuditEvent.action` of its record (BALP): C, R, U, D, or E (execute: searches, operations). */
  audit: { action: 'C' | 'R' | 'U' | 'D' | 'E' };
  /** Set for operations: listed in the CapabilityStatement. */
  operation?: OperationInfo;
  /**
   * Operations whose reach is not one resource type's permission ($merge, reports): authorized by
   * the role table's `operations` and an unrestricted scope (`auth/operation-access.ts`) instead of `scopes`.
   */
  access?: OperationNeed;
}

const route = (method: RouteMethod, path: string, inEntries = true): RoutePattern => ({ method, path, ...(inEntries ? {} : { inEntries }) });

const VALIDATE: OperationInfo = { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' };
const MATCH: OperationInfo = { name: 'match', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match', types: ['Patient'] };
// R5's Patient/$merge (patient.html#merge), served on R4.
const MERGE: OperationInfo = { name: 'merge', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-merge', types: ['Patient'] };
const EVERYTHING: OperationInfo = { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything', types: ['Patient'] };

/**
 * THE interaction table (issue 16). HTTP routes, bundle entries, authorization, consent, audit and
 * the CapabilityStatement all read it; adding an interaction or operation is adding a row.
 */
export const INTERACTIONS: Readonly<Record<string, InteractionSpec>> = {
  capabilities: { handler: capabilities, routes: [route('GET', 'metadata')], scopes: 'open', consent: 'none', audit: { action: 'R' } },
  read: { handler: read, routes: [route('GET', '[type]/[id]')], scopes: ['r'], consent: 'result', audit: { action: 'R' } },
  vread: { handler: vread, routes: [route('GET', '[type]/[id]/_history/[vid]')], scopes: ['r'], consent: 'result', audit: { action: 'R' } },
  create: { handler: create, routes: [route('POST', '[type]')], scopes: ['c'], consent: 'body', audit: { action: 'C' } },
  // Without an id, update, patch and delete are conditional: the query holds the criteria (http.html#cond-update).
  update: { handler: update, routes: [route('PUT', '[type]/[id]'), route('PUT', '[type]')], scopes: ['u'], consent: 'target+body', audit: { action: 'U' } },
  patch: { handler: patch, routes: [route('PATCH', '[type]/[id]'), route('PATCH', '[type]')], scopes: ['u'], consent: 'target', audit: { action: 'U' } },
  delete: { handler: remove, routes: [route('DELETE', '[type]/[id]'), route('DELETE', '[type]')], scopes: ['d'], consent: 'target', audit: { action: 'D' } },
  'history-instance': { handler: historyInstance, routes: [route('GET', '[type]/[id]/_history')], scopes: ['r'], consent: 'target', audit: { action: 'E' } },
  'history-type': { handler: historyType, routes: [route('GET', '[type]/_history')], scopes: ['s'], consent: 'result', audit: { action: 'E' } },
  'history-system': { handler: historySystem, routes: [route('GET', '_history')], scopes: ['s'], consent: 'result', audit: { action: 'E' } },
  // POST _search: form parameters merged with the URL's at the HTTP edge (http.html#search).
  'search-type': { handler: searchType, routes: [route('GET', '[type]'), route('POST', '[type]/_search')], scopes: ['s'], consent: 'result', audit: { action: 'E' } },
  'search-compartment': { handler: searchCompartment, routes: [route('GET', '[type]/[id]/[target]')], scopes: ['s'], consent: 'patient', audit: { action: 'E' } },
  validate: { handler: validate, routes: [route('POST', '[type]/$validate'), route('POST', '[type]/[id]/$validate')], scopes: ['c', 'u'], consent: 'result', audit: { action: 'E' }, operation: VALIDATE },
  everything: { handler: everything, routes: [route('GET', '[type]/[id]/$everything')], scopes: ['r'], consent: 'patient', audit: { action: 'E' }, operation: EVERYTHING },
  // The Bundle's type says which (http.html#transaction): `bundleInteraction`.
  transaction: { handler: transaction, routes: [route('POST', '', false)], scopes: 'envelope', consent: 'none', audit: { action: 'E' } },
  batch: { handler: batch, routes: [], scopes: 'envelope', consent: 'none', audit: { action: 'E' } },
  // Patient matching and merge (issue 18): $match is a search of Patient, filtered as one; $merge acts on every patient's references.
  match: { handler: match, routes: [route('POST', '[type]/$match')], scopes: ['s'], consent: 'result', audit: { action: 'E' }, operation: MATCH },
  merge: { handler: merge, routes: [route('POST', '[type]/$merge')], scopes: ['u'], consent: 'result', audit: { action: 'E' }, operation: MERGE, access: { name: 'merge', resourceType: 'Patient', permission: 'u' } },
  ...REPORTS,
};

/** The row of an interaction; unknown names are a programming error (requests are built from the table's routes). */
export function interactionOf(interaction: Interaction): InteractionSpec {
  const spec = Object.hasOwn(INTERACTIONS, interaction) ? INTERACTIONS[interaction] : undefined;
  if (!spec) throw new Error(`no interaction '${interaction}' in the table`);
  return spec;
}

/** A Bundle POSTed to the base is a batch or a transaction as its type says (anything else: a transaction, which then refuses it). */
export function bundleInteraction(body: unknown): 'batch' | 'transaction' {
  return (body as { type?: unknown } | null)?.type === 'batch' ? 'batch' : 'transaction';
}

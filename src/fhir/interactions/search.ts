import { FhirError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import type { PipelineDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { accessFilter, accessOf } from '../../search/access-filter.js';
import { compartmentFilter } from '../../search/compartment.js';
import { runEverything } from '../../search/everything.js';
import { runSearch, type SearchOptions } from '../../search/execute.js';

function options(request: FhirRequest): SearchOptions {
  return { params: request.params, strict: request.preferHandling === 'strict', baseUrl: request.context.baseUrl };
}

/** search on a type (`GET [type]?...`, `POST [type]/_search`; http.html#search). */
export async function searchType(request: FhirRequest, deps: PipelineDeps, exchange: Exchange): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'search-type');
  const filter = await accessFilter(deps, exchange, type);
  const restrict = accessOf(deps, exchange);
  return { kind: 'ok', resource: await runSearch(deps, options(request), { type, path: type, restrict, ...(filter ? { filter } : {}) }) };
}

/** Checks the compartment owner: only the Patient compartment is served, and the patient must exist. */
async function assertCompartmentOwner(request: FhirRequest, deps: PipelineDeps, exchange: Exchange): Promise<void> {
  if (request.resourceType !== deps.patientCompartment.type) {
    throw new FhirError('not-supported', `Compartment ${request.resourceType} is not supported; only the ${deps.patientCompartment.type} compartment is`);
  }
  await exchange.records.live(request.resourceType, request.id!);
}

/**
 * compartment search (`GET Patient/[id]/[type]?...`; search.html#compartments): a search on the
 * type restricted to the resources whose compartment parameters reference the patient.
 */
export async function searchCompartment(request: FhirRequest, deps: PipelineDeps, exchange: Exchange): Promise<FhirResult> {
  const target = request.compartmentTarget!;
  deps.registry.assertSupports(target, 'search-type');
  await assertCompartmentOwner(request, deps, exchange);
  const filter = compartmentFilter(deps.patientCompartment, deps.searchIndex, [request.id!], target);
  if (!filter) throw new FhirError('bad-request', `${target} resources are not in the ${deps.patientCompartment.type} compartment`);
  const path = `${request.resourceType}/${request.id}/${target}`;
  const granted = await accessFilter(deps, exchange, target);
  const restrict = accessOf(deps, exchange);
  return { kind: 'ok', resource: await runSearch(deps, options(request), { type: target, filter: granted ? { $and: [filter, granted] } : filter, path, restrict }) };
}

/** Patient `$everything` (operation-patient-everything.html). */
export async function everything(request: FhirRequest, deps: PipelineDeps, exchange: Exchange): Promise<FhirResult> {
  await assertCompartmentOwner(request, deps, exchange);
  return { kind: 'ok', resource: await runEverything(deps, options(request), deps.patientCompartment, request.id!, accessOf(deps, exchange)) };
}

import type { Subscription } from '@medplum/fhirtypes';
import type { InteractionDeps } from '../fhir/pipeline.js';
import type { RequestContext } from '../fhir/request.js';
import type { StoredRecord } from '../store/port.js';
import type { WorkflowStep } from '../workflow/types.js';
import { channelOf } from './channel.js';
import type { SubscriptionSettings, SubscriptionOwner } from './types.js';

/** Types a Subscription may not watch: its own (status changes would notify themselves) and the delivery's audit trail loops are guarded elsewhere. */
const UNWATCHABLE = new Set(['Subscription']);

/**
 * A step of the one write path, run on every prepared write (REST, bundle entries, HL7 v2) before
 * it commits: a Subscription must have a rest-hook channel to an allowed endpoint and criteria that
 * are a search (`channel.ts`, 422 otherwise). The principal creating it becomes its owner: kept
 * against the very record written (`owners`), and persisted by the commit observer once that record
 * is committed, so a write that fails to commit leaves no owner behind.
 * @param next the workflow rules (issue 17), when enabled; run after these checks
 */
export function withSubscriptionChecks(
  next: WorkflowStep | undefined,
  options: { settings: SubscriptionSettings; served: (type: string) => boolean; owners: WeakMap<StoredRecord, SubscriptionOwner> },
): WorkflowStep {
  const served = (type: string): boolean => options.served(type) && !UNWATCHABLE.has(type);
  const step = async (deps: Parameters<WorkflowStep>[0], request: Parameters<WorkflowStep>[1], writes: Parameters<WorkflowStep>[2]): ReturnType<WorkflowStep> => {
    for (const write of writes) {
      if (write.op.record.resourceType !== 'Subscription' || !write.resource) continue;
      // The allow-list judges a new endpoint; a Subscription whose endpoint was allowed when written may still be edited (turned off).
      const before = write.current?.resource && !write.current.deleted ? ((await deps.codec.decode(write.current.resource)) as Subscription) : undefined;
      const endpoint = (write.resource as Subscription).channel?.endpoint;
      const channel = channelOf(write.resource as Subscription, before?.channel?.endpoint === endpoint ? undefined : options.settings.endpoints, served);
      if (write.current && !write.current.deleted) continue;
      // A new Subscription's criteria are searched once as its creator, strictly: a parameter the server does not know
      // (which a lenient search would drop, widening the criteria) is a 400, a search the creator may not make a 403.
      const execute = (deps as Partial<InteractionDeps>).execute;
      if (execute) await execute({ interaction: 'search-type', resourceType: channel.resourceType, params: { ...channel.params, _count: ['1'] }, preferHandling: 'strict', context: request.context });
      options.owners.set(write.op.record, ownerOf(request.context));
    }
    return next ? next(deps, request, writes) : [];
  };
  // The workflow rules' lock keys pass through: Subscriptions need no lock of their own.
  return Object.assign(step, { lockKeys: (resources: Parameters<WorkflowStep['lockKeys']>[0]) => next?.lockKeys(resources) ?? [] });
}

function ownerOf(context: RequestContext): SubscriptionOwner {
  const { actor, role, roles, scopes, patient, clientId, subject } = context;
  return { actor, role, roles, scopes, patient, clientId, subject };
}

import type { Bundle, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { paramsOf } from '../fhir/params.js';
import type { Pipeline } from '../fhir/pipeline.js';
import type { RequestContext } from '../fhir/request.js';
import { WriteUnit } from '../fhir/write-unit.js';

/**
 * What the adapter needs of the FHIR side: searches for the mappers, and one transaction per message.
 * `held`: the audit records of a message's lookups, kept (`holdAudits`) and committed with its
 * transaction or its refusal rather than each on its own.
 */
export interface FhirPort {
  /** Current resources matching `query` (`identifier=sys|val`), through the pipeline's search. */
  search(resourceType: string, query: string, context: RequestContext, held?: HeldAudits): Promise<Resource[]>;
  /** Runs the message's transaction Bundle through the pipeline; resolves with the `Type/id` of every written resource. */
  transaction(bundle: Bundle, context: RequestContext, held?: HeldAudits): Promise<string[]>;
  /** Audits a message that never reached its transaction (rejected, or not mappable), with the FhirError that stopped it if any; never throws. */
  refused(context: RequestContext, cause?: unknown, held?: HeldAudits): Promise<void>;
}

/**
 * The audit records of one message's lookups, held until the message's transaction (or refusal)
 * commits them with its own, before the ACK (issue 19 item 8). What a lookup reads never leaves
 * the server but through that transaction, just as a conditional update's search inside a
 * transaction Bundle, whose record waits for the transaction's outcome too. Each record alone
 * cost a commit and a WAL fsync that the message waited for: two of the three of an ADT^A01.
 * The pipeline keeps them as it keeps a transaction entry's: in a WriteUnit the search runs with
 * (nothing is staged in it; only `deferAudit` is used).
 */
export type HeldAudits = WriteUnit;

export const holdAudits = (): HeldAudits => new WriteUnit();

/**
 * The adapter's only way into FHIR: the same `pipeline.execute()` REST uses (authorization,
 * validation, consent, encryption, audit), never the store and never HTTP.
 */
export function pipelinePort(pipeline: Pipeline): FhirPort {
  return {
    async search(resourceType, query, context, held) {
      const params = paramsOf(new URLSearchParams(query));
      params._count = ['100'];
      const result = await pipeline.execute({ interaction: 'search-type', resourceType, params, preferHandling: 'strict', context }, held);
      const bundle = result.resource as Bundle | undefined;
      return (bundle?.entry ?? []).filter((e) => e.search?.mode !== 'outcome' && e.resource?.resourceType === resourceType).map((e) => e.resource!);
    },
    async transaction(bundle, context, held) {
      const result = await pipeline.execute({ interaction: 'transaction', params: {}, body: bundle, context }, undefined, held?.audits);
      const response = result.resource as Bundle | undefined;
      return (response?.entry ?? [])
        .map((e) => e.response?.location ?? (e.resource ? `${e.resource.resourceType}/${e.resource.id}` : undefined))
        .filter((l): l is string => !!l)
        .map((l) => l.replace(/^.*?\b([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/, '$1'));
    },
    async refused(context, cause, held) {
      // Recorded as the transaction the message would have been, failed, by the pipeline's audit step:
      // every message leaves an AuditEvent. A failure to record is logged by the sink; the sender is answered AR/AE either way.
      const error = cause instanceof FhirError ? cause : new FhirError('bad-request', 'The HL7 v2 message was not applied');
      await pipeline.refuse({ interaction: 'transaction', params: {}, context }, error, held?.audits);
    },
  };
}

/**
 * The request context of messages received over MLLP: a backend service (SMART Backend Services
 * style, `system/*.*`) acting for the sending application and facility, authorized by the pipeline as such.
 */
export function mllpContext(options: { requestId: string; baseUrl: string; application: string; facility: string; address: string }): RequestContext {
  return {
    requestId: options.requestId,
    baseUrl: options.baseUrl,
    actor: `hl7v2:${options.application}@${options.facility}`,
    role: 'system',
    clientId: 'hl7v2-mllp',
    scopes: ['system/*.*'],
    purposeOfUse: [],
    source: options.address,
    authenticated: true,
  };
}

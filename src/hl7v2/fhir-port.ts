import type { Bundle, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { paramsOf } from '../fhir/params.js';
import type { Pipeline } from '../fhir/pipeline.js';
import type { RequestContext } from '../fhir/request.js';

/** What the adapter needs of the FHIR side: searches for the mappers, and one transaction per message. */
export interface FhirPort {
  /** Current resources matching `query` (`identifier=sys|val`), through the pipeline's search. */
  search(resourceType: string, query: string, context: RequestContext): Promise<Resource[]>;
  /** Runs the message's transaction Bundle through the pipeline; resolves with the `Type/id` of every written resource. */
  transaction(bundle: Bundle, context: RequestContext): Promise<string[]>;
  /** Audits a message that never reached its transaction (rejected, or not mappable), with the FhirError that stopped it if any; never throws. */
  refused(context: RequestContext, cause?: unknown): Promise<void>;
}

/**
 * The adapter's only way into FHIR: the same `pipeline.execute()` REST uses (authorization,
 * validation, consent, encryption, audit), never the store and never HTTP.
 */
export function pipelinePort(pipeline: Pipeline): FhirPort {
  return {
    async search(resourceType, query, context) {
      const params = paramsOf(new URLSearchParams(query));
      params._count = ['100'];
      const result = await pipeline.execute({ interaction: 'search-type', resourceType, params, preferHandling: 'strict', context });
      const bundle = result.resource as Bundle | undefined;
      return (bundle?.entry ?? []).filter((e) => e.search?.mode !== 'outcome' && e.resource?.resourceType === resourceType).map((e) => e.resource!);
    },
    async transaction(bundle, context) {
      const result = await pipeline.execute({ interaction: 'transaction', params: {}, body: bundle, context });
      const response = result.resource as Bundle | undefined;
      return (response?.entry ?? [])
        .map((e) => e.response?.location ?? (e.resource ? `${e.resource.resourceType}/${e.resource.id}` : undefined))
        .filter((l): l is string => !!l)
        .map((l) => l.replace(/^.*?\b([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/, '$1'));
    },
    async refused(context, cause) {
      // Recorded as the transaction the message would have been, failed, by the pipeline's audit step:
      // every message leaves an AuditEvent. A failure to record is logged by the sink; the sender is answered AR/AE either way.
      const error = cause instanceof FhirError ? cause : new FhirError('bad-request', 'The HL7 v2 message was not applied');
      await pipeline.refuse({ interaction: 'transaction', params: {}, context }, error);
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

import type { ResultCheck } from '../auth/authorize.js';
import type { Exchange } from '../fhir/exchange.js';
import type { FhirError } from '../fhir/errors.js';
import type { FhirResult, RequestContext } from '../fhir/request.js';
import type { Filter } from '../store/port.js';
import { assertOwnAuditQuery, auditSearch, patientView } from './audit-view.js';
import { consentReadsConfinedTo } from './authority.js';
import { checkConsentAuthority, checkIncoming, incomingResource } from './before-write.js';
import { checkPatientLevel, checkResult, decideResource } from './decide.js';
import { authorOf, createGateCore, decidesTarget, modeOf, noteConsents, type ConsentGateDeps, type GateCore, type Requester } from './gate-core.js';
import type { ConsentNote } from './types.js';
import { withheldDelete } from './withheld.js';

export type { ConsentGateDeps, ConsentSettings } from './gate-core.js';

export interface ConsentGate {
  /**
   * Pipeline step after authorization: checks targets known up front; returns a check of what the
   * interaction returns, or the answer to give instead of running it (a withheld delete).
   */
  check(exchange: Exchange): Promise<ResultCheck | { answer: FhirResult } | undefined>;
  /** An error of the interaction as the requester may see it: a 410 of a withheld resource becomes its 404. */
  checkError(exchange: Exchange, error: FhirError): Promise<FhirError>;
  /**
   * A search filter on `type` excluding (opt-out) or limiting to (opt-in) the compartments the actor
   * may see; undefined when unrestricted. What decided is noted on `note` (the exchange's), for audit.
   */
  searchFilter(context: RequestContext, type: string, note: ConsentNote): Promise<Filter | undefined>;
}

/**
 * The consent step of the pipeline (README "Consent and audit"): every access to data in a
 * patient's compartment is decided against that patient's Consents in force. Consents are kept
 * decoded until the next Consent write (`directory.ts`), so a revocation takes effect on the next
 * request; searches get their restriction as a filter (`search-restriction.ts`). Decisions before
 * a write are in `before-write.ts`, on resources and results in `decide.ts`.
 */
export function createConsentGate(deps: ConsentGateDeps): ConsentGate {
  const core = createGateCore(deps);
  return {
    async check(ex) {
      const request = ex.request;
      if (modeOf(request) === 'none') return undefined;
      await checkConsentAuthority(core, ex);
      const who = await core.subject(request.context);
      if (!who) return undefined;
      if (modeOf(request) === 'patient' && request.id !== undefined && request.id !== who.self) await checkPatientLevel(core, ex, who);
      if (decidesTarget(request) && request.id !== undefined && request.resourceType) {
        // Through the exchange's loader: what authorization loaded is not read again, and the interaction reuses it (issue 14).
        const record = await ex.records.current(request.resourceType, request.id);
        if (record && !record.deleted && !(await decideResource(core, ex, await ex.records.resource(record), who))) {
          // Deleting what is withheld is answered as deleting what does not exist (delete.ts).
          if (request.interaction === 'delete') return { answer: withheldDelete(request, deps.settings.deniedReadStatus) };
          throw core.denied(request, `${request.resourceType}/${request.id}`);
        }
      }
      const incoming = incomingResource(request);
      if (incoming) await checkIncoming(core, ex, incoming, who);
      if (who.self && auditSearch(request) && !core.oversees(request.context, 'AuditEvent')) assertOwnAuditQuery(request.params, who.self);
      return async (result) => patientView(who, await checkResult(core, ex, who, result));
    },

    async checkError(ex, error) {
      const request = ex.request;
      // A deleted resource (read: 410) or a deletion version (vread: 410) is decided on its last live version, so 410 never confirms a withheld one.
      if (error.code !== 'gone' || (request.interaction !== 'read' && request.interaction !== 'vread') || !request.resourceType || !request.id) return error;
      const who = await core.subject(request.context);
      if (!who) return error;
      const last = await core.versionOf(request.resourceType, request.id);
      return last && !(await decideResource(core, ex, last, who)) ? core.denied(request, `${request.resourceType}/${request.id}`) : error;
    },

    async searchFilter(context, type, note) {
      const who = await core.subject(context);
      if (!who || core.oversees(context, type)) return undefined;
      const requests = type === 'Consent' ? consentReadsConfinedTo(authorOf(context)) : undefined;
      const own = requests === undefined ? undefined : deps.searchIndex.compileReferenceIn('Consent', 'actor', [requests]);
      const filter = await patientFilter(core, context, note, who, type);
      return own && filter ? { $and: [own, filter] } : (own ?? filter);
    },
  };
}

/** What the patients' Consents withhold of `type` from this searcher (break-glass lifts it, flagged). */
async function patientFilter(core: GateCore, context: RequestContext, note: ConsentNote, who: Requester, type: string): Promise<Filter | undefined> {
  const found = await core.restriction.restrict({ question: core.question(context, undefined, who), ...(who.self ? { self: who.self } : {}) }, type, core.deps.clock());
  noteConsents(note, found.denying);
  if (found.filter && core.mayBreakGlass(context)) {
    note.breakGlass = true;
    return undefined;
  }
  return found.filter;
}

import type { Logger } from '../../logger.js';
import { StoreUnavailableError, VersionConflictError } from '../../store/port.js';
import { conflictError } from '../conflicts.js';
import { FhirError, toFhirError } from '../errors.js';
import type { Step } from './compose.js';

/**
 * Turns whatever the steps inside throw into a FhirError, in one place: store failures get their
 * stable codes, unknown errors are logged here and hidden from the client (STYLE.md habit 4).
 */
export function errorsStep(logger: Logger): Step {
  return async (exchange, next) => {
    try {
      return await next();
    } catch (err) {
      throw translateError(err, logger, exchange.request.context.requestId, exchange.request.interaction);
    }
  };
}

/**
 * The FhirError of anything thrown below the pipeline. A version conflict that reaches this far
 * was not retried (`runVersioned` re-runs the others): 409 (http.html#concurrency).
 */
export function translateError(err: unknown, logger: Logger, requestId: string, interaction: string): FhirError {
  if (err instanceof FhirError) return err;
  if (err instanceof VersionConflictError) return conflictError(err, false);
  if (err instanceof StoreUnavailableError) {
    logger.error({ err, requestId }, 'store unavailable');
    return new FhirError('store-unavailable', 'The data store is temporarily unavailable; retry later', { hints: { retryAfter: '5' } });
  }
  logger.error({ err, requestId, interaction }, 'unexpected error');
  return toFhirError(err);
}

import type { ConsentGate } from '../../consent/gate.js';
import { FhirError } from '../errors.js';
import type { Step } from './compose.js';

/**
 * The patient's Consents (issue 8), after authorization: targets known up front are decided
 * before the interaction runs (a withheld delete is answered without running it), what it returns
 * after, and what it could not find is said no more plainly than consent lets it (a 410 of a withheld resource).
 */
export function consentStep(gate: ConsentGate): Step {
  return async (exchange, next) => {
    const checked = await gate.check(exchange);
    if (checked && typeof checked !== 'function') return checked.answer;
    let result;
    try {
      result = await next();
    } catch (err) {
      throw err instanceof FhirError ? await gate.checkError(exchange, err).catch(() => err) : err;
    }
    return checked ? checked(result) : result;
  };
}

import type { Exchange } from '../exchange.js';
import type { FhirResult } from '../request.js';

/**
 * One step of the pipeline, in Koa's middleware shape without Koa: code before `next()` decides
 * whether and how the request goes on, code after it checks or narrows the result, `try/finally`
 * around it sees every outcome. Steps share what they decide through the exchange, never the request.
 */
export type Step = (exchange: Exchange, next: () => Promise<FhirResult>) => Promise<FhirResult>;

/**
 * Composes steps into an onion around `last` (the interaction): the first step is outermost.
 * Same contract as koa-compose: `next()` may be called once per step.
 */
export function compose(steps: readonly Step[], last: (exchange: Exchange) => Promise<FhirResult>): (exchange: Exchange) => Promise<FhirResult> {
  return (exchange) => {
    let index = -1;
    const dispatch = (i: number): Promise<FhirResult> => {
      if (i <= index) return Promise.reject(new Error('pipeline: next() called more than once'));
      index = i;
      const step = steps[i];
      return step ? step(exchange, () => dispatch(i + 1)) : last(exchange);
    };
    return dispatch(0);
  };
}

import type { Authorizer } from '../../auth/authorize.js';
import type { Step } from './compose.js';

/**
 * Authorization as two steps around consent. `decide` asks the authorizer, which RETURNS its
 * decision (what the grant confines the request to, and a check of the result); the decision goes
 * on the exchange, where search and conditional matches apply it. `filter`, innermost, applies the
 * result check first, so consent decides only on what the grant lets through (as before issue 16).
 */
export function authorizeSteps(authorize: Authorizer): { decide: Step; filter: Step } {
  return {
    async decide(exchange, next) {
      exchange.access = await authorize(exchange.request, exchange.records);
      return next();
    },
    async filter(exchange, next) {
      const result = (exchange.audit.result = await next());
      return (exchange.audit.result = exchange.access.check ? await exchange.access.check(result) : result);
    },
  };
}

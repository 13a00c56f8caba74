import { assertValidId } from '../ids.js';
import type { Registry } from '../registry.js';
import type { Step } from './compose.js';

/** Checks every request makes before anyone looks at it: a served type (404) and a valid id (400). */
export function requestStep(registry: Registry): Step {
  return (exchange, next) => {
    const { resourceType, id } = exchange.request;
    if (resourceType !== undefined) registry.get(resourceType);
    if (id !== undefined) assertValidId(id);
    return next();
  };
}

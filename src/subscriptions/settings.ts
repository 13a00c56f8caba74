import { parseEndpointRules } from './endpoints.js';
import type { SubscriptionSettings } from './types.js';

export type { SubscriptionSettings } from './types.js';

/**
 * SUBSCRIPTION_* from the environment `config.ts` passes in; a bad value throws `fail(message)`, naming the variable.
 */
export function loadSubscriptionSettings(env: Readonly<Record<string, string | undefined>>, fail: (message: string) => Error): SubscriptionSettings {
  let endpoints;
  try {
    // Empty by default: the server calls no endpoint until the deployment names the ones it may (SSRF).
    endpoints = parseEndpointRules(env.SUBSCRIPTION_ENDPOINTS ?? '');
  } catch (err) {
    throw fail(`SUBSCRIPTION_ENDPOINTS: ${(err as Error).message}`);
  }
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw fail(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
    return value;
  };
  const retryBaseMs = int('SUBSCRIPTION_RETRY_BASE_MS', 5000, 10, 3_600_000);
  const errorAfter = int('SUBSCRIPTION_ERROR_AFTER', 3, 1, 1000);
  return {
    endpoints,
    retryBaseMs,
    retryMaxMs: int('SUBSCRIPTION_RETRY_MAX_MS', 3_600_000, retryBaseMs, 86_400_000),
    errorAfter,
    offAfter: int('SUBSCRIPTION_OFF_AFTER', 20, errorAfter, 10_000),
    timeoutMs: int('SUBSCRIPTION_TIMEOUT_MS', 10_000, 100, 600_000),
  };
}

/**
 * Processing order of the entries (http.html#trules): DELETE, then POST, then PUT and PATCH, then
 * GET and HEAD; in bundle order within each. Batches follow the same order.
 */
export function processingOrder<T extends { index: number; method?: string }>(plans: readonly T[]): T[] {
  const rank = (method: string | undefined): number => ({ DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 })[method ?? ''] ?? 4;
  return [...plans].sort((a, b) => rank(a.method) - rank(b.method) || a.index - b.index);
}

/**
 * `compute` remembered by key, for hot paths that see the same few keys again and again (Accept
 * headers, JWE protected headers, element names, display texts). Results, undefined included,
 * are kept up to `max` keys; then all are dropped and gathered again, so memory stays bounded
 * whatever keys clients send.
 */
export function boundedMemo<T>(compute: (key: string) => T, max: number): (key: string) => T {
  const known = new Map<string, T>();
  return (key) => {
    const found = known.get(key);
    if (found !== undefined || known.has(key)) return found as T;
    const value = compute(key);
    if (known.size >= max) known.clear();
    known.set(key, value);
    return value;
  };
}

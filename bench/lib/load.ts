import autocannon from 'autocannon';

export interface LoadOptions {
  /** Origin of the server, e.g. http://127.0.0.1:41234 */
  origin: string;
  connections: number;
  /** How long to measure; or `amount`: how many requests to send. */
  seconds?: number;
  amount?: number;
  /** One request shape; its `setupRequest` may vary path and body per request. */
  request: autocannon.Request;
  /** Used in error messages, e.g. "FhirGate read @16". */
  label: string;
  /** Seconds after which a request counts as timed out (and fails the cell); default 10. */
  timeoutSeconds?: number;
}

/** What one benchmark cell measured. Latencies are in milliseconds. */
export interface Measurement {
  requests: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
}

/**
 * Runs autocannon against one request shape and fails loudly on anything but 2xx:
 * a benchmark that counts fast 4xx/5xx answers as throughput is worse than none.
 */
export async function measure(options: LoadOptions): Promise<Measurement> {
  // autocannon's own histogram stores whole milliseconds, which reads 0 or 1 for most cells
  // on a local machine; the raw per-response times it emits keep sub-millisecond precision.
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.origin,
        connections: options.connections,
        ...(options.amount ? { amount: options.amount } : { duration: options.seconds }),
        requests: [options.request],
        timeout: options.timeoutSeconds ?? 10,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });

  const statusCounts = Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => `${code}: ${s.count ?? 0}`);
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${options.label}: ${result.non2xx} non-2xx responses, ${result.errors} connection errors, ` +
        `${result.timeouts} timeouts (status codes ${statusCounts.join(', ') || 'none'}). The numbers would be meaningless.`,
    );
  }
  if (result.requests.total === 0) throw new Error(`${options.label}: no request completed`);

  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    non2xx: result.non2xx,
  };
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

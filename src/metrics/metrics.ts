import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * FhirGate's Prometheus metrics (issue 18, README "Metrics"), recorded at the edges: the HTTP
 * middleware, the MLLP listener's acknowledgements, a decorator of the store's commits. Nothing
 * in the pipeline records metrics, so it can change without them. Label values come from closed
 * sets (interaction names, served resource types, status codes, ACK codes): a caller can never
 * grow the number of series by sending odd paths or types.
 */
export interface Metrics {
  /** One answered HTTP request. */
  httpRequest(labels: { interaction: string; resourceType: string; status: number }, seconds: number): void;
  /** One `StorePort.commit`; `content` says whether it carried AuditEvents, data, or both (AuditEvents share the data's commit). */
  storeCommit(content: CommitContent, seconds: number, ok: boolean): void;
  /** One HL7 v2 message answered over MLLP: MSA-1 of its application acknowledgement, and of every ACK sent. */
  mllpMessage(applicationAck: string, ackCodes: readonly string[], seconds: number): void;
  /** HL7 v2 messages being applied right now (MLLP), +1 when one starts, -1 when it is answered. */
  mllpInflight(delta: 1 | -1): void;
  /**
   * Reports the depth of a queue on every scrape, as `fhirgate_queue_depth{queue="<name>"}`: the
   * hook for queues of other features (subscription deliveries, bulk export jobs). `depth` must be cheap.
   */
  addQueue(name: string, depth: () => number): void;
  /** The Prometheus text exposition of every metric, this app's and the process's. */
  exposition(): Promise<{ contentType: string; body: string }>;
}

export type CommitContent = 'data' | 'audit' | 'data+audit';

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const MLLP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Process metrics (CPU, memory, event-loop lag, GC) belong to the process, not to one app: they
 * are collected once per process, however many apps a test worker starts, and shown with each.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'fhirgate_' });
  }
  return processRegistry;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const requests = new Counter({ name: 'fhirgate_http_requests_total', help: 'HTTP requests answered, by FHIR interaction, resource type and status code', labelNames: ['interaction', 'resource_type', 'status'], registers: [registry] });
  const latency = new Histogram({ name: 'fhirgate_http_request_duration_seconds', help: 'Time from a request arriving to its answer, by FHIR interaction and resource type', labelNames: ['interaction', 'resource_type'], buckets: HTTP_BUCKETS, registers: [registry] });
  const commits = new Histogram({ name: 'fhirgate_store_commit_duration_seconds', help: 'Store commits until durable, by content (data, audit: AuditEvents only, data+audit) and outcome', labelNames: ['content', 'outcome'], buckets: COMMIT_BUCKETS, registers: [registry] });
  const auditCommits = new Histogram({ name: 'fhirgate_audit_commit_duration_seconds', help: 'Store commits carrying AuditEvents, until durable (the audit trail is committed with the data it records)', labelNames: ['outcome'], buckets: COMMIT_BUCKETS, registers: [registry] });
  const messages = new Counter({ name: 'fhirgate_mllp_messages_total', help: 'HL7 v2 messages answered over MLLP, by MSA-1 of the application acknowledgement (AA, AE, AR)', labelNames: ['ack_code'], registers: [registry] });
  const acks = new Counter({ name: 'fhirgate_mllp_acks_total', help: 'Acknowledgements sent over MLLP, by MSA-1 (AA, AE, AR; CA, CR in enhanced mode)', labelNames: ['ack_code'], registers: [registry] });
  const messageLatency = new Histogram({ name: 'fhirgate_mllp_message_duration_seconds', help: 'Time from an HL7 v2 message received over MLLP to its acknowledgement', buckets: MLLP_BUCKETS, registers: [registry] });
  const inflight = new Gauge({ name: 'fhirgate_hl7v2_inflight_messages', help: 'HL7 v2 messages received over MLLP and being applied (not yet acknowledged)', registers: [registry] });
  const queues = new Map<string, () => number>();
  new Gauge({
    name: 'fhirgate_queue_depth',
    help: 'Items waiting in a queue, by queue',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, depth] of queues) this.set({ queue: name }, depth());
    },
  });
  const process = processMetrics();
  return {
    httpRequest({ interaction, resourceType, status }, seconds) {
      requests.inc({ interaction, resource_type: resourceType, status: String(status) });
      latency.observe({ interaction, resource_type: resourceType }, seconds);
    },
    storeCommit(content, seconds, ok) {
      const outcome = ok ? 'ok' : 'error';
      commits.observe({ content, outcome }, seconds);
      if (content !== 'data') auditCommits.observe({ outcome }, seconds);
    },
    mllpMessage(applicationAck, ackCodes, seconds) {
      messages.inc({ ack_code: applicationAck });
      for (const code of ackCodes) acks.inc({ ack_code: code });
      messageLatency.observe(seconds);
    },
    mllpInflight(delta) {
      inflight.inc(delta);
    },
    addQueue(name, depth) {
      queues.set(name, depth);
    },
    async exposition() {
      const body = `${await registry.metrics()}\n${await process.metrics()}`;
      return { contentType: registry.contentType, body };
    },
  };
}

/**
 * What FhirGate requires of a MongoDB deployment, checked once connected (pure functions of
 * the server's `hello` and `buildInfo` replies and of the driver's topology description).
 */

/** The fields of the `hello` reply looked at here. */
export interface HelloReply {
  setName?: string;
  /** `isdbgrid` on a mongos (sharded cluster). */
  msg?: string;
  /** Present behind a load balancer (Atlas serverless and similar). */
  serviceId?: unknown;
}

/** Oldest server version with compound wildcard indexes (see index-plan.ts). */
export const MIN_SERVER_MAJOR = 7;

/**
 * Why the deployment cannot serve FhirGate, or undefined when it can. Transactions (every
 * commit runs in one) need a replica set or a sharded cluster: a standalone mongod is refused
 * with the way to fix it. https://www.mongodb.com/docs/manual/core/transactions/
 */
export function deploymentProblem(hello: HelloReply, versionArray: readonly number[] | undefined, target: string): string | undefined {
  const topology = hello.msg === 'isdbgrid' || hello.serviceId !== undefined || typeof hello.setName === 'string';
  if (!topology) {
    return (
      `MongoDB at ${target} is a standalone server, not a replica set: FhirGate commits every write in a multi-document ` +
      `transaction, which needs a replica set or a sharded cluster. Start mongod with --replSet rs0 and run rs.initiate() once ` +
      `(docker-compose.yml does both), or use MongoDB Atlas`
    );
  }
  const major = versionArray?.[0];
  if (typeof major === 'number' && major < MIN_SERVER_MAJOR) {
    return `MongoDB at ${target} runs version ${versionArray!.slice(0, 3).join('.')}; FhirGate needs ${MIN_SERVER_MAJOR}.0 or later (compound wildcard indexes)`;
  }
  return undefined;
}

/** The servers of a topology description, by type (structurally, the driver's TopologyDescription). */
export interface TopologyLike {
  servers: ReadonlyMap<string, { type: string }>;
}

const WRITABLE_SERVER_TYPES = new Set(['RSPrimary', 'Mongos', 'LoadBalancer']);

/** True when the driver knows a server that takes writes: a primary, a mongos, or a load balancer. */
export function hasWritableServer(description: TopologyLike | undefined): boolean {
  if (!description) return false;
  for (const server of description.servers.values()) if (WRITABLE_SERVER_TYPES.has(server.type)) return true;
  return false;
}

/** The connection string without credentials and options, for log lines: `mongodb+srv://cluster0.example.net`. */
export function describeTarget(uri: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/)(?:[^@/]*@)?([^/?]*)/.exec(uri);
  return match ? `${match[1]}${match[2]}` : 'mongodb://(unparsable URI)';
}

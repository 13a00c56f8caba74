import { describe, expect, it } from 'vitest';
import { clientOptions } from '../../../src/store/mongo/client.js';
import { deploymentProblem, describeTarget, hasWritableServer } from '../../../src/store/mongo/deployment.js';

const servers = (...types: string[]) => ({ servers: new Map(types.map((type, i) => [`h${i}:27017`, { type }])) });

describe('mongodb deployment checks', () => {
  it('accepts a replica set, a sharded cluster (mongos) and a load-balanced deployment of 7.0+', () => {
    expect(deploymentProblem({ setName: 'rs0' }, [7, 0, 12, 0], 'mongodb://db')).toBeUndefined();
    expect(deploymentProblem({ msg: 'isdbgrid' }, [8, 0, 1, 0], 'mongodb://db')).toBeUndefined();
    expect(deploymentProblem({ serviceId: 'x' }, [7, 0, 0, 0], 'mongodb://db')).toBeUndefined();
  });

  it('refuses a standalone server, saying how to make it a replica set', () => {
    const problem = deploymentProblem({}, [7, 0, 2, 0], 'mongodb://db:27017');
    expect(problem).toMatch(/mongodb:\/\/db:27017 is a standalone server, not a replica set/);
    expect(problem).toMatch(/--replSet rs0 and run rs\.initiate\(\)/);
  });

  it('refuses servers older than 7.0 (compound wildcard indexes)', () => {
    expect(deploymentProblem({ setName: 'rs0' }, [6, 0, 14, 0], 'mongodb://db')).toMatch(/runs version 6\.0\.14; FhirGate needs 7\.0 or later/);
  });

  it('is ready only while a primary, mongos or load balancer is known', () => {
    expect(hasWritableServer(undefined)).toBe(false);
    expect(hasWritableServer(servers('Unknown'))).toBe(false);
    expect(hasWritableServer(servers('RSSecondary', 'RSSecondary'))).toBe(false);
    expect(hasWritableServer(servers('RSSecondary', 'RSPrimary'))).toBe(true);
    expect(hasWritableServer(servers('Mongos'))).toBe(true);
    expect(hasWritableServer(servers('LoadBalancer'))).toBe(true);
  });

  it('logs the target without credentials or options', () => {
    expect(describeTarget('mongodb+srv://fhir:s3cret@cluster0.ab1cd.mongodb.net/fhirgate?retryWrites=true&w=majority')).toBe('mongodb+srv://cluster0.ab1cd.mongodb.net');
    expect(describeTarget('mongodb://a:1,b:2/?replicaSet=rs0&tls=true')).toBe('mongodb://a:1,b:2');
    expect(describeTarget('mongodb://u:p@127.0.0.1:27017')).toBe('mongodb://127.0.0.1:27017');
  });

  it('connects with majority writes, retryable writes and reads, primary reads and the configured timeouts', () => {
    expect(clientOptions({ uri: 'mongodb://x', db: 'fhirgate', connectTimeoutMs: 1500, serverSelectionTimeoutMs: 2500 })).toEqual({
      appName: 'fhirgate',
      connectTimeoutMS: 1500,
      serverSelectionTimeoutMS: 2500,
      retryWrites: true,
      retryReads: true,
      writeConcern: { w: 'majority' },
      readPreference: 'primary',
      ignoreUndefined: true,
    });
  });
});

import { describe, expect, it } from 'vitest';
import { INTERACTIONS, type InteractionSpec } from '../../src/fhir/interactions/table.js';
import { createRouter } from '../../src/fhir/routes.js';

/** The one router (issue 16): HTTP and bundle entries resolve every URL through the interaction table. */
const router = createRouter(INTERACTIONS);
const split = (path: string): string[] => path.split('/').filter(Boolean);

describe('the router of the interaction table', () => {
  it.each([
    ['GET', 'metadata', { interaction: 'capabilities' }],
    ['GET', '_history', { interaction: 'history-system' }],
    ['GET', 'Patient', { interaction: 'search-type', resourceType: 'Patient' }],
    ['HEAD', 'Patient/1', { interaction: 'read', resourceType: 'Patient', id: '1' }],
    ['POST', 'Patient', { interaction: 'create', resourceType: 'Patient' }],
    ['POST', 'Patient/_search', { interaction: 'search-type', resourceType: 'Patient' }],
    ['GET', 'Patient/_history', { interaction: 'history-type', resourceType: 'Patient' }],
    ['PUT', 'Patient', { interaction: 'update', resourceType: 'Patient' }],
    ['PUT', 'Patient/1', { interaction: 'update', resourceType: 'Patient', id: '1' }],
    ['PATCH', 'Patient/1', { interaction: 'patch', resourceType: 'Patient', id: '1' }],
    ['DELETE', 'Patient', { interaction: 'delete', resourceType: 'Patient' }],
    ['GET', 'Patient/1/_history', { interaction: 'history-instance', resourceType: 'Patient', id: '1' }],
    ['GET', 'Patient/1/_history/2', { interaction: 'vread', resourceType: 'Patient', id: '1', versionId: '2' }],
    ['GET', 'Patient/1/Observation', { interaction: 'search-compartment', resourceType: 'Patient', id: '1', compartmentTarget: 'Observation' }],
    ['GET', 'Patient/1/$everything', { interaction: 'everything', resourceType: 'Patient', id: '1' }],
    ['POST', 'Patient/$validate', { interaction: 'validate', resourceType: 'Patient' }],
    ['POST', 'Patient/1/$validate', { interaction: 'validate', resourceType: 'Patient', id: '1' }],
    ['POST', '', { interaction: 'transaction' }],
  ])('%s %s', (method, path, route) => {
    expect(router(method, split(path), 'http')).toEqual(route);
  });

  it.each([
    ['POST', 'Patient/1', { miss: 'method', allow: ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'] }],
    ['PATCH', 'Patient/1/_history', { miss: 'method', allow: ['GET', 'HEAD'] }],
    ['PUT', 'Patient/1/Observation', { miss: 'method', allow: ['GET', 'HEAD'] }],
    ['POST', 'Patient/$frobnicate', { miss: 'operation', name: 'frobnicate', level: 'type', resourceType: 'Patient' }],
    ['GET', 'Practitioner/1/$everything', { miss: 'operation', name: 'everything', level: 'instance', resourceType: 'Practitioner' }],
    ['GET', 'Patient/1/_history/2/extra', { miss: 'no-route' }],
  ])('%s %s does not resolve', (method, path, miss) => {
    expect(router(method, split(path), 'http')).toEqual(miss);
  });

  it('refuses a Bundle inside a bundle entry, and resolves everything else as HTTP does', () => {
    expect(router('POST', [], 'entry')).toEqual({ miss: 'no-route' });
    expect(router('GET', split('Patient/1/_history/2'), 'entry')).toEqual(router('GET', split('Patient/1/_history/2'), 'http'));
  });

  it('routes an operation added to the table as one row, at HTTP and in bundle entries alike', () => {
    const stub: InteractionSpec['handler'] = async () => ({ kind: 'ok' });
    const table: Record<string, InteractionSpec> = {
      ...INTERACTIONS,
      match: { handler: stub, routes: [{ method: 'POST', path: '[type]/$match' }], scopes: ['s'], consent: 'result', audit: { action: 'E' }, operation: { name: 'match', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match', types: ['Patient'] } },
    };
    const withMatch = createRouter(table);
    expect(withMatch('POST', split('Patient/$match'), 'http')).toEqual({ interaction: 'match', resourceType: 'Patient' });
    expect(withMatch('POST', split('Patient/$match'), 'entry')).toEqual({ interaction: 'match', resourceType: 'Patient' });
    expect(withMatch('POST', split('Observation/$match'), 'http')).toEqual({ miss: 'operation', name: 'match', level: 'type', resourceType: 'Observation' });
  });
});

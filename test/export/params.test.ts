import { describe, expect, it } from 'vitest';
import { FhirError } from '../../src/fhir/errors.js';
import { paramsOfBody, parseExportParams } from '../../src/export/params.js';

const SERVED = ['Patient', 'Observation', 'MedicationRequest'];

describe('parseExportParams (export.html#query-parameters)', () => {
  it.each([
    [{}, {}],
    [{ _outputFormat: ['application/fhir+ndjson'] }, {}],
    [{ _outputFormat: ['application/ndjson'] }, {}],
    [{ _outputFormat: ['ndjson'] }, {}],
    [{ _type: ['Patient,Observation'] }, { types: ['Patient', 'Observation'] }],
    [{ _type: ['Patient', 'Observation,Patient'] }, { types: ['Patient', 'Observation'] }],
    [{ _since: ['2024-03-05T10:00:00+01:00'] }, { since: '2024-03-05T09:00:00.000Z' }],
    [{ _typeFilter: ['Patient?active=true'], _format: ['json'] }, { ignored: ['_typeFilter'] }],
  ])('%j → %j', (params, expected) => {
    expect(parseExportParams(params, SERVED, false)).toEqual({ ignored: [], ...expected });
  });

  it.each([
    [{ _outputFormat: ['application/fhir+json'] }, /_outputFormat/],
    [{ _type: ['Patient,Unknown'] }, /Unknown/],
    [{ _since: ['2024-03-05'] }, /_since/],
    [{ _since: ['2024-03-05T10:00:00Z', '2024-03-06T10:00:00Z'] }, /only once/],
  ])('refuses %j', (params, message) => {
    expect(() => parseExportParams(params, SERVED, false)).toThrow(message);
  });

  it('refuses unsupported parameters under strict handling only', () => {
    expect(() => parseExportParams({ _elements: ['id'] }, SERVED, true)).toThrow(FhirError);
    expect(parseExportParams({ _elements: ['id'] }, SERVED, false).ignored).toEqual(['_elements']);
  });
});

describe('paramsOfBody', () => {
  it.each([
    [undefined, {}],
    [{ resourceType: 'Parameters' }, {}],
    [{ resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Patient' }, { name: '_type', valueString: 'Observation' }, { name: '_since', valueInstant: '2024-01-01T00:00:00Z' }] }, { _type: ['Patient', 'Observation'], _since: ['2024-01-01T00:00:00Z'] }],
  ])('%j → %j', (body, expected) => {
    expect(paramsOfBody(body)).toEqual(expected);
  });

  it.each([[{ resourceType: 'Patient' }], [{ resourceType: 'Parameters', parameter: [{ name: '_type', valueBoolean: true }] }], ['text']])('refuses %j', (body) => {
    expect(() => paramsOfBody(body)).toThrow(FhirError);
  });
});

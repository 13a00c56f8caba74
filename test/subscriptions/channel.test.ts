import type { Subscription } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../support/server.js';
import { loadConfig } from '../../src/config.js';
import { FhirError } from '../../src/fhir/errors.js';
import { channelOf } from '../../src/subscriptions/channel.js';
import { endpointAllowed, parseEndpointRules } from '../../src/subscriptions/endpoints.js';
import { restHook } from './support.js';

describe('endpoint allow-list (SUBSCRIPTION_ENDPOINTS)', () => {
  const rules = parseEndpointRules('https://hooks.example.org/fhir/, http://127.0.0.1:*, https://[::1]:8443, http://ehr.example.org:80');
  it.each([
    ['https://hooks.example.org/fhir/notify', true],
    ['https://hooks.example.org/fhir', true],
    ['https://HOOKS.example.org/fhir/x', true],
    ['https://hooks.example.org/other', false],
    ['https://hooks.example.org/fhirx', false],
    ['http://hooks.example.org/fhir/notify', false],
    ['https://hooks.example.org:8443/fhir/notify', false],
    ['https://hooks.example.org.evil.example/fhir/', false],
    ['https://hooks.example.org@evil.example/fhir/', false],
    ['https://user:pw@hooks.example.org/fhir/', false],
    ['http://127.0.0.1:9999/anything', true],
    ['http://127.0.0.1/anything', true],
    ['http://127.0.0.2:9999/', false],
    ['https://[::1]:8443/x', true],
    ['https://[::1]/x', false],
    ['http://ehr.example.org/hook', true],
    ['http://ehr.example.org:8080/hook', false],
    ['ftp://127.0.0.1/x', false],
    ['not a url', false],
  ])('%s → %s', (endpoint, allowed) => {
    expect(endpointAllowed(endpoint, rules)).toBe(allowed);
  });

  it('allows nothing when empty, and refuses entries that are no http(s) origin', () => {
    expect(endpointAllowed('https://hooks.example.org/', parseEndpointRules(''))).toBe(false);
    expect(() => parseEndpointRules('ftp://x')).toThrow(/not an http\(s\) origin/);
    expect(() => loadConfig({ SUBSCRIPTION_ENDPOINTS: '*.example.org' }, ROOT_DIR)).toThrow(/SUBSCRIPTION_ENDPOINTS/);
    expect(() => loadConfig({ SUBSCRIPTION_ERROR_AFTER: '5', SUBSCRIPTION_OFF_AFTER: '2' }, ROOT_DIR)).toThrow(/SUBSCRIPTION_OFF_AFTER/);
    expect(loadConfig({}, ROOT_DIR).subscriptions.endpoints).toEqual([]);
  });
});

describe('channelOf', () => {
  const rules = parseEndpointRules('http://127.0.0.1:*');
  const served = (type: string) => ['Patient', 'MedicationDispense'].includes(type);
  const ext = (code: string): Subscription => restHook('Patient', 'http://127.0.0.1:1/x', { payload: 'application/fhir+json', content: code });

  it.each([
    ['no payload: R4 ping', restHook('Patient', 'http://127.0.0.1:1/x'), 'empty'],
    ['a JSON payload: id-only by default', restHook('Patient', 'http://127.0.0.1:1/x', { payload: 'application/fhir+json' }), 'id-only'],
    ['full-resource', ext('full-resource'), 'full-resource'],
    ['empty', ext('empty'), 'empty'],
  ])('%s', (_name, subscription, content) => {
    expect(channelOf(subscription, rules, served).content).toBe(content);
  });

  it('reads the criteria as a search, dropping result parameters, and the headers as name/value pairs', () => {
    const channel = channelOf(
      restHook('MedicationDispense?prescription.requester=Practitioner/d1&status=completed&status=in-progress&_count=5&_sort=-date', 'http://127.0.0.1:1/x', { header: ['Authorization: Bearer abc', 'X-Tenant:  t1'] }),
      rules,
      served,
    );
    expect(channel.resourceType).toBe('MedicationDispense');
    expect(channel.params).toEqual({ 'prescription.requester': ['Practitioner/d1'], status: ['completed', 'in-progress'] });
    expect(channel.headers).toEqual([
      ['Authorization', 'Bearer abc'],
      ['X-Tenant', 't1'],
    ]);
  });

  it.each([
    ['unknown payload content', ext('everything'), 'Subscription.channel.payload'],
    ['a header with a line break', restHook('Patient', 'http://127.0.0.1:1/x', { header: ['X-A: 1\r\nX-B: 2'] }), 'Subscription.channel.header'],
    ['a Host header', restHook('Patient', 'http://127.0.0.1:1/x', { header: ['Host: 169.254.169.254'] }), 'Subscription.channel.header'],
    ['a Content-Length header', restHook('Patient', 'http://127.0.0.1:1/x', { header: ['content-length: 0'] }), 'Subscription.channel.header'],
    ['a lower-case type', restHook('patient?x=1', 'http://127.0.0.1:1/x'), 'Subscription.criteria'],
    ['no endpoint', { ...restHook('Patient', ''), channel: { type: 'rest-hook' } } as Subscription, 'Subscription.channel.endpoint'],
  ])('refuses %s', (_name, subscription, expression) => {
    let error: unknown;
    try {
      channelOf(subscription, rules, served);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).code).toBe('invalid-resource');
    expect((error as FhirError).outcome.issue[0].expression).toEqual([expression]);
  });
});

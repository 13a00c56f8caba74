import type { Subscription } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { endpointAllowed, type EndpointRule } from './endpoints.js';

/**
 * What a notification carries (R4 subscription.html#channels, and the R4 Subscriptions Backport IG's
 * `backport-payload-content` extension on `channel.payload`):
 * - `empty`: no `channel.payload` — R4's ping, a POST without a body;
 * - `id-only` (the default when a payload type is given): a notification Bundle naming the resource, without its content;
 * - `full-resource`: R4's rest-hook with a payload — the resource PUT to `[endpoint]/[type]/[id]`.
 */
export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

export const PAYLOAD_CONTENT_EXTENSION = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';
const JSON_PAYLOADS = new Set(['application/fhir+json', 'application/json']);
// Result and paging parameters say nothing about whether one resource matches; they are dropped from the criteria.
const RESULT_PARAMS = new Set(['_count', '_sort', '_include', '_revinclude', '_summary', '_elements', '_total', '_contained', '_containedType', '_format', '_pretty']);

// Framing and routing are the server's: a subscriber may not redirect or desynchronize the call.
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'content-type', 'expect', 'upgrade', 'te', 'trailer', 'keep-alive']);

/** A rest-hook Subscription as the delivery needs it. */
export interface Channel {
  /** The criteria's resource type and search parameters (`MedicationDispense?status=completed`). */
  resourceType: string;
  params: Record<string, string[]>;
  endpoint: string;
  /** `channel.header` lines, `Name: value`. */
  headers: Array<[string, string]>;
  content: PayloadContent;
}

/**
 * Reads and checks a Subscription: a rest-hook channel to an allowed http(s) endpoint, criteria that
 * are a search on a served type, headers that are `Name: value` lines, a JSON payload if any.
 * `rules` undefined skips the allow-list (reading what is already stored).
 * Throws an `invalid-resource` FhirError (422) naming the element, as any rule violation does.
 */
export function channelOf(subscription: Subscription, rules: readonly EndpointRule[] | undefined, served: (type: string) => boolean): Channel {
  const { channel, criteria } = subscription;
  if (channel?.type !== 'rest-hook') refuse(`Only rest-hook channels are supported, not '${channel?.type ?? ''}'`, 'Subscription.channel.type');
  const endpoint = channel.endpoint ?? '';
  if (!/^https?:\/\//i.test(endpoint)) refuse('A rest-hook endpoint must be an absolute http(s) URL', 'Subscription.channel.endpoint');
  if (rules && !endpointAllowed(endpoint, rules)) refuse(`The endpoint ${endpoint} is not among the endpoints this server may call (SUBSCRIPTION_ENDPOINTS)`, 'Subscription.channel.endpoint');
  const m = /^([A-Z][A-Za-z]+)(?:\?(.*))?$/.exec(criteria ?? '');
  if (!m || !served(m[1])) refuse(`The criteria must be a search on a served resource type ('MedicationDispense?status=completed'), not '${criteria ?? ''}'`, 'Subscription.criteria');
  const headers = (channel.header ?? []).map((line): [string, string] => {
    const h = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/.exec(line);
    if (!h || /[\r\n]/.test(line)) refuse(`A channel header must be one 'Name: value' line, not '${line}'`, 'Subscription.channel.header');
    if (RESERVED_HEADERS.has(h[1].toLowerCase())) refuse(`The header ${h[1]} is set by the server`, 'Subscription.channel.header');
    return [h[1], h[2]];
  });
  const payload = channel.payload;
  if (payload !== undefined && !JSON_PAYLOADS.has(payload)) refuse(`The payload may be application/fhir+json or absent, not '${payload}'`, 'Subscription.channel.payload');
  return { resourceType: m[1], params: paramsOf(m[2] ?? ''), endpoint, headers, content: contentOf(subscription) };
}

function contentOf(subscription: Subscription): PayloadContent {
  if (subscription.channel?.payload === undefined) return 'empty';
  const extensions = (subscription.channel as { _payload?: { extension?: Array<{ url: string; valueCode?: string }> } })._payload?.extension ?? [];
  const code = extensions.find((e) => e.url === PAYLOAD_CONTENT_EXTENSION)?.valueCode ?? 'id-only';
  if (code !== 'empty' && code !== 'id-only' && code !== 'full-resource') refuse(`The payload content must be empty, id-only or full-resource, not '${code}'`, 'Subscription.channel.payload');
  return code;
}

function paramsOf(query: string): Record<string, string[]> {
  const params: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(query)) {
    if (RESULT_PARAMS.has(name)) continue;
    (params[name] ??= []).push(value);
  }
  return params;
}

function refuse(diagnostics: string, expression: string): never {
  throw new FhirError('invalid-resource', diagnostics, { expression: [expression] });
}

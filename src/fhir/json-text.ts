import { randomBytes } from 'node:crypto';
import type { Bundle, Resource } from '@medplum/fhirtypes';

/**
 * The JSON text of resources a response will carry, written once (issue 13). A search page
 * measures each resource's JSON against the response budget as it is presented; the text it
 * measured is kept here (by object, weakly) and spliced into the Bundle's JSON when the response
 * is written, instead of serializing every resource a second time. A resource read as stored
 * (not decrypted, not subsetted) is not serialized at all: its text is the stored one.
 *
 * A remembered resource must not change afterwards: the pipeline steps after an interaction
 * (consent, audit) read a result's resources and leave out entries, but never edit a resource.
 */
const texts = new WeakMap<object, string>();

/** Stands in for a remembered resource while the rest of the Bundle is serialized; unguessable, so no client-supplied string equals it. */
const MARKER = `\u0000${randomBytes(12).toString('base64url')}`;
const MARKER_JSON = JSON.stringify(MARKER);

/** Remembers `text`, the JSON of `resource` (`JSON.stringify(resource)` or text equal to it). */
export function rememberJson(resource: Resource, text: string): void {
  texts.set(resource, text);
}

/** `JSON.stringify(resource)`, with the remembered JSON of a Bundle's entry resources spliced in. */
export function toJson(resource: Resource): string {
  const entries = resource.resourceType === 'Bundle' ? (resource as Bundle).entry : undefined;
  if (!entries?.some((e) => e.resource !== undefined && texts.has(e.resource))) return JSON.stringify(resource);
  const spliced: string[] = [];
  const entry = entries.map((e) => {
    const text = e.resource === undefined ? undefined : texts.get(e.resource);
    if (text === undefined) return e;
    spliced.push(text);
    return { ...e, resource: MARKER };
  });
  const parts = JSON.stringify({ ...resource, entry }).split(MARKER_JSON);
  if (parts.length !== spliced.length + 1) return JSON.stringify(resource);
  let out = parts[0];
  for (let i = 0; i < spliced.length; i++) out += spliced[i] + parts[i + 1];
  return out;
}

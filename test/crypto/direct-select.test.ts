import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { createSensitiveElements, DEFAULT_ENCRYPTED_ELEMENTS } from '../../src/crypto/elements.js';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { officialExamples, syntheaBundle, syntheaFiles } from '../support/corpus.js';

/**
 * Issue 19 item 8: the default sensitive elements are selected from the JSON directly
 * (direct-select.ts). The same expressions with a no-op `.where(true)` appended are not of a direct
 * form, so fhirpath.js selects them: both must give the same JSON paths, in the same order, on
 * every official example and Synthea resource of the types with sensitive elements and on edge cases.
 */
const definitions = r4Definitions();
const sd = (type: string) => definitions.structureDefinitions.get(type);
const direct = createSensitiveElements(DEFAULT_ENCRYPTED_ELEMENTS, sd).elements;
const viaFhirpath = createSensitiveElements(Object.fromEntries(Object.entries(DEFAULT_ENCRYPTED_ELEMENTS).map(([type, list]) => [type, list.map((e) => `${e}.where(true)`)])), sd).elements;

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const EDGES: Array<[string, Resource]> = [
  ['national identifiers by system, by type, NN prefix, and others kept', { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: '1' }, { system: 'http://hl7.org/fhir/sid/us-ssn', value: '2' }, { type: { coding: [{ system: V2_0203, code: 'DL' }] }, value: '3' }, { type: { coding: [{ system: 'urn:other', code: 'SS' }, { system: V2_0203, code: 'NNGBR' }] }, value: '4' }, { type: { coding: [{ system: V2_0203, code: 'MR' }] }, value: '5' }, { type: { text: 'x' }, value: '6' }] } as Resource],
  ['identifier shapes left to fhirpath.js: nulls, a code with extensions only', { resourceType: 'Patient', identifier: [{ value: '1' }, null, { type: { coding: [{ system: V2_0203, _code: { extension: [{ url: 'u', valueString: 'v' }] } }] } }] } as unknown as Resource],
  ['single and repeating elements, a null entry, a primitive-extension twin', { resourceType: 'Patient', telecom: [{ system: 'phone', value: '1' }, null], address: [{ city: 'C' }, { line: ['L'] }], text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' }, _photo: [{ extension: [{ url: 'u', valueString: 'v' }] }] } as unknown as Resource],
  ['a contact and a photo', { resourceType: 'Patient', contact: [{ name: { family: 'C' } }], photo: [{ contentType: 'image/png', data: 'AA==' }] }],
  ['a MedicationRequest with notes', { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/1' }, medicationCodeableConcept: { text: 'x' }, note: [{ text: 'n1' }, { text: 'n2' }] }],
  ['a Consent with a source attachment', { resourceType: 'Consent', status: 'active', scope: { text: 's' }, category: [{ text: 'c' }], sourceAttachment: { title: 't' } } as Resource],
];

describe('sensitive elements selected directly equal fhirpath.js (issue 19 item 8)', () => {
  const types = Object.keys(DEFAULT_ENCRYPTED_ELEMENTS);
  const corpus = [
    ...types.flatMap((type) => officialExamples(type).map((e): [string, Resource] => [e.file, e.resource])),
    ...syntheaFiles().flatMap((file) => (syntheaBundle(file).bundle.entry ?? []).filter((e) => types.includes(e.resource!.resourceType)).map((e, i): [string, Resource] => [`${file} #${i}`, e.resource!])),
  ];

  it.each(EDGES.map(([name, resource]) => ({ name, resource })))('$name', ({ resource }) => {
    expect(direct.select(resource)).toEqual(viaFhirpath.select(resource));
  });

  it(`every official example and Synthea resource of ${types.join(', ')} (${corpus.length})`, () => {
    let selected = 0;
    for (const [name, resource] of corpus) {
      const paths = direct.select(resource);
      expect(paths, name).toEqual(viaFhirpath.select(resource));
      selected += paths.length;
    }
    expect(selected).toBeGreaterThan(50);
  });
});

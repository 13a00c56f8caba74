import type { Patient, Resource } from '@medplum/fhirtypes';
import { compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { createSensitiveElements } from '../../src/crypto/elements.js';
import { ENCRYPTED_ELEMENTS_URL } from '../../src/crypto/jwe-codec.js';
import { generateJwkSet } from '../../src/crypto/key-ring.js';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { FhirError } from '../../src/fhir/errors.js';
import { officialExamples } from '../support/corpus.js';
import { testCodec } from './support.js';

const SSN = 'http://hl7.org/fhir/sid/us-ssn';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** As prepareWrite hands resources to the codec: with id and meta.versionId. */
function stamped<T extends Resource>(resource: T, id = 'x1', versionId = '1'): T {
  return { ...resource, id, meta: { ...resource.meta, versionId, lastUpdated: '2026-01-01T00:00:00.000Z' } };
}

const jweOf = (r: Resource): string | undefined => (r as Patient).extension?.find((e) => e.url === ENCRYPTED_ELEMENTS_URL)?.valueString;

describe('the JWE codec round-trips every official example of the types with default sensitive elements', () => {
  const cases = ['Patient', 'MedicationRequest', 'Consent'].flatMap((type) => officialExamples(type).map((e) => [e.file, e.resource] as const));
  it.each(cases)('%s', async (_file, example) => {
    const { codec } = await testCodec();
    const resource = stamped(example, example.id ?? 'x1');
    const stored = await codec.encode(resource);
    expect(await codec.decode(stored)).toEqual(resource);
  });
});

describe('what the stored form keeps in clear', () => {
  const patient: Patient = stamped({
    resourceType: 'Patient',
    extension: [{ url: 'urn:ext', valueString: 'kept' }],
    identifier: [
      { system: 'urn:mrn', value: 'MRN-1' },
      { system: SSN, value: 'SSN-SECRET' },
      { type: { coding: [{ system: V2_0203, code: 'NNGBR' }] }, value: 'NN-SECRET' },
    ],
    name: [{ family: 'Visible', given: ['Ann'] }],
    telecom: [{ system: 'phone', value: 'PHONE-SECRET' }],
    address: [{ line: ['LINE-SECRET'], city: 'CITY-SECRET' }],
    contact: [{ telecom: [{ system: 'email', value: 'CONTACT-SECRET' }] }],
    photo: [{ contentType: 'image/png', data: Buffer.from('PHOTO-SECRET').toString('base64') }],
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">NARRATIVE-SECRET</div>' },
  });

  it('removes the sensitive values, keeps the rest, and adds one JWE extension', async () => {
    const { codec, ring } = await testCodec();
    const stored = (await codec.encode(patient)) as Patient;
    const json = JSON.stringify(stored);
    for (const secret of ['SSN-SECRET', 'NN-SECRET', 'PHONE-SECRET', 'LINE-SECRET', 'CITY-SECRET', 'CONTACT-SECRET', 'NARRATIVE-SECRET', patient.photo![0].data!]) {
      expect(json).not.toContain(secret);
    }
    expect(stored.identifier).toEqual([{ system: 'urn:mrn', value: 'MRN-1' }]);
    expect(stored.name).toEqual(patient.name);
    expect(stored.telecom).toBeUndefined();
    expect(stored.extension).toHaveLength(2);
    const jwe = jweOf(stored)!;
    const header = JSON.parse(Buffer.from(jwe.split('.')[0], 'base64url').toString());
    expect(header).toMatchObject({ alg: 'dir', enc: 'A256GCM', kid: ring.current.atRest.kid });
    expect(await codec.decode(stored)).toEqual(patient);
  });

  it('leaves a resource without sensitive values as it is', async () => {
    const { codec } = await testCodec();
    const plain = stamped<Patient>({ resourceType: 'Patient', name: [{ family: 'Plain' }], identifier: [{ system: 'urn:mrn', value: '1' }] });
    expect(await codec.encode(plain)).toBe(plain);
    expect(await codec.decode(plain)).toBe(plain);
  });

  it('handles primitive extensions (_x), choice types, nesting and configured expressions', async () => {
    const { codec } = await testCodec({
      config: { Patient: ['Patient.name.given', 'Patient.birthDate', 'Patient.deceased', 'Patient.contact.telecom'], Consent: ['Consent.source'] },
    });
    const resource = stamped<Patient>({
      resourceType: 'Patient',
      name: [{ family: 'F', given: ['G1', 'G2'], _given: [null, { extension: [{ url: 'urn:x', valueString: 'E' }] }] } as never],
      birthDate: '1990-01-01',
      _birthDate: { extension: [{ url: 'urn:y', valueString: 'B' }] },
      deceasedBoolean: false,
      contact: [{ name: { family: 'K' }, telecom: [{ value: 'T' }] }, { telecom: [{ value: 'U' }] }],
    } as Patient);
    const stored = (await codec.encode(resource)) as unknown as Record<string, unknown>;
    expect(stored.name).toEqual([{ family: 'F' }]);
    expect(stored).not.toHaveProperty('birthDate');
    expect(stored).not.toHaveProperty('_birthDate');
    expect(stored).not.toHaveProperty('deceasedBoolean');
    expect(stored.contact).toEqual([{ name: { family: 'K' } }]);
    expect(await codec.decode(stored as never)).toEqual(resource);
  });

  it('refuses a resource that brings its own encrypted-elements extension', async () => {
    const { codec } = await testCodec();
    const forged = stamped<Patient>({ resourceType: 'Patient', extension: [{ url: ENCRYPTED_ELEMENTS_URL, valueString: 'x.y.z' }] });
    await expect(codec.encode(forged)).rejects.toMatchObject({ code: 'invalid-resource' });
  });
});

describe('reads fail closed', () => {
  // A value no log line can hold by chance (a bare '555' matched a timestamp's milliseconds once).
  const patient = stamped<Patient>({ resourceType: 'Patient', telecom: [{ system: 'phone', value: '555-0142' }] }, 'p1', '3');

  it('costs exactly one decryption', async () => {
    const { codec, ring } = await testCodec();
    const stored = await codec.encode(patient);
    let calls = 0;
    const kid = ring.current.atRest.kid;
    const decrypter = ring.current.atRestDecrypters.get(kid)!;
    const counting = { decrypt: (jwe: string) => (calls++, decrypter.decrypt(jwe)) };
    ring.current = { ...ring.current, atRestDecrypters: new Map([[kid, counting]]) };
    await codec.decode(stored);
    expect(calls).toBe(1);
  });

  it('an unknown kid is a 500 naming the key, with a log line and no content', async () => {
    const logs: string[] = [];
    const writer = await testCodec();
    const reader = await testCodec({ logs });
    const stored = await writer.codec.encode(patient);
    const err = await reader.codec.decode(stored).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FhirError);
    expect((err as FhirError).code).toBe('internal');
    expect((err as FhirError).message).toContain(writer.ring.current.atRest.kid);
    expect(logs.some((l) => l.includes('cannot be decrypted') && l.includes('"id":"p1"'))).toBe(true);
    expect(logs.join('\n')).not.toContain('555-0142');
  });

  it('a wrong key under a known kid, a tampered JWE and a JWE moved to another version all fail', async () => {
    const { codec, set } = await testCodec();
    const stored = (await codec.encode(patient)) as Patient;
    const jwe = jweOf(stored)!;
    const wrongKey = { keys: set.keys.map((k) => (k.kid === set.keys[0].kid ? { ...k, k: Buffer.alloc(32, 7).toString('base64url') } : k)) };
    const other = await testCodec({ set: wrongKey });
    await expect(other.codec.decode(stored)).rejects.toThrow(/does not decrypt/);
    const parts = jwe.split('.');
    parts[3] = `${parts[3][0] === 'A' ? 'B' : 'A'}${parts[3].slice(1)}`;
    const tampered = { ...stored, extension: [{ url: ENCRYPTED_ELEMENTS_URL, valueString: parts.join('.') }] };
    await expect(codec.decode(tampered)).rejects.toThrow(/does not decrypt/);
    await expect(codec.decode({ ...stored, meta: { ...stored.meta, versionId: '4' } })).rejects.toThrow(/belongs to Patient\/p1\/_history\/3/);
    await expect(codec.decode({ ...stored, id: 'p2' })).rejects.toThrow(/belongs to/);
  });

  it('works with an A256KW key as well (rings made before issue 14: alg A256KW, A256GCM)', async () => {
    const set = await generateJwkSet();
    set.keys[0] = { ...set.keys[0], alg: 'A256KW' };
    const { codec } = await testCodec({ set });
    const stored = await codec.encode(patient);
    expect(JSON.parse(Buffer.from(jweOf(stored)!.split('.')[0], 'base64url').toString())).toMatchObject({ alg: 'A256KW', enc: 'A256GCM' });
    expect(await codec.decode(stored)).toEqual(patient);
  });
});

describe('the IV of every at-rest JWE (issue 19 item 8: drawn from Node\'s CSPRNG, not node-forge\'s)', () => {
  const patient = stamped<Patient>({ resourceType: 'Patient', telecom: [{ system: 'phone', value: '555-0199' }] }, 'p1', '1');

  it('is 96 bits and never repeats, and the JWE opens with the jose package given only the ring key', async () => {
    const { codec, set } = await testCodec();
    const jwes = await Promise.all(Array.from({ length: 200 }, async () => jweOf(await codec.encode(patient))!));
    const ivs = jwes.map((jwe) => jwe.split('.')[2]);
    expect(ivs.every((iv) => Buffer.from(iv, 'base64url').length === 12)).toBe(true);
    expect(new Set(ivs).size).toBe(ivs.length);
    const header = JSON.parse(Buffer.from(jwes[0].split('.')[0], 'base64url').toString()) as { kid: string };
    const key = Buffer.from(String(set.keys.find((k) => k.kid === header.kid)!.k), 'base64url');
    const { plaintext } = await compactDecrypt(jwes[0], key);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toMatchObject({ r: 'Patient/p1/_history/1', o: { telecom: [{ value: '555-0199' }] } });
  });
});

describe('FHIRGATE_ENCRYPTED_ELEMENTS is checked at start-up', () => {
  const sd = (t: string) => (['Patient', 'MedicationRequest'].includes(t) ? r4Definitions().structureDefinitions.get(t) : undefined);
  it.each([
    [{ Observation: ['Observation.note'] }, /'Observation' is not a served resource type/],
    [{ Patient: ['telecom'] }, /must start with 'Patient\.'/],
    [{ Patient: ['Patient.telecom.count()'] }, /only navigate/],
    [{ Patient: ['Patient.meta'] }, /needed in clear/],
    [{ Patient: ['Patient.nickname'] }, /no element 'nickname'/],
    [{ MedicationRequest: ['MedicationRequest.subject'] }, /is required/],
    [{ Patient: ["Patient.telecom.where(system = 'phone'"] }, /only navigate|does not compile/],
  ])('%j', (config, problem) => {
    const { problems } = createSensitiveElements(config, sd);
    expect(problems.join('; ')).toMatch(problem);
  });

  it('accepts the defaults', () => {
    expect(createSensitiveElements({ Patient: ['Patient.telecom'], MedicationRequest: ['MedicationRequest.note'] }, sd).problems).toEqual([]);
  });
});

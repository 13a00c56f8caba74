/**
 * v2 coding system names (table 0396, CWE-3/CWE-6) → FHIR code system URIs, as the IG's
 * CWE[CodeableConcept] map prescribes (terminology.hl7.org for `HL7nnnn` tables).
 */
const KNOWN: Readonly<Record<string, string>> = {
  LN: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  SNM: 'http://snomed.info/sct',
  RXNORM: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  RXN: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  NDC: 'http://hl7.org/fhir/sid/ndc',
  CVX: 'http://hl7.org/fhir/sid/cvx',
  I10: 'http://hl7.org/fhir/sid/icd-10',
  'I10C': 'http://hl7.org/fhir/sid/icd-10-cm',
  I9C: 'http://hl7.org/fhir/sid/icd-9-cm',
  UCUM: 'http://unitsofmeasure.org',
  ISO3166_1: 'urn:iso:std:iso:3166',
  ISO639: 'urn:ietf:bcp:47',
  NUCC: 'http://nucc.org/provider-taxonomy',
  CDCREC: 'urn:oid:2.16.840.1.113883.6.238',
  CPT: 'http://www.ama-assn.org/go/cpt',
  HCPCS: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  NPI: 'http://hl7.org/fhir/sid/us-npi',
};

/** The FHIR system URI of a v2 coding system name, or undefined when unknown (the coding then has no system). */
export function codingSystem(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const upper = name.toUpperCase();
  const table = /^HL7(\d{4})$/.exec(upper) ?? /^HL7-?(\d{4})$/.exec(upper);
  if (table) return `http://terminology.hl7.org/CodeSystem/v2-${table[1]}`;
  if (KNOWN[upper]) return KNOWN[upper];
  if (/^\d+(\.\d+)+$/.test(name)) return `urn:oid:${name}`;
  if (/^(https?:|urn:)/.test(name)) return name;
  return undefined;
}

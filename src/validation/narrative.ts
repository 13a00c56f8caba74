import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { makeIssue } from './issues.js';

const XHTML_NS = 'http://www.w3.org/1999/xhtml';
// One attribute with a quoted value, as XML requires (https://www.w3.org/TR/xml/#NT-Attribute).
const ATTRIBUTE = /\s+([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')/g;
const ROOT_DIV = /^\s*<div((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/;
const START_TAG = /<[A-Za-z][\w.:-]*(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*\/?>/g;
const XML_LANG = /\s+xml:lang\s*=\s*(?:"[^"]*"|'[^']*')/g;

/** The texts of the two R4 narrative invariants, from the definitions. */
export interface NarrativeTexts {
  txt1: string;
  txt2: string;
}

type HtmlChecks = (narrative: { div: string }) => unknown;

/**
 * Checks `Narrative.div` (https://hl7.org/fhir/R4/narrative.html#xhtml): txt-1 (only the
 * basic HTML elements and attributes), txt-2 (some non-whitespace content), and the XHTML
 * namespace on the root `<div>`, which R4 requires but neither invariant tests.
 *
 * txt-1 and txt-2 share one R4 expression, `htmlChecks()`, evaluated here with fhirpath.js,
 * with two corrections:
 * - `xml:lang` is removed first. It is XML's own language attribute (bound to the `xml`
 *   prefix by XML itself, https://www.w3.org/TR/xml/#sec-lang-tag) and current HL7 tooling
 *   writes `<div xmlns="..." xml:lang="en" lang="en">`; fhirpath.js 5.2 refuses every prefixed
 *   attribute, which rejected valid narratives.
 * - a failure is reported as the invariant that actually fails: txt-2 only when the div has
 *   no content, txt-1 only when the markup is wrong, so a disallowed element no longer also
 *   claims the narrative is empty.
 */
export class NarrativeChecker {
  private readonly htmlChecks: HtmlChecks;

  constructor(private readonly texts: NarrativeTexts) {
    const compiled = fhirpath.compile({ base: 'Narrative', expression: '`div`.htmlChecks()' }, r4Model) as (context: unknown) => unknown[];
    this.htmlChecks = (narrative) => compiled(narrative);
  }

  /** Issues of one `div` value (a string; other JSON types are reported by the schema layer). */
  check(div: unknown, location: string): OperationOutcomeIssue[] {
    if (typeof div !== 'string') return [];
    const issues: OperationOutcomeIssue[] = [];
    const root = ROOT_DIV.exec(div);
    if (root && namespaceOf(root[1]) !== XHTML_NS) {
      issues.push(makeIssue('error', 'invariant', `The narrative <div> must declare the XHTML namespace (xmlns="${XHTML_NS}")`, location));
    }
    const markup = div.replace(START_TAG, (tag) => tag.replace(XML_LANG, ''));
    if (this.passes(markup)) return issues;
    if (hasContent(markup)) return [...issues, this.txt1(location)];
    // Empty: with some text added, is the markup itself fine?
    const close = markup.lastIndexOf('</div>');
    const filled = close < 0 ? undefined : `${markup.slice(0, close)}x${markup.slice(close)}`;
    return filled !== undefined && this.passes(filled) ? [...issues, this.txt2(location)] : [...issues, this.txt1(location), this.txt2(location)];
  }

  private passes(div: string): boolean {
    try {
      const result = this.htmlChecks({ div });
      return !(Array.isArray(result) && result.length === 1 && result[0] === false);
    } catch {
      return true; // fhirpath.js could not evaluate: no evidence against the narrative
    }
  }

  private txt1(location: string): OperationOutcomeIssue {
    return makeIssue('error', 'invariant', `txt-1: ${this.texts.txt1}`, location);
  }

  private txt2(location: string): OperationOutcomeIssue {
    return makeIssue('error', 'invariant', `txt-2: ${this.texts.txt2}`, location);
  }
}

function namespaceOf(attributes: string): string | undefined {
  for (const [, name, quoted] of attributes.matchAll(ATTRIBUTE)) if (name === 'xmlns') return quoted.slice(1, -1);
  return undefined;
}

/** Text other than whitespace, or an image ("text or an image", narrative.html#xhtml). */
function hasContent(div: string): boolean {
  if (/<img[\s/>]/i.test(div)) return true;
  return /\S/.test(div.replace(/<!--[\s\S]*?-->/g, '').replace(/<[^>]*>/g, ''));
}

import { hl7Escape } from 'hl7v2';
import type { V2Delimiters } from './message.js';

/** What an acknowledgement answers: the incoming header fields (as far as they could be read). */
export interface AckTarget {
  delimiters: V2Delimiters;
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  triggerEvent: string;
  controlId: string;
  processingId: string;
  version: string;
}

export interface AckError {
  /** HL7 table 0357 code. */
  hl7Error: number;
  text: string;
  location?: { segment: string; sequence?: number; field?: number; component?: number };
  /** ERR-5 (application error code, user-defined table 0533): FhirGate's stable error code, e.g. `forbidden`. */
  application?: string;
}

const TEXT_0357: Record<number, string> = {
  0: 'Message accepted', 100: 'Segment sequence error', 101: 'Required field missing', 102: 'Data type error', 103: 'Table value not found',
  200: 'Unsupported message type', 201: 'Unsupported event code', 202: 'Unsupported processing id', 203: 'Unsupported version id',
  204: 'Unknown key identifier', 205: 'Duplicate key identifier', 206: 'Application record locked', 207: 'Application internal error',
};

export const DEFAULT_DELIMITERS: V2Delimiters = { field: '|', component: '^', repetition: '~', escape: '\\', subComponent: '&' };

const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, '+0000');

/**
 * Builds an ACK (v2 ch. 2.9, 2.14): MSH addressed back to the sender, in its version and
 * encoding characters; MSA echoing MSH-10; ERR with location, table 0357 code and text. Versions
 * before 2.5 get ERR-1 (ELD) and MSA-3; later ones ERR-2/3/4/8.
 */
export function buildAck(target: AckTarget, code: string, options: { error?: AckError; controlId: string; now: Date; application?: string }): string {
  const d = target.delimiters;
  const esc = (s: string | number | undefined): string => hl7Escape(s === undefined ? '' : String(s), { fieldSeparator: d.field, componentSeparator: d.component, repetitionSeparator: d.repetition, escapeCharacter: d.escape, subComponentSeparator: d.subComponent } as never);
  const f = (...fields: Array<string | undefined>): string => fields.map((x) => x ?? '').join(d.field).replace(new RegExp(`\\${d.field}+$`), '');
  const version = /^2\.\d+(\.\d+)?$/.test(target.version) ? target.version : '2.5';
  const legacy = Number(version.split('.')[1]) < 5;
  const msh = f(
    'MSH', `${d.component}${d.repetition}${d.escape}${d.subComponent}`,
    esc(target.receivingApplication || options.application || 'FhirGate'), esc(target.receivingFacility),
    esc(target.sendingApplication), esc(target.sendingFacility), stamp(options.now), '',
    ['ACK', esc(target.triggerEvent), 'ACK'].join(d.component).replace(new RegExp(`\\${d.component}+$`), ''),
    esc(options.controlId), esc(target.processingId || 'P'), version,
  );
  const e = options.error;
  const msa = f('MSA', code, esc(target.controlId), legacy && e ? esc(e.text) : undefined);
  const segments = [msh, msa];
  if (e) {
    const loc = e.location ? [e.location.segment, e.location.sequence ?? 1, e.location.field, e.location.component].map((x) => esc(x)).join(d.component).replace(new RegExp(`\\${d.component}+$`), '') : '';
    const codeCwe = [e.hl7Error, esc(TEXT_0357[e.hl7Error] ?? 'Error'), 'HL70357'].join(d.component);
    const l = e.location;
    if (legacy) segments.push(f('ERR', [esc(l?.segment), esc(l?.sequence ?? (l ? 1 : undefined)), esc(l?.field), codeCwe.split(d.component).join(d.subComponent)].join(d.component)));
    else segments.push(f('ERR', '', loc, codeCwe, 'E', e.application ? [esc(e.application), '', '99FHIRGATE'].join(d.component) : '', '', '', esc(e.text)));
  }
  return `${segments.join('\r')}\r`;
}

import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { V2Message } from '../message.js';
import type { MapContext } from './context.js';

/** Current resources matching a search (`identifier=sys|val`, `subject=Patient/1`), as the pipeline returns them. */
export type Lookup = (resourceType: string, query: string) => Promise<Resource[]>;

/** A message type's mapping: the message (and what it finds of the current state) → one transaction Bundle. */
export type MessageMapper = (message: V2Message, ctx: MapContext, lookup: Lookup) => Promise<Bundle>;

/**
 * A message that parses but cannot be applied (a required field missing, a code not in its table):
 * answered `AE` with an ERR segment naming the location (HL7 table 0357 error codes).
 */
export class MappingError extends Error {
  constructor(
    message: string,
    readonly hl7ErrorCode: number,
    readonly location: { segment: string; sequence?: number; field?: number; component?: number },
  ) {
    super(message);
    this.name = 'MappingError';
  }
}

/** HL7 table 0357 codes the mappers use. */
export const HL7_ERROR = { segmentSequence: 100, requiredFieldMissing: 101, dataTypeError: 102, tableValueNotFound: 103, unsupportedMessageType: 200, unsupportedEvent: 201, unsupportedProcessingId: 202, unsupportedVersion: 203, unknownKey: 204, duplicateKey: 205, applicationError: 207 } as const;

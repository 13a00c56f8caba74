import { mapAdtMerge, mapAdtPatient } from './adt.js';
import { mapPharmacyDispense, mapPharmacyOrder } from './pharmacy.js';
import { mapScheduling } from './scheduling.js';
import type { MessageMapper } from './types.js';

/** The message types (MSH-9.1^MSH-9.2) FhirGate applies; anything else is answered `AR`. */
export const MAPPERS: Readonly<Record<string, MessageMapper>> = {
  'ADT^A01': mapAdtPatient,
  'ADT^A03': mapAdtPatient,
  'ADT^A04': mapAdtPatient,
  'ADT^A05': mapAdtPatient,
  'ADT^A08': mapAdtPatient,
  'ADT^A28': mapAdtPatient,
  'ADT^A31': mapAdtPatient,
  'ADT^A40': mapAdtMerge,
  'RDE^O11': mapPharmacyOrder,
  'OMP^O09': mapPharmacyOrder,
  'RDS^O13': mapPharmacyDispense,
  'SIU^S12': mapScheduling,
  'SIU^S13': mapScheduling,
  'SIU^S14': mapScheduling,
  'SIU^S15': mapScheduling,
  'SIU^S17': mapScheduling,
  'SIU^S26': mapScheduling,
};

export type { MapContext } from './context.js';
export { MappingError, type Lookup, type MessageMapper } from './types.js';

import type { MedicationRequest } from '@medplum/fhirtypes';

type Status = MedicationRequest['status'];

/**
 * ORC-5 (order status, table 0038) → MedicationRequest.status. The IG maps ORC-5 to the request
 * status of ServiceRequest (`codesystems/OrderStatus.csv`); MedicationRequest has no `revoked`, so
 * canceled and replaced orders are `cancelled` and discontinued ones `stopped` (medicationrequest-status).
 */
export const ORDER_STATUS: Readonly<Record<string, Status>> = {
  CA: 'cancelled',
  CM: 'completed',
  DC: 'stopped',
  ER: 'entered-in-error',
  HD: 'on-hold',
  IP: 'active',
  RP: 'cancelled',
  SC: 'active',
};

/**
 * ORC-1 (order control, table 0119) → MedicationRequest.status, when ORC-5 is empty. Following the
 * IG's `OrderControlCode-to-ServiceRequest.status.csv` with the same `revoked` split as above;
 * controls that say nothing about the status (SC, NA, ...) keep the stored one.
 */
export const ORDER_CONTROL_STATUS: Readonly<Record<string, Status>> = {
  NW: 'active',
  OK: 'active',
  AF: 'active',
  PR: 'active',
  RL: 'active',
  RO: 'active',
  RQ: 'active',
  PY: 'active',
  OP: 'active',
  XO: 'active',
  XX: 'active',
  HD: 'on-hold',
  OH: 'on-hold',
  HR: 'on-hold',
  CA: 'cancelled',
  OC: 'cancelled',
  CR: 'cancelled',
  DF: 'cancelled',
  DC: 'stopped',
  OD: 'stopped',
  DR: 'stopped',
  FU: 'completed',
};

/** Order controls the adapter applies; anything else is answered `AE` (table 0357 code 103). */
export const SUPPORTED_ORDER_CONTROLS = new Set([...Object.keys(ORDER_CONTROL_STATUS), 'SC', 'RE', 'NA', 'OE', 'OF', 'OR', 'RP', 'RU', 'RF']);

/** The status an order's ORC gives, or undefined when it leaves the stored one unchanged. */
export function orderStatus(control: string | undefined, status: string | undefined): Status | undefined {
  return (status && ORDER_STATUS[status.toUpperCase()]) || (control ? ORDER_CONTROL_STATUS[control.toUpperCase()] : undefined);
}

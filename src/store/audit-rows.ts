// The audit table's row as statements write it: its columns in one order, with their types, and an
// event's values in that order. The store's inserts and the PostgreSQL guess statement (guess-batch.ts),
// which writes audit rows as part of a larger statement, both build on it.
import type { AuditEvent } from '../core/audit.js';
import type { Param } from './driver.js';

/** The columns of audit_events, in the order of auditParams, each with the type a cast of its value takes. */
export const AUDIT_COLUMN_TYPES = [
  ['id', 'TEXT'],
  ['at', 'BIGINT'],
  ['method', 'TEXT'],
  ['operation', 'TEXT'],
  ['alias', 'TEXT'],
  ['client_id', 'TEXT'],
  ['address', 'TEXT'],
  ['delivery_type', 'TEXT'],
  ['outcome', 'TEXT'],
  ['reason', 'TEXT'],
  ['request_id', 'TEXT'],
] as const;

export const AUDIT_COLUMN_NAMES: readonly string[] = AUDIT_COLUMN_TYPES.map(([name]) => name);
export const AUDIT_COLUMNS = AUDIT_COLUMN_NAMES.join(', ');
export const AUDIT_PLACEHOLDERS = AUDIT_COLUMN_NAMES.map(() => '?').join(', ');

export const auditParams = (e: AuditEvent): Param[] => [e.id, e.at, e.method, e.operation, e.alias, e.clientId, e.address, e.deliveryType, e.outcome, e.reason, e.requestId];

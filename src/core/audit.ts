// The audit trail's vocabulary: what one verification decision records, how delivery addresses are
// masked before they are kept, and the time-ordered ids that order the trail on either database.
import type { RandomBytes } from './secrets.js';
import type { DeliveryType, Method, VerificationStatus } from './model.js';

/** SENT: a token or a push went out (the person has still to answer); the rest are the spec's final statuses. */
export const AUDIT_OUTCOMES = ['SENT', 'SUCCESS', 'FAILED', 'LOCKOUT', 'NOT_ENOUGH_DATA'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** A status as an outcome: a verification left PENDING means something was sent that the person has to answer. */
export function auditOutcome(status: VerificationStatus): AuditOutcome {
  return status === 'PENDING' ? 'SENT' : status;
}

/**
 * The call that led to the decision: token send, a check (token/kba authenticate, duo/okta/rsa verify), a
 * poll that saw the provider's final answer, or an operator's action (`unlock` a lockout, `reset` KBA
 * answers, any other `change` made in the console, an operator's `sign-in` to it).
 */
export const AUDIT_OPERATIONS = ['send', 'authenticate', 'verify', 'poll', 'unlock', 'reset', 'change', 'sign-in'] as const;
export type AuditOperation = (typeof AUDIT_OPERATIONS)[number];

/** What an event is about: a method's verification, or (`console`) a change an operator made that belongs to no method. The list is AUDIT_METHODS in src/methods/index.ts. */
export type AuditMethod = Method | 'console';

/**
 * What a service reports at a decision point. Never a token, an answer, a signed response or a
 * tokencode: `reason` is one of the service's fixed texts, and `address` is masked by the trail before
 * it is stored or sent anywhere.
 */
export interface Decision {
  readonly method: AuditMethod;
  readonly operation: AuditOperation;
  /** The alias (Okta login, Duo/RSA userId) as the caller gave it, known or not. */
  readonly alias: string;
  readonly clientId: string;
  readonly outcome: AuditOutcome;
  readonly reason: string | null;
  /** The verification's request id; null when none was made (a send refused by a lockout). */
  readonly requestId: string | null;
  readonly deliveryType?: DeliveryType | null;
  /** The delivery address in clear; the trail keeps only `maskAddress` of it. */
  readonly address?: string | null;
}

/** One row of the trail, as stored, listed and sent to the events webhook. */
export interface AuditEvent {
  /** Time-ordered (see AuditIds): sorting by id sorts by time. */
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly method: AuditMethod;
  readonly operation: AuditOperation;
  readonly alias: string;
  readonly clientId: string;
  /** Masked: `w***@example.com`, `+1********67`. */
  readonly address: string | null;
  readonly deliveryType: DeliveryType | null;
  readonly outcome: AuditOutcome;
  readonly reason: string | null;
  readonly requestId: string | null;
}

export interface AuditQuery {
  readonly alias?: string;
  readonly method?: AuditMethod;
  readonly outcome?: AuditOutcome;
  readonly clientId?: string;
  /** Inclusive lower bound of `at` (ms). */
  readonly since?: number;
  /** Exclusive upper bound of `at` (ms). */
  readonly until?: number;
  readonly limit: number;
  /** Id of the last event of the previous page: the page continues past it in the chosen order. */
  readonly after?: string;
  /** Newest first by default. */
  readonly order?: 'newest' | 'oldest';
}

/** Longest reason kept; provider texts can run long and the trail wants a short cause. */
export const MAX_REASON_LENGTH = 200;

/**
 * Masks a delivery address: an email keeps the first character of its local part and its domain
 * (`w***@example.com`); anything else (a phone number) keeps its first two and last two characters, the
 * rest starred (`+1********67`). Short values are starred whole.
 */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at > 0) return `${address.slice(0, 1)}***${address.slice(at)}`;
  if (address.length <= 6) return '*'.repeat(address.length);
  return `${address.slice(0, 2)}${'*'.repeat(address.length - 4)}${address.slice(-2)}`;
}

/**
 * A send answered as if a token went out although nothing was sent (an unknown or disabled alias, or no
 * address for that delivery type). Counted like a real send wherever callers' questions could reach the
 * count (metrics), so only the audit trail tells who exists.
 */
export function isUnaddressedSend(event: Pick<AuditEvent, 'operation' | 'outcome' | 'requestId'>): boolean {
  return event.operation === 'send' && event.outcome === 'NOT_ENOUGH_DATA' && event.requestId !== null;
}

/** The event a decision becomes at `at` with `id`: address masked, reason trimmed to MAX_REASON_LENGTH. */
export function toAuditEvent(decision: Decision, id: string, at: number): AuditEvent {
  const reason = decision.reason === null ? null : decision.reason.length > MAX_REASON_LENGTH ? `${decision.reason.slice(0, MAX_REASON_LENGTH - 1)}…` : decision.reason;
  return {
    id,
    at,
    method: decision.method,
    operation: decision.operation,
    alias: decision.alias,
    clientId: decision.clientId,
    address: decision.address ? maskAddress(decision.address) : null,
    deliveryType: decision.deliveryType ?? null,
    outcome: decision.outcome,
    reason,
    requestId: decision.requestId,
  };
}

/** An audit id: 15 digits of milliseconds, 6 digits of sequence, 8 hex digits of randomness. */
export const AUDIT_ID_PATTERN = '^[0-9]{21}[0-9a-f]{8}$';

/**
 * Time-ordered ids. Only digits and lowercase hex, all of one length, so that text order is time order
 * under any collation (SQLite's BINARY, PostgreSQL's locale collations alike). Within one process ids
 * never go backwards, even when the clock does or several events share a millisecond; between processes
 * events of the same millisecond are ordered by their random part.
 */
export class AuditIds {
  private lastMs = 0;
  private sequence = 0;

  constructor(private readonly randomBytes: RandomBytes) {}

  next(nowMs: number): string {
    if (nowMs > this.lastMs) {
      this.lastMs = nowMs;
      this.sequence = 0;
    } else if (++this.sequence > 999_999) {
      // A million events in one millisecond: borrow the next one.
      this.lastMs++;
      this.sequence = 0;
    }
    return `${String(this.lastMs).padStart(15, '0')}${String(this.sequence).padStart(6, '0')}${this.randomBytes(4).toString('hex')}`;
  }
}

/** A time filter of the audit query: epoch milliseconds (digits) or an ISO 8601 date-time; undefined if neither. */
export function parseAuditInstant(text: string): number | undefined {
  const ms = /^[0-9]{1,15}$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

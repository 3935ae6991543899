// The lifecycle every verification follows, as pure decisions: what a poll reports, how long a decided
// verification is kept, and the records a verification is started and decided as. The store applies them
// through src/methods/lifecycle.ts; the token method's own atomic statements keep the same rules.
import type { Method, Verification, VerificationStatus } from './model.js';

export const ERROR_EXPIRED = 'The token has expired.';
export const ERROR_UNKNOWN_REQUEST = 'No verification with this request id.';

/** Where a verification stands: the status and error a poll reports. */
export interface StatusView {
  readonly status: VerificationStatus;
  readonly error: string | null;
}

/**
 * The spec's VerificationResponse, as a verify call or a poll answers it. `error` is left out by the calls
 * that never had one to give (RSA's answers) and is null or '' where the call always sent it.
 */
export interface VerificationResponse {
  readonly requestId: string;
  readonly status: VerificationStatus;
  readonly error?: string | null;
}

/** What a poll reports: a pending verification past its expiry has failed, whatever the row says. */
export function statusAt(v: Verification, now: number): StatusView {
  if (v.status === 'PENDING' && v.expiresAt <= now) return { status: 'FAILED', error: ERROR_EXPIRED };
  return { status: v.status, error: v.error };
}

/** The answer to an unknown, foreign or other-method request id: the same whichever it is. */
export const UNKNOWN_REQUEST: StatusView = { status: 'FAILED', error: ERROR_UNKNOWN_REQUEST };

/**
 * How long a verification decided at once (a KBA check, a Duo response, an RSA tokencode, a push that
 * could not be sent) counts as live: its `expiresAt` is this long after the decision. Pruning keeps it
 * MFA_VERIFICATION_RETENTION_DAYS longer, and polls answer its status until then (docs/methods.md).
 */
export const DECIDED_RETENTION_MS = 24 * 3600 * 1000;

export interface DecidedInput {
  readonly id: string;
  readonly method: Method;
  readonly subject: string;
  readonly clientId: string;
  readonly status: VerificationStatus;
  readonly error: string | null;
  /** A keyed fingerprint of what was checked (Duo's response), never a secret. */
  readonly secretHash?: string | null;
  readonly now: number;
}

/** A verification decided at once: one attempt, completed now, kept DECIDED_RETENTION_MS. */
export function decidedVerification(d: DecidedInput): Verification {
  return {
    id: d.id,
    method: d.method,
    subject: d.subject,
    clientId: d.clientId,
    deliveryType: null,
    secretHash: d.secretHash ?? null,
    status: d.status,
    error: d.error,
    attempts: 1,
    createdAt: d.now,
    expiresAt: d.now + DECIDED_RETENTION_MS,
    completedAt: d.now,
  };
}

export interface PendingInput {
  readonly id: string;
  readonly method: Method;
  readonly subject: string;
  readonly clientId: string;
  readonly now: number;
  /** When the person's answer stops counting: past it a poll reports FAILED (statusAt). */
  readonly expiresAt: number;
}

/** A verification waiting for the person's answer, which a poll (or the method) completes later. */
export function pendingVerification(p: PendingInput): Verification {
  return {
    id: p.id,
    method: p.method,
    subject: p.subject,
    clientId: p.clientId,
    deliveryType: null,
    secretHash: null,
    status: 'PENDING',
    error: null,
    attempts: 0,
    createdAt: p.now,
    expiresAt: p.expiresAt,
    completedAt: null,
  };
}

/**
 * What a completion answers: the status it recorded when it was the first, else the status the first one
 * recorded (read back), or its own when the verification is gone meanwhile.
 */
export function completionAnswer(won: boolean, recorded: StatusView, current: Verification | undefined, now: number): StatusView {
  if (won || !current) return recorded;
  return statusAt(current, now);
}

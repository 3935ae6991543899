// Decisions of the one-time token method, as pure functions over values and the current time. What a poll
// reports of a token verification is the lifecycle's rule for every method (src/core/verification.ts).
import type { DeliveryType, Verification, VerificationStatus } from './model.js';

export interface TokenPolicy {
  readonly length: number;
  readonly ttlSeconds: number;
  /** Wrong tokens one verification tolerates before it, and the identity, are locked. */
  readonly maxAttempts: number;
  /** Wrong tokens one identity may give across verifications within the window before a lockout. */
  readonly maxFailuresPerIdentity: number;
  readonly failureWindowSeconds: number;
  readonly lockoutSeconds: number;
  /** A repeated send within this interval answers the pending request instead of sending again. */
  readonly resendIntervalSeconds: number;
}

export const ERROR_SUPERSEDED = 'A newer token was sent.';
export const ERROR_LOCKED = 'Too many wrong tokens; token verification is locked for a while.';

export type GuessPrecheck =
  | { readonly kind: 'locked' }
  | { readonly kind: 'no-token' }
  | { readonly kind: 'closed' }
  | { readonly kind: 'open'; readonly verification: Verification };

/**
 * Whether a submitted token can be checked at all. Only the current verification of the identity, sent
 * for the same delivery type, can be answered; a token for another channel has nothing to match.
 */
export function precheckGuess(
  lockedUntil: number,
  current: Verification | undefined,
  deliveryType: DeliveryType,
  now: number,
): GuessPrecheck {
  if (lockedUntil > now) return { kind: 'locked' };
  if (!current || current.deliveryType !== deliveryType) return { kind: 'no-token' };
  if (current.status === 'LOCKOUT') return { kind: 'locked' };
  if (current.status !== 'PENDING' || current.expiresAt <= now) return { kind: 'closed' };
  return { kind: 'open', verification: current };
}

/** Status answered by token/authenticate for each precheck outcome that ends the call early. */
export function earlyAnswer(check: Exclude<GuessPrecheck, { kind: 'open' }>): VerificationStatus {
  switch (check.kind) {
    case 'locked':
      return 'LOCKOUT';
    case 'no-token':
      return 'NOT_ENOUGH_DATA';
    case 'closed':
      return 'FAILED';
  }
}

/** When a wrong guess locks the identity: its verification is out of tries, or the identity is over its budget. */
export function lockAfterWrongGuess(
  attemptsUsed: number,
  identityLockedUntil: number,
  policy: TokenPolicy,
  now: number,
): number | undefined {
  if (identityLockedUntil > now) return identityLockedUntil;
  if (attemptsUsed >= policy.maxAttempts) return now + policy.lockoutSeconds * 1000;
  return undefined;
}

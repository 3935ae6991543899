// Decisions of the Okta Verify push method, as pure functions over values and the current time: which
// factor to push to, what a transaction result means for the verification, how long a push lives.
import { isIP } from 'node:net';
import type { StatusView } from './verification.js';

/** A push nobody answers is given up after this long when Okta does not say (its own default, 300 s). */
export const DEFAULT_PUSH_TTL_MS = 300_000;
/** Okta accepts tokenLifetimeSeconds up to a day; an expiresAt beyond that is not believed. */
const MAX_PUSH_TTL_MS = 86_400_000;

export const ERROR_OKTA_NO_PUSH_FACTOR = 'The user has no active Okta Verify push factor enrolled.';
export const ERROR_OKTA_NO_USER = 'No Okta user has this login.';
export const ERROR_OKTA_REJECTED = 'The user rejected the Okta Verify push.';
export const ERROR_OKTA_TIMEOUT = 'The Okta Verify push was not answered in time.';
export const ERROR_OKTA_TRANSACTION_GONE = 'Okta no longer knows this push transaction.';
export const ERROR_OKTA_RATE_LIMITED = 'Okta is rate limiting requests; poll again shortly.';
export const ERROR_OKTA_MISSING_FORWARDING = "The 'slpt-forwarding' header is required and must hold the caller's IP address.";

export interface FactorLike {
  readonly id: string;
  readonly factorType: string;
  readonly provider: string;
  readonly status: string;
}

/** The Okta Verify push enrolment to challenge: factorType push, provider OKTA, status ACTIVE. */
export function pickPushFactor<F extends FactorLike>(factors: readonly F[]): F | undefined {
  return factors.find((f) => f.factorType === 'push' && f.provider === 'OKTA' && f.status === 'ACTIVE');
}

/** The IP address in SailPoint's slpt-forwarding header, or undefined when it holds none. */
export function forwardedAddress(header: string | string[] | undefined): string | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  return value && isIP(value) !== 0 ? value : undefined;
}

/** What a factorResult means for the verification; `final` results are recorded and never asked again. */
export function resultStatus(factorResult: string): StatusView & { readonly final: boolean } {
  switch (factorResult) {
    case 'WAITING':
      return { status: 'PENDING', error: null, final: false };
    case 'SUCCESS':
      return { status: 'SUCCESS', error: null, final: true };
    case 'REJECTED':
      return { status: 'FAILED', error: ERROR_OKTA_REJECTED, final: true };
    case 'TIMEOUT':
      return { status: 'FAILED', error: ERROR_OKTA_TIMEOUT, final: true };
    default:
      // PASSCODE_REPLAYED, CANCELLED, ERROR, FAILED, TIME_WINDOW_EXCEEDED, CHALLENGE, or anything new.
      return { status: 'FAILED', error: `Okta Verify push ended with ${factorResult}.`, final: true };
  }
}

/** When the local verification expires: Okta's expiresAt when it is believable, else the default lifetime. */
export function pushExpiresAt(expiresAt: string | undefined, now: number): number {
  const parsed = expiresAt === undefined ? Number.NaN : Date.parse(expiresAt);
  if (Number.isNaN(parsed) || parsed <= now || parsed > now + MAX_PUSH_TTL_MS) return now + DEFAULT_PUSH_TTL_MS;
  return parsed;
}

/** What is kept to ask Okta about a push later: identifiers only, no secret. */
export interface OktaPushState {
  readonly oktaUserId: string;
  readonly factorId: string;
  readonly transactionId: string;
}

export function encodePushState(state: OktaPushState): string {
  return JSON.stringify(state);
}

export function decodePushState(text: string | undefined): OktaPushState | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<OktaPushState>;
    if (typeof value.oktaUserId === 'string' && typeof value.factorId === 'string' && typeof value.transactionId === 'string') {
      return { oktaUserId: value.oktaUserId, factorId: value.factorId, transactionId: value.transactionId };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/**
 * The push-bombing counter's key for the string a caller sent: Okta logins compare without case. Checked
 * before Okta is asked anything, so a capped login costs Okta no lookups.
 */
export const pushCounterKey = (login: string): string => `okta-push:${login.trim().toLowerCase()}`;

/**
 * The push-bombing counter's key for the person Okta resolved: a login, its short name and the user id
 * all reach the same phone, so the cap that matters counts per Okta user id.
 */
export const pushedUserCounterKey = (oktaUserId: string): string => `okta-push-user:${oktaUserId}`;

/** Whole seconds to wait, at least one, as Retry-After wants. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

// The self-service portal's sessions as pure decisions (docs/portal.md): when a session is still alive,
// what a form must carry to be accepted (a token bound to the session, sent from our own origin), and
// whether the session may change a factor now. Time and randomness come in as values.
import { decideFactorChange } from './factor-change.js';
import { constantTimeEqual, keyedHash, type RandomBytes } from './secrets.js';

export interface SessionTimeouts {
  /** A session unused this long has ended. */
  readonly idleSeconds: number;
  /** A session this old has ended, however recently it was used. */
  readonly maxSeconds: number;
}

export interface SessionTimes {
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

/** The instants a live session must be after: last used after `lastSeenAfter`, started after `createdAfter`. */
export interface LiveCutoffs {
  readonly lastSeenAfter: number;
  readonly createdAfter: number;
}

export function liveCutoffs(now: number, timeouts: SessionTimeouts): LiveCutoffs {
  return { lastSeenAfter: now - timeouts.idleSeconds * 1000, createdAfter: now - timeouts.maxSeconds * 1000 };
}

/** Alive when used within the idle timeout and started within the absolute one. */
export function isSessionLive(session: SessionTimes, now: number, timeouts: SessionTimeouts): boolean {
  const cutoffs = liveCutoffs(now, timeouts);
  return session.lastSeenAt > cutoffs.lastSeenAfter && session.createdAt > cutoffs.createdAfter;
}

/**
 * The factor-change rule for a portal session: changing a factor the identity already has needs a
 * verification made in this session (an email code, later a passkey) within the window. Signing in by
 * invitation is no such verification: the link is also handed to whoever sent it (docs/portal.md).
 * Lockouts are left to the services, which check them for every caller.
 */
export function sessionMayChangeFactor(verifiedAt: number, hasFactor: boolean, now: number, windowMs: number): boolean {
  return decideFactorChange({ hasFactor, lockedUntil: 0, lastSuccessAt: verifiedAt, now, windowMs }).kind === 'allowed';
}

/** A session's secret, as the cookie carries it: 256 random bits. */
export function newSessionSecret(randomBytes: RandomBytes): string {
  return randomBytes(32).toString('base64url');
}

/** The shape newSessionSecret gives; anything else in a cookie is not looked up. */
export function isSessionSecretShape(text: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(text);
}

/** What the store keeps of a session secret: its keyed hash, so a copy of the database signs nobody in. */
export function sessionIdHash(key: Buffer, sessionSecret: string): string {
  return keyedHash(key, 'portal-session', sessionSecret);
}

/**
 * Forms carry a token derived from the cookie's secret (a signed-in session's, or the anonymous
 * pre-session cookie's before sign-in), which another site can neither read nor compute.
 */
export type CsrfScope = 'session' | 'pre-session';

export function csrfTokenFor(key: Buffer, scope: CsrfScope, cookieSecret: string): string {
  return keyedHash(key, `portal-csrf:${scope}`, cookieSecret);
}

export function csrfTokenMatches(key: Buffer, scope: CsrfScope, cookieSecret: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  return constantTimeEqual(given, csrfTokenFor(key, scope, cookieSecret));
}

/**
 * A form is accepted only from a page of the service: its Origin header must be one of `allowed` (the
 * public URL's origin, and the origin the request was addressed to). A missing Origin, and `null`
 * (sandboxed frames, file pages), are refused.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined || origin === 'null') return false;
  return allowed.includes(origin.toLowerCase());
}

/** Where the portal may send a person back to after a step: one of its own pages, never another site. */
export function portalReturnPath(next: unknown): string {
  return typeof next === 'string' && /^\/portal(\/[a-z0-9-]+)*$/.test(next) ? next : '/portal';
}

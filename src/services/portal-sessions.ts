// Sessions of the self-service portal (docs/portal.md): a random secret in an HttpOnly cookie, stored
// only as its keyed hash; ended by idle and absolute timeouts, by signing out, and with its identity.
import type { Identity } from '../core/model.js';
import {
  csrfTokenFor,
  csrfTokenMatches,
  isSessionSecretShape,
  liveCutoffs,
  newSessionSecret,
  sessionIdHash,
  type CsrfScope,
  type SessionTimeouts,
} from '../core/portal-session.js';
import type { PortalStore } from '../core/portal-store.js';
import type { Clock, Store } from '../core/ports.js';
import type { RandomBytes } from '../core/secrets.js';

export interface PortalSessionsDeps {
  readonly portalStore: PortalStore;
  readonly store: Pick<Store, 'findIdentityById'>;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  /** Keys derived from the master secret: one for the stored session hashes, one for the form tokens. */
  readonly sessionKey: Buffer;
  readonly csrfKey: Buffer;
  readonly timeouts: SessionTimeouts;
}

/** A signed-in session, as a request sees it. */
export interface ActiveSession {
  readonly idHash: string;
  /** The identity, read at this request: active, with its current alias and attributes. */
  readonly identity: Identity;
  readonly createdAt: number;
  /** When a factor was last proved in this session; 0 when never (signed in by invitation). */
  readonly verifiedAt: number;
  /** The token every form of this session carries. */
  readonly csrfToken: string;
}

/** Ended sessions and expired invitations removed with each new session, so the tables do not grow. */
const PRUNE_PER_SIGN_IN = 100;

export class PortalSessions {
  constructor(private readonly deps: PortalSessionsDeps) {}

  /**
   * A new session for the identity: always a new secret, whatever cookie the browser sent (a session
   * id planted before sign-in is never adopted). The secret goes into the cookie and nowhere else.
   */
  async start(identityId: string, verified: boolean): Promise<string> {
    const { portalStore, clock, randomBytes, sessionKey, timeouts } = this.deps;
    const now = clock.now();
    const secret = newSessionSecret(randomBytes);
    await portalStore.addSession({ idHash: sessionIdHash(sessionKey, secret), identityId, createdAt: now, lastSeenAt: now, verifiedAt: verified ? now : 0 });
    await portalStore.pruneExpired(now, liveCutoffs(now, timeouts), PRUNE_PER_SIGN_IN);
    return secret;
  }

  /** The live session the cookie names, marked used now; undefined when there is none (ended, unknown, identity gone or disabled). */
  async resolve(secret: string | undefined): Promise<ActiveSession | undefined> {
    if (secret === undefined || !isSessionSecretShape(secret)) return undefined;
    const { portalStore, store, clock, sessionKey, timeouts } = this.deps;
    const now = clock.now();
    const idHash = sessionIdHash(sessionKey, secret);
    const record = await portalStore.touchSession(idHash, now, liveCutoffs(now, timeouts));
    if (!record) {
      // Ended for good: a clock set back, or a process whose clock lags, must not find it alive again.
      await portalStore.deleteSession(idHash);
      return undefined;
    }
    const identity = await store.findIdentityById(record.identityId);
    if (!identity || identity.status !== 'active') {
      await portalStore.deleteSession(idHash);
      return undefined;
    }
    return { idHash, identity, createdAt: record.createdAt, verifiedAt: record.verifiedAt, csrfToken: this.csrfToken('session', secret) };
  }

  /** Records that the person proved a factor in this session just now (the factor-change rule reads it). */
  async markVerified(session: ActiveSession): Promise<void> {
    await this.deps.portalStore.markSessionVerified(session.idHash, this.deps.clock.now());
  }

  async end(session: ActiveSession): Promise<void> {
    await this.deps.portalStore.deleteSession(session.idHash);
  }

  /** Ends the session a cookie names, if any, without looking at it (a new sign-in replaces it). */
  async forget(secret: string): Promise<void> {
    if (isSessionSecretShape(secret)) await this.deps.portalStore.deleteSession(sessionIdHash(this.deps.sessionKey, secret));
  }

  csrfToken(scope: CsrfScope, cookieSecret: string): string {
    return csrfTokenFor(this.deps.csrfKey, scope, cookieSecret);
  }

  csrfMatches(scope: CsrfScope, cookieSecret: string, given: unknown): boolean {
    return csrfTokenMatches(this.deps.csrfKey, scope, cookieSecret, given);
  }
}

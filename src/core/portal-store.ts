// The storage the self-service portal needs, and nothing else: invitations and sessions, both kept only
// as keyed hashes of their secrets. Every decision that must hold across requests and processes (single
// use, a session's end) is one conditional statement in the implementation.
import type { LiveCutoffs } from './portal-session.js';

export interface InvitationRecord {
  readonly tokenHash: string;
  readonly identityId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface SessionRecord {
  readonly idHash: string;
  readonly identityId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  /** When the person last proved a factor in this session (email code); 0 when never (an invitation). */
  readonly verifiedAt: number;
}

export interface PortalStore {
  /** Stores the invitation and withdraws the identity's earlier ones, in one transaction: only the newest link works. */
  addInvitation(invitation: InvitationRecord): Promise<void>;
  /** Uses up the invitation if it exists and has not expired: its identity id for exactly one caller, else undefined. */
  redeemInvitation(tokenHash: string, now: number): Promise<string | undefined>;

  addSession(session: SessionRecord): Promise<void>;
  /**
   * Marks the session used at `now` if it is still alive by `cutoffs`, in one statement; the session as
   * it is then, or undefined when it has ended or never was.
   */
  touchSession(idHash: string, now: number, cutoffs: LiveCutoffs): Promise<SessionRecord | undefined>;
  /** Records a verification made in the session; false when the session is gone. */
  markSessionVerified(idHash: string, at: number): Promise<boolean>;
  deleteSession(idHash: string): Promise<void>;

  /** Deletes up to `limit` ended sessions and expired invitations; how many. */
  pruneExpired(now: number, cutoffs: LiveCutoffs, limit: number): Promise<number>;
}

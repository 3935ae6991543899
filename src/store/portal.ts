// The portal's storage (src/core/portal-store.ts) on either database, through the same driver as the
// main store. Single use and a session's end are each decided by one conditional statement.
import type { LiveCutoffs } from '../core/portal-session.js';
import type { InvitationRecord, PortalStore, SessionRecord } from '../core/portal-store.js';
import type { SqlDriver } from './driver.js';

interface SessionRow {
  id_hash: string;
  identity_id: string;
  created_at: number;
  last_seen_at: number;
  verified_at: number;
}

const toSession = (r: SessionRow): SessionRecord => ({
  idHash: r.id_hash,
  identityId: r.identity_id,
  createdAt: Number(r.created_at),
  lastSeenAt: Number(r.last_seen_at),
  verifiedAt: Number(r.verified_at),
});

const SESSION_COLUMNS = 'id_hash, identity_id, created_at, last_seen_at, verified_at';

export class SqlPortalStore implements PortalStore {
  constructor(private readonly db: SqlDriver) {}

  async addInvitation(invitation: InvitationRecord): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM portal_invitations WHERE identity_id = ?', [invitation.identityId]);
      await tx.run('INSERT INTO portal_invitations (token_hash, identity_id, created_at, expires_at) VALUES (?, ?, ?, ?)', [
        invitation.tokenHash,
        invitation.identityId,
        invitation.createdAt,
        invitation.expiresAt,
      ]);
    });
  }

  async redeemInvitation(tokenHash: string, now: number): Promise<string | undefined> {
    // Deleted as it is used: of concurrent redemptions only one statement finds the row.
    const row = await this.db.get<{ identity_id: string }>('DELETE FROM portal_invitations WHERE token_hash = ? AND expires_at > ? RETURNING identity_id', [tokenHash, now]);
    return row?.identity_id;
  }

  async addSession(session: SessionRecord): Promise<void> {
    await this.db.run(`INSERT INTO portal_sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?)`, [
      session.idHash,
      session.identityId,
      session.createdAt,
      session.lastSeenAt,
      session.verifiedAt,
    ]);
  }

  async touchSession(idHash: string, now: number, cutoffs: LiveCutoffs): Promise<SessionRecord | undefined> {
    // A clock behind the last use (another process's) never moves last_seen_at back.
    const row = await this.db.get<SessionRow>(
      `UPDATE portal_sessions SET last_seen_at = CASE WHEN last_seen_at > ? THEN last_seen_at ELSE ? END
       WHERE id_hash = ? AND last_seen_at > ? AND created_at > ? RETURNING ${SESSION_COLUMNS}`,
      [now, now, idHash, cutoffs.lastSeenAfter, cutoffs.createdAfter],
    );
    return row && toSession(row);
  }

  async markSessionVerified(idHash: string, at: number): Promise<boolean> {
    const changed = await this.db.run('UPDATE portal_sessions SET verified_at = CASE WHEN verified_at > ? THEN verified_at ELSE ? END WHERE id_hash = ?', [at, at, idHash]);
    return changed > 0;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.run('DELETE FROM portal_sessions WHERE id_hash = ?', [idHash]);
  }

  async pruneExpired(now: number, cutoffs: LiveCutoffs, limit: number): Promise<number> {
    const sessions = await this.db.run(
      'DELETE FROM portal_sessions WHERE id_hash IN (SELECT id_hash FROM portal_sessions WHERE last_seen_at <= ? OR created_at <= ? LIMIT ?)',
      [cutoffs.lastSeenAfter, cutoffs.createdAfter, limit],
    );
    const invitations = await this.db.run('DELETE FROM portal_invitations WHERE token_hash IN (SELECT token_hash FROM portal_invitations WHERE expires_at <= ? LIMIT ?)', [now, limit]);
    return sessions + invitations;
  }
}

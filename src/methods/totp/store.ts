// Where authenticator registrations live: one row per identity in totp_registrations (migration 6), holding
// the active registration and at most one pending one, each secret sealed. Every change is one conditional
// statement, so the rules hold across requests and processes: a step is accepted once, a pending
// registration is activated once, and only over the registration its enrolment was checked against.
import type { SqlExecutor } from '../../store/driver.js';
import { ReadBatch } from '../../store/read-batch.js';
import { keysAsRows, textPerCount } from '../../store/statement-text.js';

export interface ActiveRegistration {
  /** The request id of the enrolment that made it. */
  readonly id: string;
  readonly sealedSecret: string;
  readonly confirmedAt: number;
  /** The last time step a code was accepted at (the confirming code's, at first). */
  readonly lastStep: number;
}

export interface PendingRegistration {
  readonly id: string;
  readonly sealedSecret: string;
  /** The id of the active registration the enrolment was checked against (factor-change rule); null for a first one. */
  readonly replaces: string | null;
  readonly expiresAt: number;
}

export interface IdentityRegistration {
  readonly identityId: string;
  readonly active: ActiveRegistration | null;
  readonly pending: PendingRegistration | null;
}

export interface TotpStore {
  /** The active identity with this alias and its registrations; undefined for an unknown or disabled alias. */
  find(alias: string): Promise<IdentityRegistration | undefined>;
  /**
   * What a check needs, in one statement: the registration as `find` reads it, and when the alias's TOTP
   * lockout ends (0 when none), read for any alias, known or not, as the lockout store keeps it.
   */
  findForCheck(alias: string): Promise<CheckRead>;
  /** Writes the identity's pending registration, replacing an earlier pending one; the active one stays. */
  putPending(identityId: string, pending: PendingRegistration, now: number): Promise<void>;
  /**
   * Makes the pending registration `pendingId` the active one, with `step` as its last accepted step, if it
   * is still pending and unexpired and the active registration is still the one it `replaces`. True for
   * exactly one caller.
   */
  activate(identityId: string, pendingId: string, step: number, now: number): Promise<boolean>;
  /** Records `step` as the active registration's last accepted step if it is later than the one recorded; true for exactly one caller per step. */
  acceptStep(identityId: string, activeId: string, step: number, now: number): Promise<boolean>;
  /** Deletes the registrations (active and pending) of the identity with this alias, whatever its status; true if there were any. */
  remove(alias: string): Promise<boolean>;
}

interface RegistrationRow {
  identity_id: string | null;
  active_id: string | null;
  sealed_secret: string | null;
  confirmed_at: number | null;
  last_step: number | null;
  pending_id: string | null;
  pending_sealed_secret: string | null;
  pending_replaces: string | null;
  pending_expires_at: number | null;
}

const REGISTRATION_COLUMNS = `i.id AS identity_id, r.active_id, r.sealed_secret, r.confirmed_at, r.last_step,
  r.pending_id, r.pending_sealed_secret, r.pending_replaces, r.pending_expires_at`;

/** What a check reads of one alias. */
export interface CheckRead {
  readonly found: IdentityRegistration | undefined;
  /** When the alias's TOTP lockout ends; 0 when none. */
  readonly lockedUntil: number;
}

export class SqlTotpStore implements TotpStore {
  /** Checks asked for together share one statement, each begun after it was asked (src/store/read-batch.ts). */
  private readonly checkReads = new ReadBatch<CheckRead>((aliases) => this.readForChecks(aliases));

  constructor(private readonly db: SqlExecutor) {}

  async find(alias: string): Promise<IdentityRegistration | undefined> {
    // One statement whether or not the alias exists or has a registration.
    const row = await this.db.get<RegistrationRow>(
      `SELECT ${REGISTRATION_COLUMNS}
       FROM identities i LEFT JOIN totp_registrations r ON r.identity_id = i.id
       WHERE i.alias = ? AND i.status = 'active'`,
      [alias],
    );
    return row ? toRegistration(row) : undefined;
  }

  findForCheck(alias: string): Promise<CheckRead> {
    return this.checkReads.read(alias);
  }

  private async readForChecks(aliases: readonly string[]): Promise<ReadonlyMap<string, CheckRead>> {
    // One row per alias asked: its identity, registration and lockout where they exist. The lockout is
    // the one Store.lockedUntil(alias, 'totp') reads (lockouts are kept by alias, known or not).
    const rows = await this.db.all<RegistrationRow & { q_alias: string; locked_until: number | null }>(checksText(aliases.length), aliases);
    return new Map(rows.map((row) => [row.q_alias, { found: toRegistration(row), lockedUntil: Number(row.locked_until ?? 0) }]));
  }

  async putPending(identityId: string, pending: PendingRegistration, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO totp_registrations (identity_id, pending_id, pending_sealed_secret, pending_replaces, pending_expires_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (identity_id) DO UPDATE SET pending_id = excluded.pending_id, pending_sealed_secret = excluded.pending_sealed_secret,
         pending_replaces = excluded.pending_replaces, pending_expires_at = excluded.pending_expires_at, updated_at = excluded.updated_at`,
      [identityId, pending.id, pending.sealedSecret, pending.replaces, pending.expiresAt, now],
    );
  }

  async activate(identityId: string, pendingId: string, step: number, now: number): Promise<boolean> {
    // Every right-hand side reads the row as it was before this statement (on both databases).
    const changed = await this.db.run(
      `UPDATE totp_registrations SET active_id = pending_id, sealed_secret = pending_sealed_secret, confirmed_at = ?, last_step = ?,
         pending_id = NULL, pending_sealed_secret = NULL, pending_replaces = NULL, pending_expires_at = NULL, updated_at = ?
       WHERE identity_id = ? AND pending_id = ? AND pending_expires_at > ? AND COALESCE(active_id, '') = COALESCE(pending_replaces, '')`,
      [now, step, now, identityId, pendingId, now],
    );
    return changed > 0;
  }

  async acceptStep(identityId: string, activeId: string, step: number, now: number): Promise<boolean> {
    // PostgreSQL re-reads the row after a concurrent update committed, so of two updates to one step only the first matches.
    const changed = await this.db.run(
      'UPDATE totp_registrations SET last_step = ?, updated_at = ? WHERE identity_id = ? AND active_id = ? AND last_step < ?',
      [step, now, identityId, activeId, step],
    );
    return changed > 0;
  }

  async remove(alias: string): Promise<boolean> {
    const removed = await this.db.run('DELETE FROM totp_registrations WHERE identity_id IN (SELECT id FROM identities WHERE alias = ?)', [alias]);
    return removed > 0;
  }
}

/** The check read's text for `n` aliases. */
const checksText = textPerCount(
  (n) => `WITH q (alias) AS (VALUES ${keysAsRows(n)})
    SELECT q.alias AS q_alias, ${REGISTRATION_COLUMNS}, l.locked_until
    FROM q
    LEFT JOIN identities i ON i.alias = q.alias AND i.status = 'active'
    LEFT JOIN totp_registrations r ON r.identity_id = i.id
    LEFT JOIN lockouts l ON l.subject = q.alias AND l.method = 'totp'`,
);

/** A row of the registration columns, or undefined when it has no (active) identity. */
function toRegistration(row: RegistrationRow): IdentityRegistration | undefined {
  if (row.identity_id === null) return undefined;
  return {
    identityId: row.identity_id,
    active:
      row.active_id !== null && row.sealed_secret !== null
        ? { id: row.active_id, sealedSecret: row.sealed_secret, confirmedAt: Number(row.confirmed_at), lastStep: Number(row.last_step) }
        : null,
    pending:
      row.pending_id !== null && row.pending_sealed_secret !== null
        ? { id: row.pending_id, sealedSecret: row.pending_sealed_secret, replaces: row.pending_replaces, expiresAt: Number(row.pending_expires_at) }
        : null,
  };
}

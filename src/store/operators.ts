// The console's operators (src/core/operator-store.ts) on either database, through the main store's driver.
import type { CeremonyKind, OperatorPasskey, OperatorSession, OperatorStore } from '../core/operator-store.js';
import type { Operator, OperatorRole } from '../core/operator.js';
import type { LiveCutoffs } from '../core/portal-session.js';
import type { SqlDriver } from './driver.js';

interface OperatorRow {
  id: string;
  email: string;
  role: string;
  created_at: number;
}

const toOperator = (r: OperatorRow): Operator => ({ id: r.id, email: r.email, role: r.role as OperatorRole, createdAt: Number(r.created_at) });

interface PasskeyRow {
  id: string;
  operator_id: string;
  public_key: string;
  sign_count: number;
  transports: string;
  created_at: number;
}

const toPasskey = (r: PasskeyRow): OperatorPasskey => ({
  id: r.id,
  operatorId: r.operator_id,
  publicKey: r.public_key,
  signCount: Number(r.sign_count),
  transports: JSON.parse(r.transports) as string[],
  createdAt: Number(r.created_at),
});

export class SqlOperatorStore implements OperatorStore {
  constructor(private readonly db: SqlDriver) {}

  async upsertOperator(operator: Operator): Promise<Operator> {
    const row = await this.db.get<OperatorRow>(
      `INSERT INTO operators (id, email, role, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (email) DO UPDATE SET role = excluded.role RETURNING id, email, role, created_at`,
      [operator.id, operator.email, operator.role, operator.createdAt],
    );
    return toOperator(row!);
  }

  async findOperator(id: string): Promise<Operator | undefined> {
    const row = await this.db.get<OperatorRow>('SELECT id, email, role, created_at FROM operators WHERE id = ?', [id]);
    return row && toOperator(row);
  }

  async listOperators(): Promise<Operator[]> {
    return (await this.db.all<OperatorRow>('SELECT id, email, role, created_at FROM operators ORDER BY email')).map(toOperator);
  }

  async addEnrolment(tokenHash: string, operatorId: string, expiresAt: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM operator_enrolments WHERE operator_id = ?', [operatorId]);
      await tx.run('INSERT INTO operator_enrolments (token_hash, operator_id, expires_at) VALUES (?, ?, ?)', [tokenHash, operatorId, expiresAt]);
    });
  }

  async peekEnrolment(tokenHash: string, now: number): Promise<string | undefined> {
    return (await this.db.get<{ operator_id: string }>('SELECT operator_id FROM operator_enrolments WHERE token_hash = ? AND expires_at > ?', [tokenHash, now]))?.operator_id;
  }

  async redeemEnrolment(tokenHash: string, now: number): Promise<string | undefined> {
    const row = await this.db.get<{ operator_id: string }>('DELETE FROM operator_enrolments WHERE token_hash = ? AND expires_at > ? RETURNING operator_id', [tokenHash, now]);
    return row?.operator_id;
  }

  async addCeremony(challenge: string, kind: CeremonyKind, operatorId: string | null, expiresAt: number): Promise<void> {
    await this.db.run('INSERT INTO operator_ceremonies (challenge, kind, operator_id, expires_at) VALUES (?, ?, ?, ?)', [challenge, kind, operatorId, expiresAt]);
  }

  async consumeCeremony(challenge: string, kind: CeremonyKind, now: number): Promise<{ operatorId: string | null } | undefined> {
    const row = await this.db.get<{ operator_id: string | null }>('DELETE FROM operator_ceremonies WHERE challenge = ? AND kind = ? AND expires_at > ? RETURNING operator_id', [challenge, kind, now]);
    return row && { operatorId: row.operator_id };
  }

  async addPasskey(passkey: OperatorPasskey): Promise<boolean> {
    const changed = await this.db.run(
      'INSERT INTO operator_passkeys (id, operator_id, public_key, sign_count, transports, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      [passkey.id, passkey.operatorId, passkey.publicKey, passkey.signCount, JSON.stringify(passkey.transports), passkey.createdAt],
    );
    return changed > 0;
  }

  async findPasskey(id: string): Promise<OperatorPasskey | undefined> {
    const row = await this.db.get<PasskeyRow>('SELECT id, operator_id, public_key, sign_count, transports, created_at FROM operator_passkeys WHERE id = ?', [id]);
    return row && toPasskey(row);
  }

  async listPasskeys(operatorId: string): Promise<OperatorPasskey[]> {
    return (await this.db.all<PasskeyRow>('SELECT id, operator_id, public_key, sign_count, transports, created_at FROM operator_passkeys WHERE operator_id = ? ORDER BY created_at', [operatorId])).map(toPasskey);
  }

  async advanceSignCount(id: string, from: number, to: number): Promise<boolean> {
    // Moves only from the value the caller judged: a concurrent use that moved it first wins.
    return (await this.db.run('UPDATE operator_passkeys SET sign_count = ? WHERE id = ? AND sign_count = ?', [to, id, from])) > 0;
  }

  async addSession(idHash: string, operatorId: string, now: number): Promise<void> {
    await this.db.run('INSERT INTO operator_sessions (id_hash, operator_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)', [idHash, operatorId, now, now]);
  }

  async touchSession(idHash: string, now: number, cutoffs: LiveCutoffs): Promise<OperatorSession | undefined> {
    const touched = await this.db.get<{ operator_id: string; created_at: number }>(
      `UPDATE operator_sessions SET last_seen_at = CASE WHEN last_seen_at > ? THEN last_seen_at ELSE ? END
       WHERE id_hash = ? AND last_seen_at > ? AND created_at > ? RETURNING operator_id, created_at`,
      [now, now, idHash, cutoffs.lastSeenAfter, cutoffs.createdAfter],
    );
    if (!touched) return undefined;
    const operator = await this.findOperator(touched.operator_id);
    return operator && { idHash, operator, createdAt: Number(touched.created_at) };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.run('DELETE FROM operator_sessions WHERE id_hash = ?', [idHash]);
  }

  async pruneExpired(now: number, cutoffs: LiveCutoffs, limit: number): Promise<number> {
    const sessions = await this.db.run(
      'DELETE FROM operator_sessions WHERE id_hash IN (SELECT id_hash FROM operator_sessions WHERE last_seen_at <= ? OR created_at <= ? LIMIT ?)',
      [cutoffs.lastSeenAfter, cutoffs.createdAfter, limit],
    );
    const ceremonies = await this.db.run('DELETE FROM operator_ceremonies WHERE challenge IN (SELECT challenge FROM operator_ceremonies WHERE expires_at <= ? LIMIT ?)', [now, limit]);
    const links = await this.db.run('DELETE FROM operator_enrolments WHERE token_hash IN (SELECT token_hash FROM operator_enrolments WHERE expires_at <= ? LIMIT ?)', [now, limit]);
    return sessions + ceremonies + links;
  }
}

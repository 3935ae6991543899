// The Store on any SqlDriver. Every limit is decided by one conditional statement in the database, so
// it holds across requests and processes: no read-then-write on a counter or a status.
import type { ApiClient, Identity, IdentityStatus, KbaAnswerRecord, KbaQuestion, Method, Verification, VerificationStatus } from '../core/model.js';
import type {
  DecidedRows,
  FailureCount,
  FailurePolicy,
  GuessRecord,
  IdentityInput,
  NewTokenVerification,
  PruneResult,
  RetentionPolicy,
  SigningKeyRecord,
  Store,
  StoredProviderConfig,
  TokenState,
} from '../core/ports.js';
import type { AuditEvent, AuditQuery } from '../core/audit.js';
import { ERROR_SUPERSEDED } from '../core/token-rules.js';
import { AUDIT_COLUMNS, AUDIT_PLACEHOLDERS, auditParams } from './audit-rows.js';
import type { Param, SqlDatabase, SqlDriver, SqlExecutor } from './driver.js';
import { WrongGuessBatch } from './guess-batch.js';
import { ReadBatch } from './read-batch.js';
import { keysAsRows, textPerCount } from './statement-text.js';
import { MIGRATIONS } from './migrations.js';

interface IdentityRow {
  id: string;
  alias: string;
  status: string;
  attributes: string;
  created_at: number;
  updated_at: number;
}

interface ClientRow {
  client_id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  identity_id: string | null;
  /** The identity's alias now, joined in (the stored identity_alias column is only history). */
  current_alias: string | null;
  created_at: number;
  disabled_at: number | null;
}

interface QuestionRow {
  id: string;
  texts: string;
  created_at: number;
}

interface VerificationRow {
  id: string;
  method: string;
  subject: string;
  client_id: string;
  delivery_type: string | null;
  secret_hash: string | null;
  status: string;
  error: string | null;
  attempts: number;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
}

interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: string;
  sealed_private_jwk: string;
  created_at: number;
  retired_at: number | null;
  revoked_at: number | null;
}

const toIdentity = (r: IdentityRow): Identity => ({
  id: r.id,
  alias: r.alias,
  status: r.status as IdentityStatus,
  attributes: JSON.parse(r.attributes) as Record<string, string>,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

const toClient = (r: ClientRow): ApiClient => ({
  clientId: r.client_id,
  name: r.name,
  secretHash: r.secret_hash,
  scopes: r.scopes.split(' ').filter(Boolean),
  identityId: r.identity_id,
  identityAlias: r.current_alias,
  createdAt: Number(r.created_at),
  disabledAt: r.disabled_at === null ? null : Number(r.disabled_at),
});

const toQuestion = (r: QuestionRow): KbaQuestion => ({
  id: r.id,
  texts: JSON.parse(r.texts) as Record<string, string>,
  createdAt: Number(r.created_at),
});

const toVerification = (r: VerificationRow): Verification => ({
  id: r.id,
  method: r.method as Method,
  subject: r.subject,
  clientId: r.client_id,
  deliveryType: r.delivery_type as Verification['deliveryType'],
  secretHash: r.secret_hash,
  status: r.status as VerificationStatus,
  error: r.error,
  attempts: Number(r.attempts),
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  completedAt: r.completed_at === null ? null : Number(r.completed_at),
});

const toKey = (r: KeyRow): SigningKeyRecord => ({
  kid: r.kid,
  alg: r.alg,
  publicJwk: r.public_jwk,
  sealedPrivateJwk: r.sealed_private_jwk,
  createdAt: Number(r.created_at),
  retiredAt: r.retired_at === null ? null : Number(r.retired_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

const CLIENT_SELECT =
  'SELECT c.client_id, c.name, c.secret_hash, c.scopes, c.identity_id, i.alias AS current_alias, c.created_at, c.disabled_at FROM api_clients c LEFT JOIN identities i ON i.id = c.identity_id';

/** Rolls back an enrolment whose question was removed, or whose identity got answers, while it was written. */
class EnrolmentOvertaken extends Error {}

const VERIFICATION_COLUMNS =
  'id, method, subject, client_id, delivery_type, secret_hash, status, error, attempts, created_at, expires_at, completed_at';

type TokenStateRow = VerificationRow & { q_subject: string; locked_until: number | null };

/** A subject's token lock and current verification, one row per subject of `q`, found or not. */
const TOKEN_STATE_SELECT = `SELECT q.subject AS q_subject, l.locked_until, v.id AS id, v.method, v.subject, v.client_id, v.delivery_type,
  v.secret_hash, v.status, v.error, v.attempts, v.created_at, v.expires_at, v.completed_at`;
/** The columns of TOKEN_STATE_SELECT after q_subject, as NULLs: for the rows of another read in the same statement. */
const TOKEN_STATE_NULLS = Array(13).fill('NULL').join(', ');
/**
 * The joins of TOKEN_STATE_SELECT from `q (subject)`. PostgreSQL is also given the subjects as an array, so
 * that it finds their rows by key whatever it knows of the tables: joined to `q` alone, tables not yet
 * analysed (a new deployment) were read whole at every statement.
 */
const tokenStateJoins = (dialect: 'sqlite' | 'postgres'): string => {
  const keyed = (column: string) => (dialect === 'postgres' ? ` AND ${column} = ANY (ARRAY(SELECT subject FROM q))` : '');
  return `LEFT JOIN lockouts l ON l.subject = q.subject AND l.method = 'token'${keyed('l.subject')}
  LEFT JOIN token_subjects s ON s.subject = q.subject${keyed('s.subject')}
  LEFT JOIN verifications v ON v.id = s.request_id`;
};

/** A rate counter's row as read: what a peek answers depends on the window and time it is asked with. */
type CounterRow = { count: number; window_started_at: number };

/**
 * Keys of the hot reads, which share statements: a subject's token state, or a rate counter (a check
 * asks for both at once, and they come back from one statement).
 */
const stateKey = (subject: string): string => `s ${subject}`;
const counterKey = (key: string): string => `c ${key}`;

const toTokenState = (row: TokenStateRow | undefined): TokenState => ({
  lockedUntil: Number(row?.locked_until ?? 0),
  current: row && row.id ? toVerification(row) : undefined,
});

export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';
  /** The same database for a method's own store part (its own tables), so that SqlStore need not grow. */
  readonly sql: SqlDatabase;
  private readonly auditBatch: InsertBatch;
  private readonly decidedVerifications: InsertBatch;
  private readonly failureDecisions: FailureDecisions;
  private readonly counterHits: CounterHits;
  private readonly wrongGuesses: WrongGuessBatch;
  private readonly hotReads: ReadBatch<TokenState | CounterRow | undefined>;
  private readonly verifications: ReadBatch<Verification | undefined>;
  private readonly hotReadTexts = new Map<string, string>();

  /** Read by the methods' own slices of storage (src/store/index.ts driverOf). */
  constructor(readonly db: SqlDriver) {
    this.kind = db.dialect;
    this.sql = db;
    this.wrongGuesses = new WrongGuessBatch(db);
    this.hotReads = new ReadBatch((keys) => this.readHot(keys), { turnBetween: true });
    this.verifications = new ReadBatch((ids) => this.readVerifications(ids));
    // PostgreSQL: a statement goes at once, and what arrives while it is under way goes in the next. SQLite:
    // in a transaction of the driver's group commit, which takes what has arrived by the time it runs.
    const atOnce = (executor: SqlExecutor): Runner => (work) => work(executor);
    const inGroupCommit: Runner = (work) => db.transaction(work);
    // Counter hits on PostgreSQL commit without waiting for the disk: a rate limit, like Redis, which holds its counts in memory.
    this.counterHits = db.dialect === 'postgres' ? new CounterHits(atOnce(db.relaxed), true) : new CounterHits(inGroupCommit, false);
    this.auditBatch = new InsertBatch(db.dialect === 'postgres' ? atOnce(db) : inGroupCommit, `INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES`, `(${AUDIT_PLACEHOLDERS})`);
    this.failureDecisions = new FailureDecisions(inGroupCommit);
    // A verification decided at once (a TOTP or KBA check) is a new row per request, like an audit event.
    this.decidedVerifications = new InsertBatch(
      db.dialect === 'postgres' ? atOnce(db) : inGroupCommit,
      `INSERT INTO verifications (${VERIFICATION_COLUMNS}, provider_state) VALUES`,
      VERIFICATION_PLACEHOLDERS,
    );
  }

  async migrate(): Promise<void> {
    await this.db.withMigrationLock(async () => {
      await this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const applied = new Set((await this.db.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await this.db.transaction(async (tx) => {
          for (const statement of migration.sql.split(';').map((s) => s.trim()).filter(Boolean)) {
            await tx.run(statement);
          }
          await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [migration.version, migration.name, Date.now()]);
        });
      }
    });
  }

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // identities

  async findIdentity(alias: string): Promise<Identity | undefined> {
    const row = await this.db.get<IdentityRow>('SELECT * FROM identities WHERE alias = ?', [alias]);
    return row && toIdentity(row);
  }

  async findIdentityById(id: string): Promise<Identity | undefined> {
    const row = await this.db.get<IdentityRow>('SELECT * FROM identities WHERE id = ?', [id]);
    return row && toIdentity(row);
  }

  async listIdentities(limit: number, afterAlias = ''): Promise<Identity[]> {
    const rows = await this.db.all<IdentityRow>('SELECT * FROM identities WHERE alias > ? ORDER BY alias LIMIT ?', [afterAlias, limit]);
    return rows.map(toIdentity);
  }

  async upsertIdentities(rows: readonly IdentityInput[], newId: () => string, now: number): Promise<{ created: number; updated: number }> {
    return this.db.transaction(async (tx) => {
      let created = 0;
      let updated = 0;
      for (const row of rows) {
        const attributes = JSON.stringify(row.attributes);
        const changed = await tx.run('UPDATE identities SET status = ?, attributes = ?, updated_at = ? WHERE alias = ?', [row.status, attributes, now, row.alias]);
        if (changed > 0) {
          updated++;
        } else {
          await tx.run('INSERT INTO identities (id, alias, status, attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', [newId(), row.alias, row.status, attributes, now, now]);
          created++;
        }
      }
      return { created, updated };
    });
  }

  async deleteIdentity(alias: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM kba_answers WHERE identity_id IN (SELECT id FROM identities WHERE alias = ?)', [alias]);
      await tx.run('DELETE FROM api_clients WHERE identity_id IN (SELECT id FROM identities WHERE alias = ?)', [alias]);
      await tx.run('DELETE FROM totp_registrations WHERE identity_id IN (SELECT id FROM identities WHERE alias = ?)', [alias]);
      return (await tx.run('DELETE FROM identities WHERE alias = ?', [alias])) > 0;
    });
  }

  // API clients

  async createClient(client: ApiClient): Promise<void> {
    // identity_alias keeps the alias at creation, for the record; the binding is identity_id.
    await this.db.run(
      'INSERT INTO api_clients (client_id, name, secret_hash, scopes, identity_id, identity_alias, created_at) VALUES (?, ?, ?, ?, ?, (SELECT alias FROM identities WHERE id = ?), ?)',
      [client.clientId, client.name, client.secretHash, client.scopes.join(' '), client.identityId, client.identityId, client.createdAt],
    );
  }

  async findClient(clientId: string): Promise<ApiClient | undefined> {
    const row = await this.db.get<ClientRow>(`${CLIENT_SELECT} WHERE c.client_id = ?`, [clientId]);
    return row && toClient(row);
  }

  async listClients(): Promise<ApiClient[]> {
    return (await this.db.all<ClientRow>(`${CLIENT_SELECT} ORDER BY c.created_at, c.client_id`)).map(toClient);
  }

  async deleteClient(clientId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM api_clients WHERE client_id = ?', [clientId])) > 0;
  }

  async disableClient(clientId: string, at: number): Promise<boolean> {
    return (await this.db.run('UPDATE api_clients SET disabled_at = ? WHERE client_id = ? AND disabled_at IS NULL', [at, clientId])) > 0;
  }

  // signing keys

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (await this.db.all<KeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid')).map(toKey);
  }

  async addSigningKey(key: SigningKeyRecord): Promise<void> {
    await this.db.run('INSERT INTO signing_keys (kid, alg, public_jwk, sealed_private_jwk, created_at, retired_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      key.kid,
      key.alg,
      key.publicJwk,
      key.sealedPrivateJwk,
      key.createdAt,
      key.retiredAt,
      key.revokedAt,
    ]);
  }

  async retireSigningKeys(exceptKid: string, at: number): Promise<void> {
    await this.db.run('UPDATE signing_keys SET retired_at = ? WHERE kid <> ? AND retired_at IS NULL', [at, exceptKid]);
  }

  async revokeSigningKeys(exceptKid: string, at: number): Promise<void> {
    await this.db.run('UPDATE signing_keys SET revoked_at = ?, retired_at = COALESCE(retired_at, ?) WHERE kid <> ? AND revoked_at IS NULL', [at, at, exceptKid]);
  }

  // verifications

  findVerification(id: string): Promise<Verification | undefined> {
    // Reads of verifications that arrive together (polls) go in one statement.
    return this.verifications.read(id);
  }

  private async readVerifications(ids: readonly string[]): Promise<ReadonlyMap<string, Verification | undefined>> {
    const rows = await this.db.all<VerificationRow>(VERIFICATIONS_BY_ID(ids.length), ids);
    const found = new Map<string, Verification | undefined>(ids.map((id) => [id, undefined]));
    for (const row of rows) found.set(row.id, toVerification(row));
    return found;
  }

  async startTokenVerification(v: NewTokenVerification, resendCutoff: number): Promise<{ requestId: string; created: boolean }> {
    return this.db.transaction(async (tx) => {
      // Lock the subject row first (creating it if need be), so that the claim below reads a snapshot
      // taken after any concurrent send for the same subject has committed.
      await tx.run(
        `INSERT INTO token_subjects (subject, request_id, client_id, delivery_type, sent_at) VALUES (?, '', '', '', 0)
         ON CONFLICT (subject) DO UPDATE SET sent_at = token_subjects.sent_at`,
        [v.subject],
      );
      // Of concurrent sends only one passes this conditional update while its token is pending and recent.
      const claimed = await tx.get<{ request_id: string }>(
        `INSERT INTO token_subjects (subject, request_id, client_id, delivery_type, sent_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (subject) DO UPDATE SET request_id = excluded.request_id, client_id = excluded.client_id,
           delivery_type = excluded.delivery_type, sent_at = excluded.sent_at
         WHERE token_subjects.sent_at <= ? OR token_subjects.client_id <> excluded.client_id
           OR token_subjects.delivery_type <> excluded.delivery_type
           OR NOT EXISTS (SELECT 1 FROM verifications p WHERE p.id = token_subjects.request_id AND p.status = 'PENDING' AND p.expires_at > ?)
         RETURNING request_id`,
        [v.subject, v.id, v.clientId, v.deliveryType, v.createdAt, resendCutoff, v.createdAt],
      );
      if (!claimed) {
        const existing = await tx.get<{ request_id: string }>('SELECT request_id FROM token_subjects WHERE subject = ?', [v.subject]);
        return { requestId: existing?.request_id ?? v.id, created: false };
      }
      await tx.run(
        "UPDATE verifications SET status = 'FAILED', error = ?, completed_at = ? WHERE subject = ? AND method = 'token' AND status = 'PENDING'",
        [ERROR_SUPERSEDED, v.createdAt, v.subject],
      );
      await tx.run(
        `INSERT INTO verifications (${VERIFICATION_COLUMNS}) VALUES (?, 'token', ?, ?, ?, ?, 'PENDING', NULL, 0, ?, ?, NULL)`,
        [v.id, v.subject, v.clientId, v.deliveryType, v.secretHash, v.createdAt, v.expiresAt],
      );
      return { requestId: v.id, created: true };
    });
  }

  tokenState(subject: string): Promise<TokenState> {
    // Reads of subjects (and rate counters) that arrive together go in one statement (one round trip on PostgreSQL).
    return this.hotReads.read(stateKey(subject)) as Promise<TokenState>;
  }

  /** Token states and rate counters by their keys (stateKey, counterKey), in one statement. */
  private async readHot(keys: readonly string[]): Promise<ReadonlyMap<string, TokenState | CounterRow | undefined>> {
    const subjects = keys.filter((k) => k.startsWith('s ')).map((k) => k.slice(2));
    const counters = keys.filter((k) => k.startsWith('c ')).map((k) => k.slice(2));
    const rows = await this.db.all<TokenStateRow & { count: number | null; window_started_at: number | null }>(this.hotReadText(subjects.length, counters.length), [
      ...subjects,
      ...counters,
    ]);
    // Every subject has its row; a counter only once it has been hit.
    const found = new Map<string, TokenState | CounterRow | undefined>(counters.map((key) => [counterKey(key), undefined]));
    for (const row of rows) {
      if (row.count === null) found.set(stateKey(row.q_subject), toTokenState(row));
      else found.set(counterKey(row.q_subject), { count: Number(row.count), window_started_at: Number(row.window_started_at) });
    }
    return found;
  }

  /** The statement of readHot for so many subjects and counters, built once for each pair of numbers. */
  private hotReadText(subjects: number, counters: number): string {
    const key = `${subjects} ${counters}`;
    let text = this.hotReadTexts.get(key);
    if (text === undefined) {
      const ctes: string[] = [];
      const selects: string[] = [];
      if (subjects > 0) {
        ctes.push(`q (subject) AS (VALUES ${keysAsRows(subjects)})`);
        selects.push(`${TOKEN_STATE_SELECT}, CAST(NULL AS BIGINT) AS count, CAST(NULL AS BIGINT) AS window_started_at FROM q ${tokenStateJoins(this.db.dialect)}`);
      }
      if (counters > 0) {
        ctes.push(`k (key) AS (VALUES ${keysAsRows(counters)})`);
        selects.push(`SELECT c.key AS q_subject, ${TOKEN_STATE_NULLS}, c.count, c.window_started_at FROM rate_counters c WHERE c.key IN (SELECT key FROM k)`);
      }
      text = `WITH ${ctes.join(', ')} ${selects.join(' UNION ALL ')}`;
      this.hotReadTexts.set(key, text);
    }
    return text;
  }

  async recordWrongGuess(
    guess: GuessRecord,
    failurePolicy: FailurePolicy,
    audit?: AuditEvent,
  ): Promise<{ attemptsUsed: number; failures: FailureCount; audited: boolean } | undefined> {
    const takeTry = `UPDATE verifications SET attempts = attempts + 1, last_guess_hash = ?
         WHERE id = ? AND status = 'PENDING' AND attempts < ? AND expires_at > ?
           AND (last_guess_hash IS NULL OR last_guess_hash <> ?)
         RETURNING attempts`;
    const takeTryParams = [guess.guessHash, guess.verificationId, guess.maxAttempts, guess.now, guess.guessHash];
    // PostgreSQL: concurrent wrong guesses are counted together, in one statement (src/store/guess-batch.ts).
    if (this.db.dialect === 'postgres') return this.wrongGuesses.add(guess, failurePolicy, audit);
    // One transaction, so the try, the identity's failure and the answer's row are committed together (on
    // SQLite, in the driver's group commit).
    return this.db.transaction(async (tx) => {
      const taken = await tx.get<{ attempts: number }>(takeTry, takeTryParams);
      if (!taken) return undefined;
      const attemptsUsed = Number(taken.attempts);
      const failures = await countFailure(tx, guess.subject, guess.method, failurePolicy, guess.now);
      // The plain answer only: tries left and the subject not locked (guess-batch.ts has the same test).
      const audited = audit !== undefined && attemptsUsed < guess.maxAttempts && failures.lockedUntil <= guess.now;
      if (audited) await tx.run(`INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES (${AUDIT_PLACEHOLDERS})`, auditParams(audit));
      return { attemptsUsed, failures, audited };
    });
  }

  async acceptCorrectGuess(guess: GuessRecord): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE verifications SET attempts = attempts + 1, last_guess_hash = ?, status = 'SUCCESS', completed_at = ?
       WHERE id = ? AND status = 'PENDING' AND attempts < ? AND expires_at > ?`,
      [guess.guessHash, guess.now, guess.verificationId, guess.maxAttempts, guess.now],
    );
    return changed > 0;
  }

  async completeVerification(verificationId: string, status: VerificationStatus, error: string | null, now: number): Promise<boolean> {
    const changed = await this.db.run("UPDATE verifications SET status = ?, error = ?, completed_at = ? WHERE id = ? AND status = 'PENDING'", [
      status,
      error,
      now,
      verificationId,
    ]);
    return changed > 0;
  }

  recordFailure(subject: string, method: Method, policy: FailurePolicy, now: number): Promise<FailureCount> {
    // SQLite: in the group commit, so that checks arriving together share one commit instead of one each.
    if (this.db.dialect === 'sqlite') return this.db.transaction((tx) => countFailure(tx, subject, method, policy, now));
    return countFailure(this.db, subject, method, policy, now);
  }

  recordFailureWithDecision(
    subject: string,
    method: Method,
    policy: FailurePolicy,
    now: number,
    decide: (count: FailureCount) => DecidedRows | undefined,
  ): Promise<FailureCount> {
    // SQLite: checks of one turn share one transaction of the group commit, their rows one insert per table.
    if (this.db.dialect === 'sqlite') return this.failureDecisions.add({ subject, method, policy, now, decide });
    return this.countThenWrite(subject, method, policy, now, decide);
  }

  /** PostgreSQL: the count commits on its own, as recordFailure's does; the rows follow in the batches that carry other requests' rows. */
  private async countThenWrite(subject: string, method: Method, policy: FailurePolicy, now: number, decide: (count: FailureCount) => DecidedRows | undefined): Promise<FailureCount> {
    const count = await countFailure(this.db, subject, method, policy, now);
    const rows = decide(count);
    if (rows) await Promise.all([this.recordVerification(rows.verification), rows.audit && this.appendAudit(rows.audit)]);
    return count;
  }

  async lock(subject: string, method: Method, until: number): Promise<void> {
    await this.db.run(
      `INSERT INTO lockouts (subject, method, failures, window_started_at, locked_until) VALUES (?, ?, 0, 0, ?)
       ON CONFLICT (subject, method) DO UPDATE SET locked_until = CASE WHEN lockouts.locked_until > excluded.locked_until
         THEN lockouts.locked_until ELSE excluded.locked_until END`,
      [subject, method, until],
    );
  }

  async clearFailures(subject: string, method: Method): Promise<void> {
    await this.db.run('UPDATE lockouts SET failures = 0, locked_until = 0 WHERE subject = ? AND method = ? AND (failures > 0 OR locked_until > 0)', [
      subject,
      method,
    ]);
  }

  recordVerification(v: Verification): Promise<void> {
    return this.decidedVerifications.add(verificationParams(v, null));
  }

  private async insertVerification(v: Verification, providerState: string | null): Promise<void> {
    await this.db.run(`INSERT INTO verifications (${VERIFICATION_COLUMNS}, provider_state) VALUES ${VERIFICATION_PLACEHOLDERS}`, verificationParams(v, providerState));
  }

  async lockedUntil(subject: string, method: Method): Promise<number> {
    const row = await this.db.get<{ locked_until: number }>('SELECT locked_until FROM lockouts WHERE subject = ? AND method = ?', [subject, method]);
    return Number(row?.locked_until ?? 0);
  }

  async lockoutsInForce(now: number): Promise<ReadonlyArray<{ readonly method: Method; readonly count: number }>> {
    const rows = await this.db.all<{ method: Method; n: number | string }>('SELECT method, COUNT(*) AS n FROM lockouts WHERE locked_until > ? GROUP BY method ORDER BY method', [now]);
    return rows.map((row) => ({ method: row.method, count: Number(row.n) }));
  }

  async lastSuccessAt(subjects: readonly string[]): Promise<number> {
    if (subjects.length === 0) return 0;
    const row = await this.db.get<{ at: number | null }>(
      `SELECT MAX(completed_at) AS at FROM verifications WHERE subject IN (${subjects.map(() => '?').join(', ')}) AND status = 'SUCCESS'`,
      [...subjects],
    );
    return Number(row?.at ?? 0);
  }

  // security questions

  async putQuestion(question: KbaQuestion): Promise<void> {
    await this.db.run(
      'INSERT INTO kba_questions (id, texts, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET texts = excluded.texts',
      [question.id, JSON.stringify(question.texts), question.createdAt],
    );
  }

  async listQuestions(): Promise<KbaQuestion[]> {
    return (await this.db.all<QuestionRow>('SELECT * FROM kba_questions ORDER BY created_at, id')).map(toQuestion);
  }

  async removeQuestion(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // Explicit rather than by cascade: SQLite enforces foreign keys only where the connection turned them on.
      await tx.run('DELETE FROM kba_answers WHERE question_id = ?', [id]);
      return (await tx.run('DELETE FROM kba_questions WHERE id = ?', [id])) > 0;
    });
  }

  async answerCounts(): Promise<Map<string, number>> {
    const rows = await this.db.all<{ question_id: string; n: number }>('SELECT question_id, COUNT(*) AS n FROM kba_answers GROUP BY question_id');
    return new Map(rows.map((r) => [r.question_id, Number(r.n)]));
  }

  async listAnswers(identityId: string): Promise<KbaAnswerRecord[]> {
    const rows = await this.db.all<{ question_id: string; answer_hash: string }>(
      'SELECT question_id, answer_hash FROM kba_answers WHERE identity_id = ? ORDER BY question_id',
      [identityId],
    );
    return rows.map((r) => ({ questionId: r.question_id, answerHash: r.answer_hash }));
  }

  async replaceAnswers(identityId: string, answers: readonly KbaAnswerRecord[], now: number, options: { onlyIfNone?: boolean } = {}): Promise<boolean> {
    try {
      await this.db.transaction(async (tx) => {
        // Lock the identity's row first, so concurrent enrolments replace each other whole instead of merging.
        await tx.run('UPDATE identities SET updated_at = updated_at WHERE id = ?', [identityId]);
        if (options.onlyIfNone && (await tx.get('SELECT 1 AS found FROM kba_answers WHERE identity_id = ? LIMIT 1', [identityId]))) {
          throw new EnrolmentOvertaken();
        }
        await tx.run('DELETE FROM kba_answers WHERE identity_id = ?', [identityId]);
        for (const answer of answers) {
          // Written only while the question exists: an operator may remove it meanwhile.
          const written = await tx.run(
            `INSERT INTO kba_answers (identity_id, question_id, answer_hash, created_at)
             SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM kba_questions WHERE id = ?)`,
            [identityId, answer.questionId, answer.answerHash, now, answer.questionId],
          );
          if (written === 0) throw new EnrolmentOvertaken();
        }
      });
      return true;
    } catch (err) {
      if (err instanceof EnrolmentOvertaken) return false;
      throw err;
    }
  }

  // outside providers

  async findProviderConfig(method: string): Promise<StoredProviderConfig | undefined> {
    const row = await this.db.get<{
      method: string;
      enabled: number;
      host: string | null;
      identity_attribute: string | null;
      properties: string;
      sealed_secrets: string;
      updated_at: number;
    }>('SELECT * FROM provider_configs WHERE method = ?', [method]);
    return (
      row && {
        method: row.method,
        enabled: Number(row.enabled) === 1,
        host: row.host,
        identityAttribute: row.identity_attribute,
        properties: JSON.parse(row.properties) as Record<string, unknown>,
        sealedSecrets: row.sealed_secrets,
        updatedAt: Number(row.updated_at),
      }
    );
  }

  async putProviderConfig(config: StoredProviderConfig): Promise<void> {
    await this.db.run(
      `INSERT INTO provider_configs (method, enabled, host, identity_attribute, properties, sealed_secrets, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (method) DO UPDATE SET enabled = excluded.enabled, host = excluded.host, identity_attribute = excluded.identity_attribute,
         properties = excluded.properties, sealed_secrets = excluded.sealed_secrets, updated_at = excluded.updated_at`,
      [config.method, config.enabled ? 1 : 0, config.host, config.identityAttribute, JSON.stringify(config.properties), config.sealedSecrets, config.updatedAt],
    );
  }

  async deleteProviderConfig(method: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM provider_configs WHERE method = ?', [method])) > 0;
  }

  startProviderVerification(v: Verification, providerState: string): Promise<void> {
    return this.insertVerification(v, providerState);
  }

  async providerState(verificationId: string): Promise<string | undefined> {
    const row = await this.db.get<{ provider_state: string | null }>('SELECT provider_state FROM verifications WHERE id = ?', [verificationId]);
    return row?.provider_state ?? undefined;
  }

  async updateProviderState(verificationId: string, providerState: string): Promise<boolean> {
    return (await this.db.run("UPDATE verifications SET provider_state = ? WHERE id = ? AND status = 'PENDING'", [providerState, verificationId])) > 0;
  }

  hitCounter(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    // A busy counter (one client's failed checks) is one row that every request updates: hits that arrive
    // together are added by one upsert (PostgreSQL: while one is under way; SQLite: in one group commit).
    return this.counterHits.hit(key, windowMs, now);
  }

  async peekCounter(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    // With the token states read at the same time (a token check reads its client's failed-check count with them).
    const row = (await this.hotReads.read(counterKey(key))) as CounterRow | undefined;
    // The same expiry rule as hitCounter: a window that started windowMs ago or earlier is over.
    if (!row || Number(row.window_started_at) <= now - windowMs) return { count: 0, resetAt: now + windowMs };
    return { count: Number(row.count), resetAt: Number(row.window_started_at) + windowMs };
  }

  // retention

  async prune(policy: RetentionPolicy): Promise<PruneResult | undefined> {
    // One process of many prunes at a time (PostgreSQL); the deletes are idempotent, so this only saves work.
    return this.db.withTryLock(PRUNE_LOCK_KEY, async () => {
      const { batchSize, now } = policy;
      const expired = policy.verificationsExpiredBefore;
      const verifications = await this.deleteInBatches(
        'DELETE FROM verifications WHERE expires_at < ? AND id IN (SELECT id FROM verifications WHERE expires_at < ? LIMIT ?)',
        [expired, expired],
        batchSize,
      );
      // A subject's row is kept while it points at a verification. The outer sent_at test is repeated so that
      // a send rewriting the row while this runs (PostgreSQL rechecks the outer condition on the new row) keeps it.
      const tokenSubjects = await this.deleteInBatches(
        `DELETE FROM token_subjects WHERE sent_at < ? AND subject IN (
           SELECT s.subject FROM token_subjects s WHERE s.sent_at < ? AND NOT EXISTS (SELECT 1 FROM verifications v WHERE v.id = s.request_id) LIMIT ?)`,
        [expired, expired],
        batchSize,
      );
      // A row whose window began before the cutoff and whose lock has ended counts as no row (countFailure starts afresh).
      const windows = policy.lockoutWindowsStartedBefore;
      const lockouts = await this.deleteInBatches(
        `DELETE FROM lockouts WHERE window_started_at < ? AND locked_until <= ? AND (subject, method) IN (
           SELECT subject, method FROM lockouts WHERE window_started_at < ? AND locked_until <= ? LIMIT ?)`,
        [windows, now, windows, now],
        batchSize,
      );
      const countersBefore = policy.countersStartedBefore;
      const counters = await this.deleteInBatches(
        'DELETE FROM rate_counters WHERE window_started_at < ? AND key IN (SELECT key FROM rate_counters WHERE window_started_at < ? LIMIT ?)',
        [countersBefore, countersBefore],
        batchSize,
      );
      const auditBefore = policy.auditEventsBefore;
      const auditEvents =
        auditBefore === null
          ? 0
          : await this.deleteInBatches(
              'DELETE FROM audit_events WHERE at < ? AND id IN (SELECT id FROM audit_events WHERE at < ? LIMIT ?)',
              [auditBefore, auditBefore],
              batchSize,
            );
      return { verifications, tokenSubjects, lockouts, counters, auditEvents };
    });
  }

  /** Repeats a `... LIMIT ?` delete until a batch comes back short; other statements run between batches. */
  private async deleteInBatches(sql: string, params: readonly Param[], batchSize: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.db.run(sql, [...params, batchSize]);
      total += deleted;
      if (deleted < batchSize) return total;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  // audit trail

  appendAudit(e: AuditEvent): Promise<void> {
    // Events that arrive together are one multi-row insert (PostgreSQL: while one is under way; SQLite: in one group commit).
    return this.auditBatch.add(auditParams(e));
  }

  async queryAudit(q: AuditQuery): Promise<AuditEvent[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    const filter = (clause: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    const oldestFirst = q.order === 'oldest';
    filter('alias = ?', q.alias);
    filter('method = ?', q.method);
    filter('outcome = ?', q.outcome);
    filter('client_id = ?', q.clientId);
    filter('at >= ?', q.since);
    filter('at < ?', q.until);
    filter(oldestFirst ? 'id > ?' : 'id < ?', q.after);
    const rows = await this.db.all<AuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${oldestFirst ? 'ASC' : 'DESC'} LIMIT ?`,
      [...params, q.limit],
    );
    return rows.map(toAuditEvent);
  }
}

/** Advisory lock of the prune job; any constant other than the migration lock's, the same in every process. */
const PRUNE_LOCK_KEY = 7263542;

/** Adds `hits` to a fixed-window counter; the count after them and the window's end. */
async function addToCounter(db: SqlExecutor, key: string, windowMs: number, now: number, hits: number): Promise<{ count: number; resetAt: number }> {
  const cutoff = now - windowMs;
  const row = await db.get<{ count: number; window_started_at: number }>(
    `INSERT INTO rate_counters (key, window_started_at, count) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET
       count = CASE WHEN rate_counters.window_started_at <= ? THEN excluded.count ELSE rate_counters.count + excluded.count END,
       window_started_at = CASE WHEN rate_counters.window_started_at <= ? THEN ? ELSE rate_counters.window_started_at END
     RETURNING count, window_started_at`,
    [key, now, hits, cutoff, cutoff, now],
  );
  return { count: Number(row?.count ?? hits), resetAt: Number(row?.window_started_at ?? now) + windowMs };
}

/** A verification row's values, in the order of VERIFICATION_COLUMNS and provider_state. */
const VERIFICATION_PLACEHOLDERS = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
function verificationParams(v: Verification, providerState: string | null): Param[] {
  return [v.id, v.method, v.subject, v.clientId, v.deliveryType, v.secretHash, v.status, v.error, v.attempts, v.createdAt, v.expiresAt, v.completedAt, providerState];
}

/** Runs a statement's work: at once on PostgreSQL, in a transaction of the group commit on SQLite. */
type Runner = <T>(work: (db: SqlExecutor) => Promise<T>) => Promise<T>;

interface Hit {
  readonly now: number;
  readonly resolve: (r: { count: number; resetAt: number }) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Hits on one counter key, at most one statement under way per key: the first goes at once, and the hits
 * that arrive while it is under way are added by the next in one go, each answered with its own count (as
 * if counted one after the other, at the time of that statement), so every limit reads exactly the
 * counts it would one by one.
 */
class CounterHits {
  /** Per key and window: hits waiting for the next statement, present while one is pending or under way. */
  private readonly keys = new Map<string, Hit[]>();

  /**
   * `gather`: the first statement on an idle key waits for this turn's I/O to be handled and carries the
   * hits of that turn made at the first one's time (requests answered together ask together); else it
   * carries the first hit alone. Either way a window it starts begins at its first hit's time.
   */
  constructor(
    private readonly run: Runner,
    private readonly gather: boolean,
  ) {}

  hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return new Promise((resolve, reject) => {
      const id = `${windowMs}|${key}`;
      const waiting = this.keys.get(id);
      if (waiting) {
        waiting.push({ now, resolve, reject });
        return;
      }
      this.keys.set(id, [{ now, resolve, reject }]);
      if (this.gather) setImmediate(() => void this.flush(id, key, windowMs));
      else void this.flush(id, key, windowMs);
    });
  }

  private async flush(id: string, key: string, windowMs: number): Promise<void> {
    const waiting = this.keys.get(id)!;
    for (let first = true; waiting.length > 0; first = false) {
      const startedAt = waiting[0]!.now;
      const batch = first ? waiting.filter((h) => h.now === startedAt) : waiting.splice(0);
      if (first) waiting.splice(0, waiting.length, ...waiting.filter((h) => h.now !== startedAt));
      try {
        const now = Math.max(...batch.map((h) => h.now));
        const { count, resetAt } = await this.run((db) => addToCounter(db, key, windowMs, now, batch.length));
        batch.forEach((h, i) => h.resolve({ count: count - batch.length + 1 + i, resetAt }));
      } catch (err) {
        for (const h of batch) h.reject(err);
      }
    }
    this.keys.delete(id);
  }
}

const VERIFICATIONS_BY_ID = textPerCount((n) => `WITH q (id) AS (VALUES ${keysAsRows(n)}) SELECT ${VERIFICATION_COLUMNS} FROM verifications WHERE id IN (SELECT id FROM q)`);

/** Rows one batched insert carries at most. */
const MAX_INSERT_BATCH = 64;

/** `INSERT ... VALUES` of `rows` rows, each `rowPlaceholders`, built once for each number of rows. */
const multiRowInsert = (insert: string, rowPlaceholders: string): ((rows: number) => string) =>
  textPerCount((rows) => `${insert} ${Array.from({ length: rows }, () => rowPlaceholders).join(', ')}`);

interface FailureDecision {
  readonly subject: string;
  readonly method: Method;
  readonly policy: FailurePolicy;
  readonly now: number;
  readonly decide: (count: FailureCount) => DecidedRows | undefined;
}

type WaitingDecision = FailureDecision & { readonly resolve: (count: FailureCount) => void; readonly reject: (err: unknown) => void };

/**
 * Failures counted with the rows decided on each count (recordFailureWithDecision), on SQLite: the calls
 * made before their transaction has begun join it, so the checks of one turn are one transaction of the
 * group commit, each counted in arrival order, and their rows are one insert per table. A statement that
 * fails fails them all (none is answered on a count that was rolled back).
 */
class FailureDecisions {
  private pending: WaitingDecision[] | undefined;
  private readonly verificationsText = multiRowInsert(`INSERT INTO verifications (${VERIFICATION_COLUMNS}, provider_state) VALUES`, VERIFICATION_PLACEHOLDERS);
  private readonly auditText = multiRowInsert(`INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES`, `(${AUDIT_PLACEHOLDERS})`);

  constructor(private readonly inTransaction: Runner) {}

  add(decision: FailureDecision): Promise<FailureCount> {
    return new Promise((resolve, reject) => {
      let joined = this.pending;
      if (!joined) {
        joined = this.pending = [];
        this.write(joined);
      }
      joined.push({ ...decision, resolve, reject });
      // A full transaction takes no more; the next call opens another.
      if (joined.length === MAX_INSERT_BATCH) this.pending = undefined;
    });
  }

  /** Asks for the transaction of `joined`, which takes the calls made until it begins. */
  private write(joined: WaitingDecision[]): void {
    this.inTransaction(async (tx) => {
      if (this.pending === joined) this.pending = undefined;
      const counts: FailureCount[] = [];
      const verifications = { rows: 0, params: [] as Param[] };
      const audits = { rows: 0, params: [] as Param[] };
      for (const d of joined) {
        const count = await countFailure(tx, d.subject, d.method, d.policy, d.now);
        counts.push(count);
        const rows = d.decide(count);
        if (!rows) continue;
        verifications.rows++;
        verifications.params.push(...verificationParams(rows.verification, null));
        if (rows.audit) {
          audits.rows++;
          audits.params.push(...auditParams(rows.audit));
        }
      }
      if (verifications.rows > 0) await tx.run(this.verificationsText(verifications.rows), verifications.params);
      if (audits.rows > 0) await tx.run(this.auditText(audits.rows), audits.params);
      return counts;
    }).then(
      (counts) => joined.forEach((d, i) => d.resolve(counts[i]!)),
      (err: unknown) => joined.forEach((d) => d.reject(err)),
    );
  }
}

/**
 * Rows of one table inserted together, one statement under way at a time: the first goes at once; those
 * that arrive while it is under way go in the next, as one multi-row statement (one round trip, one
 * commit). A row is answered once its statement has committed; a failed statement fails every row it carried.
 */
class InsertBatch {
  private readonly waiting: Array<{ params: readonly Param[]; resolve: () => void; reject: (err: unknown) => void }> = [];
  private busy = false;

  private readonly statement: (rows: number) => string;

  constructor(
    private readonly run: Runner,
    insert: string,
    rowPlaceholders: string,
  ) {
    this.statement = multiRowInsert(insert, rowPlaceholders);
  }

  add(params: readonly Param[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ params, resolve, reject });
      if (!this.busy) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.busy = true;
    while (this.waiting.length > 0) {
      const rows = this.waiting.splice(0, MAX_INSERT_BATCH);
      try {
        await this.run((db) => db.run(this.statement(rows.length), rows.flatMap((row) => row.params)));
        for (const row of rows) row.resolve();
      } catch (err) {
        for (const row of rows) row.reject(err);
      }
    }
    this.busy = false;
  }
}

interface AuditRow {
  id: string;
  at: number;
  method: string;
  operation: string;
  alias: string;
  client_id: string;
  address: string | null;
  delivery_type: string | null;
  outcome: string;
  reason: string | null;
  request_id: string | null;
}

const toAuditEvent = (r: AuditRow): AuditEvent => ({
  id: r.id,
  at: Number(r.at),
  method: r.method as Method,
  operation: r.operation as AuditEvent['operation'],
  alias: r.alias,
  clientId: r.client_id,
  address: r.address,
  deliveryType: r.delivery_type as AuditEvent['deliveryType'],
  outcome: r.outcome as AuditEvent['outcome'],
  reason: r.reason,
  requestId: r.request_id,
});

/**
 * The update that counts one failure within the window, locking at the limit (a longer existing lock is
 * kept), as the ON CONFLICT clause of an insert of the first failure into `lockouts`; with its parameters.
 */
function failureUpsert(policy: FailurePolicy, now: number): { clause: string; params: Param[] } {
  const windowCutoff = now - policy.windowMs;
  const lockUntil = now + policy.lockoutMs;
  // A new window starts when the old one has passed, or when a lockout has ended: serving a lockout
  // settles the failures that caused it.
  const fresh = '(lockouts.window_started_at <= ? OR (lockouts.locked_until <> 0 AND lockouts.locked_until <= ?))';
  return {
    clause: `ON CONFLICT (subject, method) DO UPDATE SET
       failures = CASE WHEN ${fresh} THEN 1 ELSE lockouts.failures + 1 END,
       window_started_at = CASE WHEN ${fresh} THEN ? ELSE lockouts.window_started_at END,
       locked_until = CASE
         WHEN (CASE WHEN ${fresh} THEN 1 ELSE lockouts.failures + 1 END) >= ? AND lockouts.locked_until < ? THEN ?
         WHEN lockouts.locked_until <= ? THEN 0
         ELSE lockouts.locked_until END
     RETURNING failures, locked_until`,
    params: [
      windowCutoff, now,
      windowCutoff, now, now,
      windowCutoff, now, policy.maxFailures, lockUntil, lockUntil,
      now,
    ],
  };
}

/** The `locked_until` of a first failure: locked at once when one failure is the limit. */
const firstLockedUntil = (policy: FailurePolicy, now: number): number => (policy.maxFailures <= 1 ? now + policy.lockoutMs : 0);

/** Counts one failure within the window, locking at the limit; a longer existing lock is kept. */
async function countFailure(db: SqlExecutor, subject: string, method: Method, policy: FailurePolicy, now: number): Promise<FailureCount> {
  const upsert = failureUpsert(policy, now);
  const row = await db.get<{ failures: number; locked_until: number }>(
    `INSERT INTO lockouts (subject, method, failures, window_started_at, locked_until) VALUES (?, ?, 1, ?, ?)
     ${upsert.clause}`,
    [subject, method, now, firstLockedUntil(policy, now), ...upsert.params],
  );
  return { failures: Number(row?.failures ?? 0), lockedUntil: Number(row?.locked_until ?? 0) };
}

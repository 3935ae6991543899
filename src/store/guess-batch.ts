// Wrong guesses on PostgreSQL, counted together: each one takes a try of its verification and counts a
// failure for its identity, and with one statement (so one commit) per guess the service waits on the
// WAL flush of every request. Guesses that arrive while a statement is under way go in the next one, as
// rows of one statement: one round trip and one commit for many, every limit decided by the database as
// before (the conditional update per verification, the counting upsert per identity). The same statement
// appends the audit row of each guess's plain answer (a wrong token that locks nothing), so a wrong token
// costs one commit, not a second for its row.
import type { AuditEvent } from '../core/audit.js';
import type { FailureCount, FailurePolicy, GuessRecord } from '../core/ports.js';
import { AUDIT_COLUMN_NAMES, AUDIT_COLUMN_TYPES, AUDIT_COLUMNS, auditParams } from './audit-rows.js';
import type { Param, SqlExecutor } from './driver.js';
import { textPerCount } from './statement-text.js';

/** Guesses one statement carries at most. */
const MAX_BATCH = 64;

type Counted = { attemptsUsed: number; failures: FailureCount; audited: boolean } | undefined;

interface Waiting {
  readonly guess: GuessRecord;
  readonly audit: AuditEvent | undefined;
  readonly resolve: (counted: Counted) => void;
  readonly reject: (err: unknown) => void;
}

/** Each guess's row of the statement's input: the guess, then the audit row of its plain answer (or NULLs). */
const GUESS_COLUMN_TYPES = [
  ['id', 'TEXT'],
  ['guess_hash', 'TEXT'],
  ['subject', 'TEXT'],
  ['max_attempts', 'BIGINT'],
  ['now', 'BIGINT'],
] as const;
const INPUT_COLUMNS = [...GUESS_COLUMN_TYPES.map(([name]) => name), ...AUDIT_COLUMN_NAMES.map((name) => `a_${name}`)].join(', ');
const INPUT_ROW = `(${[...GUESS_COLUMN_TYPES, ...AUDIT_COLUMN_TYPES].map(([, type]) => `CAST(? AS ${type})`).join(', ')})`;
const AUDIT_FROM_INPUT = AUDIT_COLUMN_NAMES.map((name) => `i.a_${name}`).join(', ');
const NO_AUDIT: readonly Param[] = AUDIT_COLUMN_NAMES.map(() => null);

/**
 * The statement for `n` guesses with one failure policy and method. Rows are locked in a fixed order
 * (verifications by id, then lockouts by subject), so statements of several processes cannot deadlock.
 * Verifications are found by `id = ANY (ARRAY(...))`, which the planner answers from the primary key
 * whatever it knows of the table: joined to the input, a table not yet analysed (a new deployment) was
 * read whole, twice per statement, which doubled its time.
 * The failure count is the single-guess upsert (countFailure in sql-store.ts) with each row's own `now`,
 * which is the inserted `window_started_at` (`excluded.window_started_at` on conflict). The audit row is
 * inserted where the try was taken, tries are left and the subject is not locked after it: the answer
 * `lockAfterWrongGuess` (core/token-rules.ts) leaves plain; recordWrongGuess on SQLite tests the same.
 */
const statement = textPerCount((n: number): string => {
  const rows = Array.from({ length: n }, () => INPUT_ROW).join(', ');
  const now = 'excluded.window_started_at';
  // Policy parameters, in order of use below: method, maxFailures, lockoutMs (first insert), then windowMs,
  // windowMs, windowMs, maxFailures, lockoutMs, lockoutMs.
  const fresh = `(lockouts.window_started_at <= ${now} - CAST(? AS BIGINT) OR (lockouts.locked_until <> 0 AND lockouts.locked_until <= ${now}))`;
  return `WITH input (${INPUT_COLUMNS}) AS (VALUES ${rows}),
    locked AS (SELECT v.id FROM verifications v WHERE v.id = ANY (ARRAY(SELECT id FROM input)) ORDER BY v.id FOR UPDATE),
    taken AS (
      UPDATE verifications v SET attempts = v.attempts + 1, last_guess_hash = i.guess_hash
      FROM input i
      WHERE v.id = ANY (ARRAY(SELECT id FROM input)) AND v.id = i.id AND v.id IN (SELECT id FROM locked) AND v.status = 'PENDING' AND v.attempts < i.max_attempts
        AND v.expires_at > i.now AND (v.last_guess_hash IS NULL OR v.last_guess_hash <> i.guess_hash)
      RETURNING v.id, v.attempts),
    counted AS (
      INSERT INTO lockouts (subject, method, failures, window_started_at, locked_until)
      SELECT i.subject, CAST(? AS TEXT), 1, i.now, CASE WHEN CAST(? AS BIGINT) <= 1 THEN i.now + CAST(? AS BIGINT) ELSE 0 END
      FROM taken JOIN input i ON i.id = taken.id ORDER BY i.subject
      ON CONFLICT (subject, method) DO UPDATE SET
        failures = CASE WHEN ${fresh} THEN 1 ELSE lockouts.failures + 1 END,
        window_started_at = CASE WHEN ${fresh} THEN ${now} ELSE lockouts.window_started_at END,
        locked_until = CASE
          WHEN (CASE WHEN ${fresh} THEN 1 ELSE lockouts.failures + 1 END) >= CAST(? AS BIGINT) AND lockouts.locked_until < ${now} + CAST(? AS BIGINT)
            THEN ${now} + CAST(? AS BIGINT)
          WHEN lockouts.locked_until <= ${now} THEN 0
          ELSE lockouts.locked_until END
      RETURNING subject, failures, locked_until),
    audited AS (
      INSERT INTO audit_events (${AUDIT_COLUMNS})
      SELECT ${AUDIT_FROM_INPUT}
      FROM taken JOIN input i ON i.id = taken.id JOIN counted ON counted.subject = i.subject
      WHERE i.a_id IS NOT NULL AND taken.attempts < i.max_attempts AND counted.locked_until <= i.now
      RETURNING id)
    SELECT taken.id, taken.attempts, counted.failures, counted.locked_until, audited.id AS audit_id
    FROM taken JOIN input i ON i.id = taken.id LEFT JOIN counted ON counted.subject = i.subject LEFT JOIN audited ON audited.id = i.a_id`;
});

/** Runs `guesses` (distinct verifications, distinct subjects) as one statement; results in their order. */
async function countTogether(db: SqlExecutor, guesses: readonly Waiting[], policy: FailurePolicy): Promise<Counted[]> {
  const params: Param[] = [];
  for (const { guess: g, audit: a } of guesses) {
    params.push(g.verificationId, g.guessHash, g.subject, g.maxAttempts, g.now);
    params.push(...(a ? auditParams(a) : NO_AUDIT));
  }
  const w = policy.windowMs;
  params.push(guesses[0]!.guess.method, policy.maxFailures, policy.lockoutMs, w, w, w, policy.maxFailures, policy.lockoutMs, policy.lockoutMs);
  const rows = await db.all<{ id: string; attempts: number; failures: number | null; locked_until: number | null; audit_id: string | null }>(
    statement(guesses.length),
    params,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return guesses.map(({ guess: g }) => {
    const row = byId.get(g.verificationId);
    if (!row) return undefined;
    return {
      attemptsUsed: Number(row.attempts),
      failures: { failures: Number(row.failures ?? 0), lockedUntil: Number(row.locked_until ?? 0) },
      audited: row.audit_id !== null,
    };
  });
}

/**
 * Statements under way at once per queue. One: with two, each request waited less for the statement
 * before its own, but statements carried half as many guesses and the service's CPU per request rose
 * by a third, for fewer requests a second on this machine (bench/README.md, "Third pass").
 */
const MAX_IN_FLIGHT = 1;

interface Queue {
  readonly policy: FailurePolicy;
  readonly waiting: Waiting[];
  /** A start is due once this turn's I/O has been handled. */
  starting: boolean;
  /** Verifications and subjects of the statements under way: a guess on one waits for them to end. */
  readonly verifications: Set<string>;
  readonly subjects: Set<string>;
  inFlight: number;
}

/**
 * Queues per failure policy and method (the statement takes them as parameters), at most MAX_IN_FLIGHT
 * statements under way per queue. A verification or identity is in at most one statement under way (one
 * row may not be updated twice by one statement, and a repeated guess must see the one before it): a
 * second guess on either waits for a statement begun after that one ended, so guesses on one
 * verification are counted in order.
 */
export class WrongGuessBatch {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly db: SqlExecutor) {}

  add(guess: GuessRecord, policy: FailurePolicy, audit: AuditEvent | undefined): Promise<Counted> {
    const key = `${guess.method}|${policy.windowMs}|${policy.maxFailures}|${policy.lockoutMs}`;
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(key);
      if (!queue) this.queues.set(key, (queue = { policy, waiting: [], starting: false, verifications: new Set(), subjects: new Set(), inFlight: 0 }));
      queue.waiting.push({ guess, audit, resolve, reject });
      if (queue.inFlight < MAX_IN_FLIGHT && !queue.starting) {
        // Not at once: requests whose reads came back together ask for their guesses together, one after
        // the other in this turn; the first alone in a statement would make the others wait for it.
        queue.starting = true;
        const due = queue;
        setImmediate(() => {
          due.starting = false;
          this.start(key, due);
        });
      }
    });
  }

  /** Begins statements while fewer than MAX_IN_FLIGHT are under way and a waiting guess may go. */
  private start(key: string, queue: Queue): void {
    while (queue.inFlight < MAX_IN_FLIGHT) {
      const batch = this.take(queue);
      if (batch.length === 0) break;
      queue.inFlight++;
      void this.run(queue, batch).finally(() => {
        queue.inFlight--;
        for (const { guess } of batch) {
          queue.verifications.delete(guess.verificationId);
          queue.subjects.delete(guess.subject);
        }
        this.start(key, queue);
      });
    }
    if (queue.inFlight === 0 && queue.waiting.length === 0 && !queue.starting) this.queues.delete(key);
  }

  /** The waiting guesses, in order, that the next statement may carry. */
  private take(queue: Queue): Waiting[] {
    const batch: Waiting[] = [];
    const { waiting, verifications, subjects } = queue;
    for (let i = 0; i < waiting.length && batch.length < MAX_BATCH; ) {
      const { guess } = waiting[i]!;
      if (verifications.has(guess.verificationId) || subjects.has(guess.subject)) {
        i++;
        continue;
      }
      verifications.add(guess.verificationId);
      subjects.add(guess.subject);
      batch.push(...waiting.splice(i, 1));
    }
    return batch;
  }

  private async run(queue: Queue, batch: readonly Waiting[]): Promise<void> {
    try {
      const results = await countTogether(this.db, batch, queue.policy);
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}

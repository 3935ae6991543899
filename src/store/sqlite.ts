// SQLite through better-sqlite3. Statements run synchronously; a gate keeps other requests' statements
// out of an open transaction, since they share the one connection. Connections to the same file in one
// process share the gate too: one waiting on the other's write lock would block the event loop the
// other needs to finish its transaction.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Param, SqlDriver, SqlExecutor } from './driver.js';
import { BackgroundCheckpoints } from './sqlite-checkpoints.js';

interface Gate {
  current: Promise<void> | undefined;
}

const gatesByFile = new Map<string, Gate>();
let memoryDatabases = 0;

/** Transactions committed together at most; bounds how long one commit holds the write lock. */
const MAX_BATCH = 64;

/**
 * Group commits after which a file's checkpoints move to a thread of their own (sqlite-checkpoints.ts):
 * a store that writes little (a command of the CLI, most tests) never starts the thread.
 */
const COMMITS_BEFORE_BACKGROUND_CHECKPOINTS = 200;

/** SQLite's own default: checkpoint inline once the log holds this many pages. */
const INLINE_CHECKPOINT_PAGES = 1000;

/**
 * The database holds token verifiers, sealed provider secrets and signing keys: only the service's user
 * may read it, whichever process (server or CLI) opens it first. A directory it creates is 0700; the
 * file is created 0600 before SQLite opens it, since SQLite gives its -wal and -shm files the mode of
 * the database file; and files left readable by others (an earlier version made them 0644) are narrowed.
 */
function makePrivate(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      const mode = statSync(file).mode & 0o777;
      if (mode & 0o077) chmodSync(file, mode & 0o700);
    } catch (err) {
      // Absent (not created yet), or owned by another user: the latter is the operator's arrangement.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
}

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly gate: Gate;
  private readonly batch: Array<{ work: (tx: SqlExecutor) => Promise<unknown>; resolve: (value: unknown) => void; reject: (err: unknown) => void }> = [];
  private readonly direct: SqlExecutor;
  readonly relaxed: SqlExecutor = this;
  private readonly path: string;
  private commits = 0;
  private checkpoints: BackgroundCheckpoints | undefined;
  /** The group commit's own statements, prepared once: exec() would parse each of them every time. */
  private readonly control: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') makePrivate(path);
    const file = path === ':memory:' ? `:memory:#${++memoryDatabases}` : resolve(path);
    let gate = gatesByFile.get(file);
    if (!gate) gatesByFile.set(file, (gate = { current: undefined }));
    this.gate = gate;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Several processes may share the file: wait for the write lock instead of failing at once.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    // Each transaction of a group commit runs in a savepoint, whose journal of changed pages goes to a
    // temporary file by default (a write per page, about 9 µs a savepoint here); in memory it costs ~1 µs,
    // and no temporary file holds copies of the data.
    this.db.pragma('temp_store = MEMORY');
    this.control = {
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
      savepoint: this.db.prepare('SAVEPOINT item'),
      release: this.db.prepare('RELEASE item'),
      rollbackTo: this.db.prepare('ROLLBACK TO item'),
    };
    this.direct = {
      all: async <T>(sql: string, params: readonly Param[] = []) => this.prepare(sql).all(...params) as T[],
      get: async <T>(sql: string, params: readonly Param[] = []) => this.prepare(sql).get(...params) as T | undefined,
      run: async (sql: string, params: readonly Param[] = []) => this.prepare(sql).run(...params).changes,
    };
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async all<T>(sql: string, params?: readonly Param[]): Promise<T[]> {
    while (this.gate.current) await this.gate.current;
    return this.direct.all<T>(sql, params);
  }

  async get<T>(sql: string, params?: readonly Param[]): Promise<T | undefined> {
    while (this.gate.current) await this.gate.current;
    return this.direct.get<T>(sql, params);
  }

  async run(sql: string, params?: readonly Param[]): Promise<number> {
    while (this.gate.current) await this.gate.current;
    return this.direct.run(sql, params);
  }

  /**
   * Transactions that arrive while the event loop is busy are committed together (group commit): a
   * commit costs far more than the statements before it. Each keeps its own savepoint, so one failing
   * rolls back only itself, and none is answered before the shared commit is durable.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.batch.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.batch.length === 1) setImmediate(() => void this.commitBatch());
    });
  }

  private async commitBatch(): Promise<void> {
    while (this.gate.current) await this.gate.current;
    const batch = this.batch.splice(0, MAX_BATCH);
    if (this.batch.length > 0) setImmediate(() => void this.commitBatch());
    let open!: () => void;
    this.gate.current = new Promise((resolve) => (open = resolve));
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      const { begin, commit, rollback, savepoint, release, rollbackTo } = this.control;
      begin.run();
      try {
        for (const item of batch) {
          savepoint.run();
          try {
            outcomes.push({ ok: true, value: await item.work(this.direct) });
            release.run();
          } catch (error) {
            rollbackTo.run();
            release.run();
            outcomes.push({ ok: false, error });
          }
        }
        commit.run();
        if (++this.commits === COMMITS_BEFORE_BACKGROUND_CHECKPOINTS) this.checkpointInBackground();
      } catch (err) {
        if (this.db.inTransaction) rollback.run();
        throw err;
      }
      batch.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
    } catch (err) {
      for (const item of batch) item.reject(err);
    } finally {
      this.gate.current = undefined;
      open();
    }
  }

  async exec(script: string): Promise<void> {
    while (this.gate.current) await this.gate.current;
    this.db.exec(script);
  }

  async withMigrationLock<T>(work: () => Promise<T>): Promise<T> {
    // Migrations run inside their own IMMEDIATE transactions, which already exclude other processes.
    return work();
  }

  async withTryLock<T>(_key: number, work: () => Promise<T>): Promise<T | undefined> {
    // Short statements under SQLite's own write lock: processes sharing the file may all run the job.
    return work();
  }

  /** Hands the file's checkpoints to a thread, and takes them back if it ends. */
  private checkpointInBackground(): void {
    if (this.path === ':memory:') return;
    this.checkpoints = new BackgroundCheckpoints(resolve(this.path), () => {
      this.checkpoints = undefined;
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${INLINE_CHECKPOINT_PAGES}`);
    });
    this.db.pragma('wal_autocheckpoint = 0');
  }

  async close(): Promise<void> {
    while (this.gate.current) await this.gate.current;
    await this.checkpoints?.stop();
    this.db.close();
  }
}

// SQLite through better-sqlite3. Statements run synchronously; a gate keeps other requests' statements
// out of an open transaction, since they share the one connection. Connections to the same file in one
// process share the gate too: one waiting on the other's write lock would block the event loop the
// other needs to finish its transaction.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Param, SqlDriver, SqlExecutor } from './driver.js';

interface Gate {
  current: Promise<void> | undefined;
}

const gatesByFile = new Map<string, Gate>();
let memoryDatabases = 0;

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly gate: Gate;
  private readonly direct: SqlExecutor;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
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

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    while (this.gate.current) await this.gate.current;
    let open!: () => void;
    this.gate.current = new Promise((resolve) => (open = resolve));
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
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

  async close(): Promise<void> {
    while (this.gate.current) await this.gate.current;
    this.db.close();
  }
}

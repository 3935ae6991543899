// The small surface both databases offer the store: statements with `?` placeholders and transactions.

export type Param = string | number | null;

export interface SqlExecutor {
  all<T>(sql: string, params?: readonly Param[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly Param[]): Promise<T | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly Param[]): Promise<number>;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Statements whose commit does not wait for the disk (rate counters): seen by every process at once,
   * but the last ones may be lost if the database server stops abruptly. PostgreSQL: connections with
   * synchronous_commit off. SQLite: the one connection (in WAL mode with synchronous = NORMAL no commit waits for the disk).
   */
  readonly relaxed: SqlExecutor;
  /** Runs `work` in one transaction that takes the write lock at once; commits or rolls back. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations). */
  exec(script: string): Promise<void>;
  /** Holds a database-wide lock while `work` runs, so processes starting together migrate once. */
  withMigrationLock<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Runs `work` unless another process holds the lock named `key` (then resolves undefined without
   * waiting): one process of many does a periodic job (pruning). On SQLite every process may run it.
   */
  withTryLock<T>(key: number, work: () => Promise<T>): Promise<T | undefined>;
  close(): Promise<void>;
}

/**
 * What a method's own store part is given (docs/methods.md): statements and transactions on the service's
 * database, with its dialect; not the schema, locks or closing, which stay with the store.
 */
export type SqlDatabase = Pick<SqlDriver, 'dialect' | 'all' | 'get' | 'run' | 'transaction'>;

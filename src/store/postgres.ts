// PostgreSQL through a pg pool. Placeholders are written `?` in the store and numbered here.
import pg from 'pg';
import type { Param, SqlDriver, SqlExecutor } from './driver.js';

interface Prepared {
  readonly text: string;
  /**
   * The name the statement is prepared under on each connection that runs it (parsed and planned once
   * there, not per call). None for statements without parameters (migrations, one-off statements), nor
   * for those whose result columns a migration could change (`*`): a prepared statement's result type
   * may not change.
   */
  readonly name: string | undefined;
}

const prepared = new Map<string, Prepared>();

function toNumbered(sql: string): Prepared {
  let statement = prepared.get(sql);
  if (statement === undefined) {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    statement = { text, name: n === 0 || /\*\s*(FROM|$)/i.test(sql) ? undefined : `mfa_${prepared.size + 1}` };
    prepared.set(sql, statement);
  }
  return statement;
}

function query(sql: string, params: readonly Param[]): pg.QueryConfig {
  const { text, name } = toNumbered(sql);
  return { text, values: params as Param[], types, ...(name === undefined ? {} : { name }) } as pg.QueryConfig;
}

// BIGINT columns hold millisecond times and counts: read them as numbers, not strings.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async all<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
      const result = await client.query(query(sql, params));
      return result.rows as T[];
    },
    async get<T>(sql: string, params: readonly Param[] = []): Promise<T | undefined> {
      const result = await client.query(query(sql, params));
      return result.rows[0] as T | undefined;
    },
    async run(sql: string, params: readonly Param[] = []): Promise<number> {
      const result = await client.query(query(sql, params));
      return result.rowCount ?? 0;
    },
  };
}

export interface PostgresOptions {
  readonly connectionString: string;
  /** Schema to create and use (tests give each suite its own). */
  readonly schema?: string;
  readonly maxConnections?: number;
}

/** Connections of the pool for statements whose commit does not wait for the disk. */
const RELAXED_CONNECTIONS = 2;

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly direct: SqlExecutor;
  private relaxedPool: pg.Pool | undefined;
  private relaxedExecutor: SqlExecutor | undefined;
  private schemaReady: Promise<void> | undefined;

  constructor(private readonly options: PostgresOptions) {
    this.pool = this.newPool(options.maxConnections ?? 10);
    this.direct = executor(this.pool);
  }

  /** `settings`: run-time parameters every connection of the pool starts with. */
  private newPool(max: number, settings: Record<string, string> = {}): pg.Pool {
    const all = { ...(this.options.schema ? { search_path: this.options.schema } : {}), ...settings };
    const options = Object.entries(all).map(([name, value]) => `-c ${name}=${value}`).join(' ');
    const pool = new pg.Pool({
      connectionString: this.options.connectionString,
      max,
      connectionTimeoutMillis: 5000,
      ...(options ? { options } : {}),
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    return pool;
  }

  /**
   * A pool of its own whose sessions commit without waiting for the WAL flush (a setting each connection
   * starts with): a counter every request updates is one row, and each commit holding its lock until the
   * flush would queue them all one flush at a time.
   */
  get relaxed(): SqlExecutor {
    if (!this.relaxedExecutor) {
      const pool = (this.relaxedPool = this.newPool(RELAXED_CONNECTIONS, { synchronous_commit: 'off' }));
      this.relaxedExecutor = executor(pool);
    }
    return this.relaxedExecutor;
  }

  all<T>(sql: string, params?: readonly Param[]): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  get<T>(sql: string, params?: readonly Param[]): Promise<T | undefined> {
    return this.direct.get<T>(sql, params);
  }

  run(sql: string, params?: readonly Param[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(executor(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  async withMigrationLock<T>(work: () => Promise<T>): Promise<T> {
    if (this.options.schema) {
      this.schemaReady ??= this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.options.schema)}`).then(() => undefined);
      await this.schemaReady;
    }
    const client = await this.pool.connect();
    try {
      // Any constant works as long as every process of this service uses the same one.
      await client.query('SELECT pg_advisory_lock(7263541)');
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock(7263541)');
      }
    } finally {
      client.release();
    }
  }

  async withTryLock<T>(key: number, work: () => Promise<T>): Promise<T | undefined> {
    // A session lock on one pooled connection; `work` uses the others, so the lock spans its batches.
    const client = await this.pool.connect();
    // A connection that failed is destroyed, not returned to the pool (its session, and lock, end with it).
    let broken: Error | undefined;
    try {
      const row = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key]);
      if (!row.rows[0]?.locked) return undefined;
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [key]).catch((err: Error) => (broken = err));
      }
    } catch (err) {
      broken ??= err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.relaxedPool?.end()]);
  }
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`invalid schema name ${name}`);
  return `"${name}"`;
}

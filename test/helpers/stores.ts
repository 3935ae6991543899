// The databases every store test runs against: SQLite always, PostgreSQL when MFA_TEST_DATABASE_URL is set.
// Each open() gives an isolated, migrated store (a fresh file, or a fresh schema) and a cleanup that removes it.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import type { Store } from '../../src/core/ports.js';
import type { SqlDatabase } from '../../src/store/driver.js';
import { openStore } from '../../src/store/index.js';

export type StoreTargetName = 'sqlite' | 'postgres';

export interface OpenedStore {
  readonly store: Store;
  /** The same database as a method's own store part gets it (MethodContext.sql; docs/methods.md). */
  readonly sql: SqlDatabase;
  /** What openStore was given: open a second store on it to act as another process. */
  readonly url: string;
  /** The PostgreSQL schema this store lives in; absent for SQLite. */
  readonly schema?: string;
  /** Closes the store (if still open) and removes its file or schema. */
  cleanup(): Promise<void>;
}

export interface StoreTarget {
  readonly name: StoreTargetName;
  open(): Promise<OpenedStore>;
}

const POSTGRES_URL_VARIABLE = 'MFA_TEST_DATABASE_URL';

function postgresUrl(): string | undefined {
  const url = process.env[POSTGRES_URL_VARIABLE];
  return url === undefined || url.trim() === '' ? undefined : url;
}

/** Why the PostgreSQL targets are skipped, or false when they run. */
export function postgresSkipReason(): string | false {
  return postgresUrl() === undefined ? `${POSTGRES_URL_VARIABLE} not set: PostgreSQL tests skipped` : false;
}

/** Closing twice (a test closed the store itself) must not hide the cleanup that follows. */
async function closeQuietly(store: Store): Promise<void> {
  try {
    await store.close();
  } catch {
    // already closed
  }
}

const sqliteTarget: StoreTarget = {
  name: 'sqlite',
  async open(): Promise<OpenedStore> {
    const dir = await mkdtemp(join(tmpdir(), 'mfa-test-'));
    const url = join(dir, 'store.db');
    const store = openStore(url);
    try {
      await store.migrate();
    } catch (err) {
      await closeQuietly(store);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      store,
      sql: store.sql,
      url,
      async cleanup(): Promise<void> {
        await closeQuietly(store);
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

function postgresTarget(url: string): StoreTarget {
  return {
    name: 'postgres',
    async open(): Promise<OpenedStore> {
      // Lower-case letters and digits only: the driver accepts it unquoted-safe and tests never collide.
      const schema = `t_${randomBytes(8).toString('hex')}`;
      const store = openStore(url, { schema });
      const dropSchema = async (): Promise<void> => {
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        try {
          await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await admin.end();
        }
      };
      try {
        await store.migrate();
      } catch (err) {
        await closeQuietly(store);
        await dropSchema().catch(() => undefined);
        throw err;
      }
      return {
        store,
        sql: store.sql,
        url,
        schema,
        async cleanup(): Promise<void> {
          await closeQuietly(store);
          await dropSchema();
        },
      };
    },
  };
}

/** SQLite always; PostgreSQL only when MFA_TEST_DATABASE_URL is set. */
export function storeTargets(): StoreTarget[] {
  const url = postgresUrl();
  return url === undefined ? [sqliteTarget] : [sqliteTarget, postgresTarget(url)];
}

/**
 * One node:test `describe` per target, named `title [target]`. When PostgreSQL is not configured a skipped
 * test says so, so a green run without it never passes for one that covered both databases.
 */
export function describeEachStore(title: string, fn: (target: StoreTarget) => void): void {
  for (const target of storeTargets()) {
    describe(`${title} [${target.name}]`, () => fn(target));
  }
  const reason = postgresSkipReason();
  if (reason !== false) {
    describe(`${title} [postgres]`, () => {
      it('runs against PostgreSQL', { skip: reason }, () => undefined);
    });
  }
}

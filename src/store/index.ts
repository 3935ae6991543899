// Chooses the database from the configured URL: postgres:// uses PostgreSQL, anything else is a SQLite file.
import type { Store } from '../core/ports.js';
import type { SqlDriver } from './driver.js';
import { PostgresDriver } from './postgres.js';
import { SqlStore } from './sql-store.js';
import { SqliteDriver } from './sqlite.js';
import { isPostgresUrl } from './url.js';

export { isPostgresUrl };

export function openStore(databaseUrl: string, options: { schema?: string } = {}): Store {
  const driver = isPostgresUrl(databaseUrl)
    ? new PostgresDriver({ connectionString: databaseUrl, ...(options.schema ? { schema: options.schema } : {}) })
    : new SqliteDriver(databaseUrl);
  return new SqlStore(driver);
}

/** The SQL driver under a store, for a method's own slice of storage (src/methods/passkey/store.ts). */
export function sqlDriverOf(store: Store): SqlDriver {
  if (store instanceof SqlStore) return store.db;
  throw new Error('the store has no SQL driver');
}

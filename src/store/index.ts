// Chooses the database from the configured URL: postgres:// uses PostgreSQL, anything else is a SQLite file.
import type { Store } from '../core/ports.js';
import type { OperatorStore } from '../core/operator-store.js';
import type { PortalStore } from '../core/portal-store.js';
import type { SqlDriver } from './driver.js';
import { SqlOperatorStore } from './operators.js';
import { SqlPortalStore } from './portal.js';
import { PostgresDriver } from './postgres.js';
import { SqlStore } from './sql-store.js';
import { SqliteDriver } from './sqlite.js';
import { isPostgresUrl } from './url.js';

export { isPostgresUrl };

export function openStore(databaseUrl: string, options: { schema?: string } = {}): SqlStore {
  const driver = isPostgresUrl(databaseUrl)
    ? new PostgresDriver({ connectionString: databaseUrl, ...(options.schema ? { schema: options.schema } : {}) })
    : new SqliteDriver(databaseUrl);
  return new SqlStore(driver);
}

/** The SQL driver under a store, for the parts of storage with their own interface (a method's tables, the portal's). */
export function driverOf(store: Store): SqlDriver {
  if (store instanceof SqlStore) return store.db;
  throw new Error('the store has no SQL driver');
}

/** The self-service portal's storage on the database of `store` (opened by openStore; migrated with it). */
export function portalStoreOf(store: Store): PortalStore {
  return new SqlPortalStore(driverOf(store));
}


/** The console's operators on the database of `store` (opened by openStore; migrated with it). */
export function operatorStoreOf(store: Store): OperatorStore {
  return new SqlOperatorStore(driverOf(store));
}

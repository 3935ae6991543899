// Chooses the database from the configured URL: postgres:// uses PostgreSQL, anything else is a SQLite file.
import type { Store } from '../core/ports.js';
import type { PortalStore } from '../core/portal-store.js';
import type { SqlDriver } from './driver.js';
import { SqlPortalStore } from './portal.js';
import { PostgresDriver } from './postgres.js';
import { SqlStore } from './sql-store.js';
import { SqliteDriver } from './sqlite.js';
import { isPostgresUrl } from './url.js';

export { isPostgresUrl };

/** The driver under each store opened here, so parts of the storage with their own interface share its connections. */
const drivers = new WeakMap<Store, SqlDriver>();

export function openStore(databaseUrl: string, options: { schema?: string } = {}): Store {
  const driver = isPostgresUrl(databaseUrl)
    ? new PostgresDriver({ connectionString: databaseUrl, ...(options.schema ? { schema: options.schema } : {}) })
    : new SqliteDriver(databaseUrl);
  const store = new SqlStore(driver);
  drivers.set(store, driver);
  return store;
}

/** The driver under a store opened by openStore, for a method's own tables (src/methods/<id>/store.ts). */
export function driverOf(store: Store): SqlDriver {
  const driver = drivers.get(store);
  if (!driver) throw new Error('the store was not opened by openStore');
  return driver;
}

/** The self-service portal's storage on the database of `store` (opened by openStore; migrated with it). */
export function portalStoreOf(store: Store): PortalStore {
  return new SqlPortalStore(driverOf(store));
}

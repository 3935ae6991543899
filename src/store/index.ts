// Chooses the database from the configured URL: postgres:// uses PostgreSQL, anything else is a SQLite file.
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

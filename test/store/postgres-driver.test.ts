// Defends the durability of what the PostgreSQL driver writes: only rate counters may commit without
// waiting for the WAL flush (a counter every check updates is one hot row); tries, lockouts and the audit
// trail must be on disk before the service answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PostgresDriver } from '../../src/store/postgres.js';
import { postgresSkipReason } from '../helpers/stores.js';

const url = process.env['MFA_TEST_DATABASE_URL'];

describe('PostgreSQL driver: which statements wait for the disk', { skip: postgresSkipReason() }, () => {
  it('the relaxed connections commit without waiting for the flush; every other statement and transaction waits', async () => {
    const driver = new PostgresDriver({ connectionString: url! });
    try {
      const setting = async (executor: { get<T>(sql: string): Promise<T | undefined> }) =>
        (await executor.get<{ synchronous_commit: string }>('SHOW synchronous_commit'))?.synchronous_commit;
      // Every connection of each pool, not just the first: as many at once as the pools hold.
      const relaxed = await Promise.all(Array.from({ length: 4 }, () => setting(driver.relaxed)));
      assert.deepEqual(new Set(relaxed), new Set(['off']));
      const ordinary = await Promise.all(Array.from({ length: 12 }, () => setting(driver)));
      assert.notEqual(new Set(ordinary).has('off'), true, `ordinary statements: ${ordinary.join(', ')}`);
      assert.notEqual(await driver.transaction((tx) => setting(tx)), 'off');
    } finally {
      await driver.close();
    }
  });
});

// Defends the latency of a busy SQLite service: the write-ahead log is copied back into the database file
// by a thread of its own, not inside a commit on the event loop (a stall of several milliseconds every
// 1000 pages), and a store that writes little never starts that thread.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { CHILD_DEADLINE_MS, sleep } from '../helpers/wait.js';

describe('SQLite checkpoints', () => {
  it('after a few hundred commits the log is copied into the file while the store is idle, with no commit doing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mfa-checkpoints-'));
    const path = join(dir, 'store.db');
    const store = openStore(path);
    try {
      await store.migrate();
      const sizeAfterMigrations = (await stat(path)).size;
      let n = 0;
      // Few pages each: far from the 1000 pages at which SQLite would checkpoint inside a commit.
      for (let i = 0; i < 260; i++) await store.upsertIdentities([{ alias: `a${i}`, status: 'active', attributes: {} }], () => `id-${++n}`, 1);
      const deadline = Date.now() + CHILD_DEADLINE_MS;
      while ((await stat(path)).size <= sizeAfterMigrations && Date.now() < deadline) await sleep(20);
      assert.ok((await stat(path)).size > sizeAfterMigrations, 'nothing copied the log into the database file');
      assert.equal((await store.findIdentity('a259'))?.alias, 'a259');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

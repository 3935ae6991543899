// Defends against other local users reading the service's files: the database (token verifiers, sealed
// provider secrets, signing keys), its WAL and shared-memory files, the generated master secret and the
// outbox (live tokens) are readable by the service's user only, whether the server or a CLI command
// creates them first, and database files left readable by others are narrowed at the next start.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { outboxPath } from '../../src/delivery/outbox.js';
import { ok } from '../helpers/cli.js';
import { describeEachDatabase, postJson, startServer } from '../helpers/server.js';


const modeOf = async (path: string): Promise<string> => ((await stat(path)).mode & 0o777).toString(8);

async function assertPrivate(dataDir: string, files: readonly string[]): Promise<void> {
  assert.equal(await modeOf(dataDir), '700', dataDir);
  for (const file of files) assert.equal(await modeOf(join(dataDir, file)), '600', file);
}

const SQLITE_FILES = ['mfa.sqlite', 'mfa.sqlite-wal', 'mfa.sqlite-shm'];

describeEachDatabase('file modes under the data directory', ({ postgres }) => {
  let root: string;
  let previousUmask: number;
  before(async () => {
    // The usual umask: under it files come out 0644 unless the service asks for less, so the test can fail.
    previousUmask = process.umask(0o022);
    root = await mkdtemp(join(tmpdir(), 'mfa-modes-'));
  });
  after(async () => {
    process.umask(previousUmask);
    await rm(root, { recursive: true, force: true });
  });

  it('a fresh start creates the directory 0700 and every file in it 0600', async () => {
    // Nested and not yet there: the service creates every level itself. No MFA_SECRET: it writes secret.key.
    const dataDir = join(root, 'fresh', 'data');
    const server = await startServer({ postgres, env: { MFA_DATA_DIR: dataDir, MFA_SECRET: '' } });
    try {
      await server.addIdentity('moded', { email: 'moded@example.com' });
      const send = await postJson(server, '/v3/mfa/token/send', await server.accessToken(['idn:mfa:send']), { userAlias: 'moded', deliveryType: 'EMAIL_WORK' });
      assert.equal(send.body.status, 'SUCCESS');
      assert.equal(await modeOf(join(root, 'fresh')), '700');
      await assertPrivate(dataDir, [...(postgres ? [] : SQLITE_FILES), 'secret.key', outboxPath(dataDir).slice(dataDir.length + 1)]);
    } finally {
      await server.close();
    }
  });

  it('a CLI command run first creates them private too, and the server keeps them so', { skip: postgres && 'the CLI on PostgreSQL writes no file' }, async () => {
    const dataDir = join(root, 'cli-first');
    const env = { MFA_DATA_DIR: dataDir };
    await ok(['clients', 'create', '--init', '--name', 'first', '--scopes', 'idn:mfa:send'], env);
    await assertPrivate(dataDir, ['mfa.sqlite']);
    await ok(['keys', 'rotate'], env);
    await assertPrivate(dataDir, ['mfa.sqlite', 'secret.key']);
    const server = await startServer({ env: { MFA_DATA_DIR: dataDir, MFA_SECRET: '' } });
    try {
      await assertPrivate(dataDir, [...SQLITE_FILES, 'secret.key']);
    } finally {
      await server.close();
    }
  });

  it('database files another process left readable by others are narrowed at start', { skip: postgres && 'no database file on PostgreSQL' }, async () => {
    const dataDir = join(root, 'left-open');
    await mkdir(dataDir, { mode: 0o700 });
    for (const file of ['mfa.sqlite', 'mfa.sqlite-wal']) {
      await writeFile(join(dataDir, file), '');
      await chmod(join(dataDir, file), 0o644);
    }
    const server = await startServer({ env: { MFA_DATA_DIR: dataDir } });
    try {
      await assertPrivate(dataDir, SQLITE_FILES);
    } finally {
      await server.close();
    }
  });
});

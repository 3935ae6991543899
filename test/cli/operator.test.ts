// Defends the operator's hand actions: `users unlock` ends the token, KBA and TOTP lockouts of one alias and
// nobody else's, `users reset-kba` removes exactly that identity's answers and `users reset-totp` exactly its
// authenticator registration, each leaves an audit event under the client id `operator`, and `audit`
// filters the trail as GET /admin/v1/audit does.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import type { Store } from '../../src/core/ports.js';
import { SqlTotpStore } from '../../src/methods/totp/store.js';
import { openMigratedStore } from '../../src/runtime.js';
import { driverOf } from '../../src/store/index.js';
import { cli, ok } from '../helpers/cli.js';

const SECRET = 'c0'.repeat(32);
const HOUR_MS = 3_600_000;

interface ListedEvent {
  readonly method: string;
  readonly operation: string;
  readonly alias: string;
  readonly clientId: string;
  readonly outcome: string;
  readonly reason: string | null;
  readonly at: string;
}

describe('mfa-controller users unlock, users reset-kba, users reset-totp and audit', { concurrency: false }, () => {
  let dir: string;
  let env: Record<string, string>;
  /** Opens the CLI's database in this process, for what the CLI cannot set up (lockouts, answers). */
  const withStore = async <T>(work: (store: Store) => Promise<T>): Promise<T> => {
    const store = await openMigratedStore(loadConfig(env));
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfa-cli-operator-'));
    env = { MFA_DATA_DIR: dir, MFA_SECRET: SECRET };
    const people = join(dir, 'people.json');
    await writeFile(people, JSON.stringify([{ alias: 'alice', email: 'alice@example.com' }, { alias: 'bob', email: 'bob@example.com' }]));
    await ok(['users', 'import', '--init', people], env);
    await withStore(async (store) => {
      const until = Date.now() + HOUR_MS;
      for (const alias of ['alice', 'bob']) {
        await store.lock(alias, 'token', until);
        await store.lock(alias, 'kba', until);
        await store.lock(alias, 'totp', until);
      }
      await store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: Date.now() });
      await store.putQuestion({ id: 'city', texts: { '': 'Birth city?' }, createdAt: Date.now() });
      for (const alias of ['alice', 'bob']) {
        const identity = (await store.findIdentity(alias))!;
        await store.replaceAnswers(identity.id, [{ questionId: 'pet', answerHash: '$argon2id$x' }, { questionId: 'city', answerHash: '$argon2id$y' }], Date.now());
        const registrations = new SqlTotpStore(driverOf(store));
        await registrations.putPending(identity.id, { id: `enrol-${alias}`, sealedSecret: 's1.sealed', replaces: null, expiresAt: Date.now() + HOUR_MS }, Date.now());
        await registrations.activate(identity.id, `enrol-${alias}`, 1, Date.now());
      }
    });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('users unlock ends every lockout of that alias only, saying which were in force', async () => {
    const stdout = await ok(['users', 'unlock', 'alice'], env);
    assert.match(stdout, /^unlocked alice: token \(locked until \d{4}-\d\d-\d\dT[^)]+\), kba \(locked until [^)]+\), totp \(locked until [^)]+\)\n$/);
    await withStore(async (store) => {
      assert.equal(await store.lockedUntil('alice', 'token'), 0);
      assert.equal(await store.lockedUntil('alice', 'kba'), 0);
      assert.equal(await store.lockedUntil('alice', 'totp'), 0);
      assert.ok((await store.lockedUntil('bob', 'totp')) > Date.now(), "bob's TOTP lockout was ended too");
      assert.ok((await store.lockedUntil('bob', 'token')) > Date.now(), "bob's token lockout was ended too");
      assert.ok((await store.lockedUntil('bob', 'kba')) > Date.now(), "bob's KBA lockout was ended too");
    });
    assert.equal(await ok(['users', 'unlock', 'alice'], env), 'alice was not locked out; its failure counts are cleared\n');
  });

  it('users reset-kba removes that identity\'s answers only', async () => {
    assert.equal(await ok(['users', 'reset-kba', 'alice'], env), 'removed 2 security answer(s) of alice; they must enrol again before KBA can verify them\n');
    await withStore(async (store) => {
      assert.deepEqual(await store.listAnswers((await store.findIdentity('alice'))!.id), []);
      assert.equal((await store.listAnswers((await store.findIdentity('bob'))!.id)).length, 2);
    });
    const unknown = await cli(['users', 'reset-kba', 'nobody'], env);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.split('\n')[0], 'mfa-controller: no identity nobody');
  });

  it('users reset-totp removes that identity\'s authenticator registration only', async () => {
    assert.equal(await ok(['users', 'reset-totp', 'alice'], env), 'removed the authenticator registration of alice; they must enrol again before TOTP can verify them\n');
    await withStore(async (store) => {
      const registrations = new SqlTotpStore(driverOf(store));
      assert.deepEqual(await registrations.find('alice'), { identityId: (await store.findIdentity('alice'))!.id, active: null, pending: null });
      assert.equal((await registrations.find('bob'))?.active?.id, 'enrol-bob');
    });
    for (const alias of ['alice', 'nobody']) {
      const none = await cli(['users', 'reset-totp', alias], env);
      assert.equal(none.code, 2);
      assert.equal(none.stderr.split('\n')[0], `mfa-controller: no authenticator registration for ${alias}`);
    }
  });

  it('audit lists the operator actions, newest first, and filters like the admin API', async () => {
    const all = JSON.parse(await ok(['audit', '--json', '--alias', 'alice'], env)) as ListedEvent[];
    assert.deepEqual(
      all.map((e) => [e.method, e.operation, e.clientId, e.outcome]),
      [
        ['totp', 'reset', 'operator', 'SUCCESS'],
        ['kba', 'reset', 'operator', 'SUCCESS'],
        ['totp', 'unlock', 'operator', 'SUCCESS'],
        ['kba', 'unlock', 'operator', 'SUCCESS'],
        ['token', 'unlock', 'operator', 'SUCCESS'],
        ['totp', 'unlock', 'operator', 'SUCCESS'],
        ['kba', 'unlock', 'operator', 'SUCCESS'],
        ['token', 'unlock', 'operator', 'SUCCESS'],
      ],
    );
    assert.match(all[7]!.reason!, /^lockout until .* ended by an operator$/);
    assert.equal(all[4]!.reason, 'failures cleared by an operator (no lockout in force)');

    const oldestKba = JSON.parse(await ok(['audit', '--json', '--method', 'kba', '--order', 'oldest', '--limit', '2'], env)) as ListedEvent[];
    assert.deepEqual(oldestKba.map((e) => e.operation), ['unlock', 'unlock']);
    assert.deepEqual(JSON.parse(await ok(['audit', '--json', '--alias', 'bob'], env)), []);
    assert.deepEqual(JSON.parse(await ok(['audit', '--json', '--since', String(Date.now() + HOUR_MS)], env)), []);

    const table = (await ok(['audit', '--limit', '1'], env)).split('\n');
    assert.match(table[0]!, /^AT +METHOD +OPERATION +ALIAS +CLIENT +OUTCOME +REQUEST +REASON$/);
    assert.match(table[1]!, /^\d{4}-\d\d-\d\dT\S+ +totp +reset +alice +operator +SUCCESS +- +authenticator registration removed by an operator$/);
  });

  it('audit refuses a bad filter with one line and exit 2', async () => {
    const cases: Array<[string[], string]> = [
      [['--method', 'sms'], '--method must be one of okta-verify, duo-web, kba, token, rsa, totp, passkey, console, got "sms"'],
      [['--outcome', 'OK'], '--outcome must be one of SENT, SUCCESS, FAILED, LOCKOUT, NOT_ENOUGH_DATA, got "OK"'],
      [['--since', 'yesterday'], '--since must be epoch milliseconds or an ISO 8601 date-time, got "yesterday"'],
      [['--limit', '1001'], '--limit must be a whole number from 1 to 1000, got "1001"'],
      [['--after', 'abc'], '--after must be an audit event id, got "abc"'],
    ];
    for (const [args, message] of cases) {
      const run = await cli(['audit', ...args], env);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr.split('\n')[0], `mfa-controller: ${message}`);
    }
  });
});

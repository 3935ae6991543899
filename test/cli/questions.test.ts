// Defends the operator's question catalogue and personal clients at the command line: a bad id, text or locale is refused with exit 2 and nothing written, a locale's text replaces only that locale, removing a question removes the answers to it, and `clients create --identity` only makes a personal client for an identity that exists.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { openMigratedStore } from '../../src/runtime.js';
import { cli, ok } from '../helpers/cli.js';

const SECRET = 'c0'.repeat(32);


interface ListedQuestion {
  readonly id: string;
  readonly texts: Record<string, string>;
  readonly numAnswers: number;
}

describe('mfa-controller questions and personal clients', { concurrency: false }, () => {
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfa-cli-questions-'));
    env = { MFA_DATA_DIR: dir, MFA_SECRET: SECRET };
    const people = join(dir, 'people.json');
    await writeFile(people, JSON.stringify([{ alias: 'alice', email: 'alice@example.com' }]));
    await ok(['users', 'import', '--init', people], env);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const listed = async (): Promise<ListedQuestion[]> => JSON.parse(await ok(['questions', 'list', '--json'], env));

  /** Writes an answer straight into the store, as enrolment would, so that counts and removal can be seen. */
  async function answer(alias: string, questionId: string): Promise<void> {
    const store = await openMigratedStore(loadConfig({ MFA_DATA_DIR: dir, MFA_SECRET: SECRET }));
    try {
      const identity = await store.findIdentity(alias);
      assert.ok(identity, `no identity ${alias}`);
      await store.replaceAnswers(identity.id, [{ questionId, answerHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' }], Date.now());
    } finally {
      await store.close();
    }
  }

  it('says an empty catalogue is empty', async () => {
    assert.equal((await ok(['questions', 'list'], env)).trim(), '(no questions)');
    assert.deepEqual(await listed(), []);
  });

  it('adds a question with its default text, then a French text beside it', async () => {
    assert.match(await ok(['questions', 'add', '--id', 'first-pet', '--text', '  What was the name of your first pet?  '], env), /added question first-pet/);
    assert.match(await ok(['questions', 'add', '--id', 'first-pet', '--locale', 'fr', '--text', 'Quel était le nom de votre premier animal ?'], env), /updated question first-pet/);
    assert.deepEqual(await listed(), [
      { id: 'first-pet', texts: { '': 'What was the name of your first pet?', fr: 'Quel était le nom de votre premier animal ?' }, numAnswers: 0 },
    ]);
    const text = await ok(['questions', 'list'], env);
    assert.match(text, /first-pet {2}\(0 answered\)/);
    assert.match(text, /default: What was the name of your first pet\?/);
    assert.match(text, /fr: Quel était/);
  });

  it('replaces the text of one locale and leaves the others', async () => {
    await ok(['questions', 'add', '--id', 'first-pet', '--text', 'Name of your first pet?'], env);
    await ok(['questions', 'add', '--id', 'first-pet', '--locale', 'FR', '--text', 'Nom de votre premier animal ?'], env);
    assert.deepEqual(await listed(), [{ id: 'first-pet', texts: { '': 'Name of your first pet?', FR: 'Nom de votre premier animal ?' }, numAnswers: 0 }]);
  });

  it('refuses a bad id, text or locale with exit code 2, naming the problem, and writes nothing', async () => {
    const before = await listed();
    const refusals: Array<[string[], RegExp]> = [
      [['--id', 'has space', '--text', 'Fine?'], /question id/],
      [['--id', 'x'.repeat(129), '--text', 'Fine?'], /question id/],
      [['--id', 'q/slash', '--text', 'Fine?'], /question id/],
      [['--id', 'ok-id', '--text', '   '], /text is empty/],
      [['--id', 'ok-id', '--text', 'two\nlines'], /control character/],
      [['--id', 'ok-id', '--text', 'é'.repeat(501)], /longer than 500/],
      [['--id', 'ok-id', '--text', 'Fine?', '--locale', 'english'], /locale/],
      [['--id', 'ok-id', '--text', 'Fine?', '--locale', 'fr_FR'], /locale/],
      [['--id', 'first-pet', '--text', 'Fine?', '--locale', 'de-'], /locale/],
      [['--text', 'Fine?'], /--id/],
    ];
    for (const [args, message] of refusals) {
      const run = await cli(['questions', 'add', ...args], env);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
      assert.equal(run.stdout, '');
    }
    // At the limits the input is accepted.
    await ok(['questions', 'add', '--id', `A.b_c:d-${'9'.repeat(120)}`, '--text', 'é'.repeat(500), '--locale', 'zh-Hant-TW'], env);
    const after = await listed();
    assert.deepEqual(after.slice(0, before.length), before);
    assert.equal(after.length, before.length + 1);
    await ok(['questions', 'remove', `A.b_c:d-${'9'.repeat(120)}`], env);
  });

  it('counts the identities that answered, and removing a question removes its answers', async () => {
    await ok(['questions', 'add', '--id', 'birth-city', '--text', 'In which city were you born?'], env);
    await answer('alice', 'first-pet');
    const counted = await listed();
    assert.deepEqual(
      counted.map((q) => [q.id, q.numAnswers]),
      [
        ['first-pet', 1],
        ['birth-city', 0],
      ],
    );
    assert.match(await ok(['questions', 'list'], env), /first-pet {2}\(1 answered\)/);

    assert.match(await ok(['questions', 'remove', 'first-pet'], env), /removed first-pet/);
    assert.deepEqual(
      (await listed()).map((q) => q.id),
      ['birth-city'],
    );
    // Added again, it starts with no answers: the old ones went with it.
    await ok(['questions', 'add', '--id', 'first-pet', '--text', 'Name of your first pet?'], env);
    assert.equal((await listed()).find((q) => q.id === 'first-pet')?.numAnswers, 0);
  });

  it('refuses to remove an unknown question with exit code 2', async () => {
    const run = await cli(['questions', 'remove', 'no-such-question'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /no question no-such-question/);
    const bare = await cli(['questions', 'remove'], env);
    assert.equal(bare.code, 2, bare.stderr);
  });

  it('creates a personal client for an imported identity and lists it with the identity', async () => {
    const created = JSON.parse(await ok(['clients', 'create', '--name', 'Alice laptop', '--scopes', 'idn:mfa-kba:read', '--identity', 'alice', '--json'], env)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(created).sort(), ['clientId', 'clientSecret', 'identityAlias']);
    assert.equal(created['identityAlias'], 'alice');
    assert.match(String(created['clientId']), /^[0-9a-f]{32}$/);

    const service = JSON.parse(await ok(['clients', 'create', '--name', 'Portal', '--scopes', 'idn:mfa:send', '--json'], env)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(service).sort(), ['clientId', 'clientSecret']);

    const list = JSON.parse(await ok(['clients', 'list', '--json'], env)) as Array<Record<string, unknown>>;
    const personal = list.find((c) => c['clientId'] === created['clientId']);
    assert.equal(personal?.['identityAlias'], 'alice');
    assert.equal(list.find((c) => c['clientId'] === service['clientId'])?.['identityAlias'], undefined);
    // The table's ACTS FOR column names the identity; a service client shows "-" there.
    assert.match(await ok(['clients', 'list'], env), /Alice laptop +idn:mfa-kba:read +alice +\d{4}-/);
  });

  it('refuses a personal client for an unknown identity, or one holding mfa:admin, and creates nothing', async () => {
    const before = JSON.parse(await ok(['clients', 'list', '--json'], env)) as unknown[];
    const unknown = await cli(['clients', 'create', '--name', 'Ghost', '--scopes', 'idn:mfa-kba:read', '--identity', 'nobody', '--json'], env);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /nobody/);
    assert.equal(unknown.stdout, '');
    const admin = await cli(['clients', 'create', '--name', 'Escalate', '--scopes', 'mfa:admin', '--identity', 'alice', '--json'], env);
    assert.equal(admin.code, 2, admin.stderr);
    assert.match(admin.stderr, /mfa:admin/);
    assert.deepEqual(JSON.parse(await ok(['clients', 'list', '--json'], env)), before);
  });

  it('documents the new commands in the usage text', async () => {
    const usage = await ok(['--help'], env);
    assert.match(usage, /questions add --id ID --text TEXT \[--locale L\]/);
    assert.match(usage, /questions list \[--json\]/);
    assert.match(usage, /questions remove ID/);
    assert.match(usage, /--identity ALIAS/);
  });
});

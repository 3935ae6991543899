// Defends the first hour of an operator at the command line: every expected failure (bad arguments, a
// missing file, bad configuration, a database or port that cannot be used) is one line naming what to
// fix and an exit code, never a stack trace; no command silently creates an empty database elsewhere.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, ROOT, childEnv, cli, ok, type Run } from '../helpers/cli.js';

const SECRET = 'c0'.repeat(32);
const VERSION = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** Real transports (never reached at start), so `serve` prints no development banner. */
const QUIET = {
  MFA_SECRET: SECRET,
  MFA_EMAIL_TRANSPORT: 'webhook',
  MFA_SMS_TRANSPORT: 'webhook',
  MFA_VOICE_TRANSPORT: 'webhook',
  MFA_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
  MFA_WEBHOOK_SECRET: 'hook-secret',
};

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');
const firstLine = (text: string): string => lines(text)[0] ?? '';

/** The run failed with `code`, said `first` on its first stderr line, and printed no stack trace. */
function failedWith(run: Run, code: number, first: string | RegExp): void {
  assert.equal(run.code, code, `exit code ${run.code}:\n${run.stderr}`);
  if (typeof first === 'string') assert.equal(firstLine(run.stderr), first);
  else assert.match(firstLine(run.stderr), first);
  assertNoStack(run);
}

function assertNoStack(run: Run): void {
  assert.doesNotMatch(run.stderr, /\n\s+at .+[(:]\d+/, `a stack trace:\n${run.stderr}`);
}

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function closedPort(): Promise<number> {
  const { server, port } = await listening();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('mfa-controller messages', { concurrency: false }, () => {
  let root: string;
  /** A data directory whose database exists. */
  let env: Record<string, string>;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'mfa-cli-messages-'));
    env = { MFA_DATA_DIR: join(root, 'ready'), MFA_SECRET: SECRET };
    await ok(['migrate'], env);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('--version prints the version from package.json', async () => {
    const run = await cli(['--version'], {});
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `mfa-controller ${VERSION}\n`);
  });

  it('--help works on every command and group, before and without any configuration', async () => {
    const commands = [
      'serve', 'migrate', 'check', 'clients create', 'clients list', 'clients delete', 'users import', 'users list', 'users get',
      'users delete', 'users unlock', 'users reset-kba', 'users reset-totp', 'questions add', 'questions list', 'questions remove', 'keys rotate', 'outbox', 'audit',
    ];
    // A bad setting must not hide the help.
    const broken = { MFA_PORT: 'abc' };
    for (const command of commands) {
      const run = await cli([...command.split(' '), '--help'], broken);
      assert.equal(run.code, 0, `${command} --help: ${run.stderr}`);
      assert.ok(run.stdout.startsWith(`usage: mfa-controller ${command}`), `${command} --help printed:\n${run.stdout}`);
      assert.equal(run.stderr, '');
    }
    const group = await cli(['clients', '--help'], broken);
    assert.equal(group.code, 0);
    assert.deepEqual(lines(group.stdout).slice(0, 4), [
      'usage:',
      '  mfa-controller clients create --name N --scopes S[,S] [--identity ALIAS] [--json]',
      '  mfa-controller clients list [--json]',
      '  mfa-controller clients delete CLIENT_ID',
    ]);
    const overview = await cli(['--help'], broken);
    assert.equal(overview.code, 0);
    for (const command of commands) assert.ok(overview.stdout.includes(`  ${command}`), `the overview lacks ${command}`);
  });

  it('an unknown option names itself, then the usage of the command', async () => {
    const run = await cli(['clients', 'create', '--name', 'x', '--scopes', 'idn:mfa:send', '--colour'], env);
    failedWith(run, 2, 'mfa-controller: clients create: unknown option --colour');
    assert.match(run.stderr, /\nusage: mfa-controller clients create --name N/);
    assert.equal(run.stdout, '');
  });

  it('an option without its value, and an argument too many, are one line each', async () => {
    failedWith(await cli(['clients', 'create', '--name'], env), 2, 'mfa-controller: clients create: option --name needs a value');
    failedWith(await cli(['users', 'get', 'alice', 'bob'], env), 2, 'mfa-controller: users get: unexpected argument "bob"');
    failedWith(await cli(['users', 'get'], env), 2, 'mfa-controller: users get: missing ALIAS');
    failedWith(await cli(['clients', 'frobnicate'], env), 2, 'mfa-controller: clients: unknown command frobnicate; expected create, list, delete or disable');
    failedWith(await cli(['frobnicate'], env), 2, 'mfa-controller: unknown command frobnicate');
  });

  it('a file that is missing or cannot be read is one line naming it', async () => {
    const missing = join(root, 'absent.csv');
    failedWith(await cli(['users', 'import', missing], env), 2, `mfa-controller: cannot read ${missing}: no such file (ENOENT)`);
    const directory = join(root, 'a-directory.json');
    await mkdir(directory, { recursive: true });
    failedWith(await cli(['users', 'import', directory], env), 2, `mfa-controller: cannot read ${directory}: it is a directory (EISDIR)`);
  });

  it('outbox --last takes only a positive whole number', async () => {
    for (const bad of ['abc', '0', '-1', '2x']) {
      const run = await cli(['outbox', `--last=${bad}`], env);
      failedWith(run, 2, `mfa-controller: --last must be a whole number from 1 to 1000000, got "${bad}"`);
      assert.equal(run.stdout, '');
    }
  });

  it('outbox shows each message with its request id, and --last N the newest N', async () => {
    const dataDir = join(root, 'outbox');
    await mkdir(dataDir);
    const entry = (n: number) => JSON.stringify({ at: `2026-01-01T00:00:0${n}.000Z`, channel: 'email', to: `p${n}@example.com`, subject: 'Code', body: `code ${n}`, requestId: `req-${n}` });
    await writeFile(join(dataDir, 'outbox.jsonl'), `${[1, 2, 3].map(entry).join('\n')}\n`);
    const shown = await ok(['outbox', '--last', '2'], { MFA_DATA_DIR: dataDir });
    assert.doesNotMatch(shown, /p1@example\.com/);
    assert.match(shown, /^\[2026-01-01T00:00:02\.000Z\] email to p2@example\.com — Code \(request req-2\)$/m);
    assert.match(shown, /\(request req-3\)/);
    const json = JSON.parse(await ok(['outbox', '--json', '--last', '1'], { MFA_DATA_DIR: dataDir })) as Array<{ requestId: string }>;
    assert.deepEqual(json.map((e) => e.requestId), ['req-3']);
  });

  it('refuses to create a database without --init, saying where, and creates it with --init', async () => {
    const dataDir = join(root, 'fresh', 'data');
    const database = join(dataDir, 'mfa.sqlite');
    const refused = await cli(['clients', 'list'], { MFA_DATA_DIR: dataDir, MFA_SECRET: SECRET });
    failedWith(refused, 2, `mfa-controller: no database at ${database}: run the command again with --init to create a new one there, or start the server once; if the database is elsewhere, set MFA_DATA_DIR or MFA_DATABASE_URL`);
    assert.equal(existsSync(dataDir), false, 'the data directory was created anyway');

    const created = await cli(['clients', 'list', '--init'], { MFA_DATA_DIR: dataDir, MFA_SECRET: SECRET });
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(lines(created.stderr), [`mfa-controller: created a new database at ${database}`, `(database ${database} (SQLite), data directory ${dataDir})`]);
    assert.ok(existsSync(database));
  });

  it('every command says which database and data directory it used', async () => {
    const run = await cli(['users', 'list'], env);
    assert.equal(run.code, 0, run.stderr);
    const dataDir = env['MFA_DATA_DIR']!;
    assert.equal(run.stderr, `(database ${join(dataDir, 'mfa.sqlite')} (SQLite), data directory ${dataDir})\n`);
    // After a failure too: the failure first, then where.
    const missing = await cli(['users', 'get', 'nobody'], env);
    assert.deepEqual(lines(missing.stderr), ['mfa-controller: no identity nobody', `(database ${join(dataDir, 'mfa.sqlite')} (SQLite), data directory ${dataDir})`]);
  });

  it('clients list has a header row', async () => {
    const dataDir = join(root, 'clients');
    const local = { MFA_DATA_DIR: dataDir, MFA_SECRET: SECRET };
    assert.equal((await ok(['clients', 'list', '--init'], local)).trim(), '(no clients)');
    await ok(['clients', 'create', '--name', 'Portal', '--scopes', 'idn:mfa:send'], local);
    const [header, row, ...rest] = lines(await ok(['clients', 'list'], local));
    assert.match(header!, /^CLIENT ID +NAME +SCOPES +ACTS FOR +CREATED$/);
    assert.match(row!, /^[0-9a-f]{32} +Portal +idn:mfa:send +- +\d{4}-\d\d-\d\dT/);
    assert.deepEqual(rest, []);
    // The columns line up under the header.
    assert.equal(row!.indexOf('Portal'), header!.indexOf('NAME'));
  });

  it('warns about an unknown MFA_* variable, naming the closest setting, and goes on', async () => {
    const run = await cli(['users', 'list'], { ...env, MFA_SMTP_ULR: 'smtp://mail.example.com' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(firstLine(run.stderr), 'mfa-controller: warning: unknown variable MFA_SMTP_ULR is ignored; did you mean MFA_SMTP_URL?');
  });

  it('production mode lists every missing or unsafe setting at once', async () => {
    const run = await cli(['users', 'list'], { ...env, MFA_MODE: 'production', MFA_SECRET: '' });
    assert.equal(run.code, 2);
    assert.deepEqual(lines(run.stderr), [
      'configuration error: MFA_EMAIL_TRANSPORT: the local outbox is for development; choose a real transport in production mode',
      'configuration error: MFA_SMS_TRANSPORT: the local outbox is for development; choose a real transport in production mode',
      'configuration error: MFA_VOICE_TRANSPORT: the local outbox is for development; choose a real transport in production mode',
      'configuration error: MFA_SECRET: is required in production mode',
      'configuration error: MFA_PUBLIC_URL: is required in production mode (the address callers reach the service at, and the issuer of its access tokens)',
    ]);
  });

  it('a PostgreSQL server that refuses the connection is one line naming MFA_DATABASE_URL, for commands and serve', async () => {
    const port = await closedPort();
    const url = `postgres://mfa:not-shown@127.0.0.1:${port}/mfa`;
    const expected = `mfa-controller: MFA_DATABASE_URL: cannot open postgres://mfa:***@127.0.0.1:${port}/mfa: connection refused by 127.0.0.1:${port} (ECONNREFUSED): is PostgreSQL running and listening there?`;
    const listed = await cli(['clients', 'list'], { ...env, MFA_DATABASE_URL: url });
    failedWith(listed, 1, expected);
    assert.doesNotMatch(listed.stderr, /not-shown/);
    const served = await cli(['serve'], { ...QUIET, MFA_DATA_DIR: join(root, 'serve-db'), MFA_DATABASE_URL: url, MFA_PORT: '0' });
    failedWith(served, 1, expected);
  });

  const postgres = process.env['MFA_TEST_DATABASE_URL'];
  it('a database that does not exist, and a login that is refused, are one line each', { skip: postgres ? false : 'MFA_TEST_DATABASE_URL is not set' }, async () => {
    const base = new URL(postgres!);
    const absent = new URL(base);
    absent.pathname = '/mfa_no_such_database';
    failedWith(await cli(['clients', 'list'], { ...env, MFA_DATABASE_URL: absent.toString() }), 1, /^mfa-controller: MFA_DATABASE_URL: cannot open .*: the database does not exist \(database "mfa_no_such_database" does not exist; 3D000\)$/);
    const stranger = new URL(base);
    stranger.username = 'mfa_no_such_role';
    stranger.password = 'secret-password';
    const refused = await cli(['clients', 'list'], { ...env, MFA_DATABASE_URL: stranger.toString() });
    failedWith(refused, 1, /^mfa-controller: MFA_DATABASE_URL: cannot open postgres:\/\/mfa_no_such_role:\*\*\*@.*: the login was refused \(.*; 28(000|P01)\)$/);
    assert.doesNotMatch(refused.stderr, /secret-password/);
  });

  it('a port already in use is one line naming MFA_PORT', async () => {
    const { server, port } = await listening();
    try {
      const run = await cli(['serve'], { ...QUIET, MFA_DATA_DIR: env['MFA_DATA_DIR']!, MFA_HOST: '127.0.0.1', MFA_PORT: String(port) });
      failedWith(run, 1, `mfa-controller: MFA_PORT: port ${port} on 127.0.0.1 is already in use by another process (EADDRINUSE)`);
    } finally {
      await close(server);
    }
  });

  it('an address that is not this machine\'s is one line naming MFA_HOST', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a real interface.
    const run = await cli(['serve'], { ...QUIET, MFA_DATA_DIR: env['MFA_DATA_DIR']!, MFA_HOST: '192.0.2.1', MFA_PORT: '0' });
    failedWith(run, 1, 'mfa-controller: MFA_HOST: 192.0.2.1 is not an address of this machine (EADDRNOTAVAIL)');
  });

  it('serve says where it listens and which database it uses, reminds of MFA_EXPLICIT_ERRORS, and warns loudly when Redis is away', async () => {
    const dataDir = join(root, 'serve');
    const redisPort = await closedPort();
    const port = await closedPort();
    const child = spawn(process.execPath, [...CLI, 'serve'], {
      cwd: ROOT,
      env: childEnv({ MFA_DATA_DIR: dataDir, MFA_HOST: '127.0.0.1', MFA_PORT: String(port), MFA_REDIS_URL: `redis://127.0.0.1:${redisPort}` }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    try {
      const started = `mfa-controller ${VERSION} listening on http://127.0.0.1:${port} (public URL http://127.0.0.1:${port}); database ${join(dataDir, 'mfa.sqlite')} (SQLite), data directory ${dataDir}`;
      await waitFor(() => stderr.includes(started) || child.exitCode !== null, 60_000);
      assert.ok(stderr.includes(started), stderr);
      assert.match(stderr, /^!! A send that produced no message \(unknown alias, no address\)\? MFA_EXPLICIT_ERRORS=true says why\.$/m);
      assert.match(stderr, new RegExp(`^!! MFA_REDIS_URL: Redis cannot be reached \\(ECONNREFUSED\\); rate-limited requests fail and /health/ready answers 503 until it can$`, 'm'));
      assert.match(stderr, new RegExp(`^mfa-controller: created a new database at ${join(dataDir, 'mfa.sqlite').replace(/[.]/g, '\\.')}$`, 'm'));
      assert.equal((await fetch(`http://127.0.0.1:${port}/health/ready`)).status, 503);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

async function waitFor(condition: () => boolean, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
}

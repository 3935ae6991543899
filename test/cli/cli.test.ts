// Defends the command line as operators use it: client secrets are printed once and never stored in clear, imports are all or nothing with every bad line named, bad configuration stops with exit 2, and `serve` warns about development defaults and drains requests in flight on SIGTERM before exiting 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digest } from '../../src/core/secrets.js';
import { CLI, ROOT, childEnv, cli, ok } from '../helpers/cli.js';
import { CHILD_DEADLINE_MS, sleep } from '../helpers/wait.js';

const SECRET = 'c0'.repeat(32);


const tempDir = (prefix: string): Promise<string> => mkdtemp(join(tmpdir(), prefix));

/** Every byte of every file in the data directory: the SQLite file and its WAL, if any. */
async function dataDirBytes(dir: string): Promise<Buffer> {
  const names = await readdir(dir);
  return Buffer.concat(await Promise.all(names.map((name) => readFile(join(dir, name)))));
}

describe('mfa-controller CLI', { concurrency: true }, () => {
  describe('clients', { concurrency: false }, () => {
    let dir: string;
    let env: Record<string, string>;
    let created: { clientId: string; clientSecret: string };

    before(async () => {
      dir = await tempDir('mfa-cli-clients-');
      env = { MFA_DATA_DIR: dir, MFA_SECRET: SECRET };
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('create --json prints exactly the client id and secret', async () => {
      // The first command on a new data directory creates the database only when asked to.
      const stdout = await ok(['clients', 'create', '--init', '--name', 'Portal', '--scopes', 'idn:mfa:send,idn:mfa:poll', '--json'], env);
      const printed = JSON.parse(stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(printed).sort(), ['clientId', 'clientSecret']);
      assert.match(String(printed['clientId']), /^[0-9a-f]{32}$/);
      assert.match(String(printed['clientSecret']), /^[A-Za-z0-9_-]{43}$/);
      created = printed as typeof created;
    });

    it('stores no clear copy of the secret in the SQLite file', async () => {
      const bytes = await dataDirBytes(dir);
      // The digest is there, so this is the file the client went into.
      assert.ok(bytes.includes(digest(created.clientSecret)), 'the client digest is not in the data directory');
      assert.ok(!bytes.includes(created.clientSecret), 'the secret is stored in clear');
      assert.ok(!bytes.includes(Buffer.from(created.clientSecret, 'base64url')), 'the secret is stored as raw bytes');
      assert.ok(!bytes.includes(Buffer.from(created.clientSecret, 'base64url').toString('hex')), 'the secret is stored as hex');
    });

    it('list --json shows the client without its secret', async () => {
      const stdout = await ok(['clients', 'list', '--json'], env);
      const list = JSON.parse(stdout) as Array<Record<string, unknown>>;
      assert.equal(list.length, 1);
      assert.deepEqual(Object.keys(list[0]!).sort(), ['clientId', 'created', 'name', 'scopes']);
      assert.equal(list[0]!['clientId'], created.clientId);
      assert.equal(list[0]!['name'], 'Portal');
      assert.deepEqual(list[0]!['scopes'], ['idn:mfa:send', 'idn:mfa:poll']);
      assert.ok(!stdout.includes(created.clientSecret));
      assert.ok(!stdout.includes(digest(created.clientSecret)));
    });

    it('refuses an unknown scope with exit code 2, naming it, and creates nothing', async () => {
      const run = await cli(['clients', 'create', '--name', 'Bad', '--scopes', 'idn:mfa:send,idn:mfa:everything', '--json'], env);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /idn:mfa:everything/);
      assert.equal(run.stdout, '');
      const list = JSON.parse(await ok(['clients', 'list', '--json'], env)) as unknown[];
      assert.equal(list.length, 1);
    });

    it('refuses create without --scopes with exit code 2', async () => {
      const run = await cli(['clients', 'create', '--name', 'NoScopes'], env);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /--scopes/);
    });
  });

  describe('users', { concurrency: false }, () => {
    let dir: string;
    let env: Record<string, string>;

    before(async () => {
      dir = await tempDir('mfa-cli-users-');
      env = { MFA_DATA_DIR: dir, MFA_SECRET: SECRET };
    });
    after(() => rm(dir, { recursive: true, force: true }));

    const listed = async (): Promise<Array<{ alias: string; status: string; attributes: Record<string, string> }>> =>
      JSON.parse(await ok(['users', 'list', '--json'], env));

    it('imports a JSON file', async () => {
      const file = join(dir, 'people.json');
      await writeFile(
        file,
        JSON.stringify([
          { alias: 'alice', email: 'alice@example.com', department: 'R&D' },
          { alias: 'bob', status: 'disabled', attributes: { phone: '+1 (415) 555-0123' } },
        ]),
      );
      const stdout = await ok(['users', 'import', '--init', file], env);
      assert.match(stdout, /imported 2 identities \(2 created, 0 updated\)/);
    });

    it('imports a CSV file with quoted fields', async () => {
      const file = join(dir, 'people.csv');
      const csv = ['alias,email,department,title', 'carol,carol@example.com,"Sales, EMEA","The ""Boss"""', '"dave",dave@example.com,,"Ops"', 'alice,alice@corp.example,"R&D",'].join('\r\n');
      await writeFile(file, `${csv}\r\n`);
      const stdout = await ok(['users', 'import', file], env);
      assert.match(stdout, /imported 3 identities \(2 created, 1 updated\)/);
    });

    it('list --json and get --json show every identity with its attributes', async () => {
      const all = await listed();
      assert.deepEqual(
        all.map((i) => i.alias),
        ['alice', 'bob', 'carol', 'dave'],
      );
      const carol = all.find((i) => i.alias === 'carol');
      assert.deepEqual(carol?.attributes, { email: 'carol@example.com', department: 'Sales, EMEA', title: 'The "Boss"' });

      const bob = JSON.parse(await ok(['users', 'get', 'bob', '--json'], env)) as { alias: string; status: string; attributes: Record<string, string> };
      assert.equal(bob.alias, 'bob');
      assert.equal(bob.status, 'disabled');
      assert.deepEqual(bob.attributes, { phone: '+14155550123' });

      const alice = JSON.parse(await ok(['users', 'get', 'alice', '--json'], env)) as { attributes: Record<string, string> };
      assert.deepEqual(alice.attributes, { email: 'alice@corp.example', department: 'R&D' });

      const missing = await cli(['users', 'get', 'nobody', '--json'], env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /nobody/);
    });

    it('refuses a file with bad rows, naming every bad line, and imports nothing from it', async () => {
      const before = await listed();
      const file = join(dir, 'bad.csv');
      await writeFile(file, ['alias,email', 'erin,erin@example.com', 'frank,not-an-email', 'grace,grace@example.com', ',nobody@example.com', 'heidi,heidi@example.com', ''].join('\n'));
      const run = await cli(['users', 'import', file], env);
      assert.notEqual(run.code, 0);
      const lines = [...run.stderr.matchAll(/bad\.csv:(\d+):/g)].map((m) => Number(m[1]));
      assert.deepEqual(lines, [3, 5], run.stderr);
      assert.match(run.stderr, /nothing was imported/);
      assert.deepEqual(await listed(), before);
    });
  });

  describe('outbox and configuration', () => {
    it('says an empty outbox is empty', async () => {
      const dir = await tempDir('mfa-cli-outbox-');
      try {
        assert.equal((await ok(['outbox'], { MFA_DATA_DIR: dir })).trim(), '(the outbox is empty)');
        assert.deepEqual(JSON.parse(await ok(['outbox', '--json'], { MFA_DATA_DIR: dir })), []);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('stops with exit code 2 naming the variable when a setting is bad', async () => {
      const dir = await tempDir('mfa-cli-config-');
      try {
        for (const args of [['serve'], ['clients', 'list']]) {
          const run = await cli(args, { MFA_DATA_DIR: dir, MFA_PORT: 'abc' });
          assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
          assert.match(run.stderr, /configuration error: MFA_PORT\b/);
          assert.equal(run.stdout, '');
        }
        const unknown = await cli(['frobnicate'], { MFA_DATA_DIR: dir });
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /unknown command frobnicate/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('serve', { concurrency: false }, () => {
    it('warns about the generated secret, answers, and exits 0 on SIGTERM', async () => {
      const dir = await tempDir('mfa-cli-serve-');
      const server = await startServe({ MFA_DATA_DIR: dir });
      try {
        await server.live;
        assert.match(server.stderr(), /development defaults/);
        assert.match(server.stderr(), /MFA_SECRET/);
        server.child.kill('SIGTERM');
        // 0, not 1: it stopped by itself, before the shutdown grace period (10 s) forced it out.
        assert.equal(await exitOf(server.child), 0);
      } finally {
        server.child.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('writes access lines to standard output while quiet (no more output needed), and those still held at SIGTERM', async () => {
      const dir = await tempDir('mfa-cli-log-');
      const server = await startServe({ MFA_DATA_DIR: dir, MFA_SECRET: SECRET });
      const logged = (url: string) => server.stdout().includes(`"url":"${url}"`);
      try {
        await server.live;
        assert.equal((await fetch(`${server.baseUrl}/health/ready?quiet`)).status, 200);
        // Nothing else is logged after it: the line must come out of the buffer on its own.
        const deadline = Date.now() + CHILD_DEADLINE_MS;
        while (!logged('/health/ready?quiet') && Date.now() < deadline) await sleep(20);
        assert.ok(logged('/health/ready?quiet'), `no access line for a lone request:\n${server.stdout()}`);

        const urls = ['/health/ready?last=1', '/health/ready?last=2', '/health/ready?last=3'];
        for (const url of urls) assert.equal((await fetch(`${server.baseUrl}${url}`)).status, 200);
        const closed = once(server.child, 'close');
        server.child.kill('SIGTERM');
        assert.equal(await exitOf(server.child), 0);
        await closed;
        for (const url of urls) assert.ok(logged(url), `no access line for ${url} after exit:\n${server.stdout()}`);
      } finally {
        server.child.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('completes a send in flight when SIGTERM arrives, then exits 0', async () => {
      const dir = await tempDir('mfa-cli-drain-');
      const hook = await startSlowWebhook(1000);
      const env = {
        MFA_DATA_DIR: dir,
        MFA_SECRET: SECRET,
        MFA_EMAIL_TRANSPORT: 'webhook',
        MFA_WEBHOOK_URL: `${hook.url}/deliver`,
        MFA_WEBHOOK_SECRET: 'webhook-signing-secret',
      };
      let server: Serve | undefined;
      try {
        const { clientId, clientSecret } = JSON.parse(await ok(['clients', 'create', '--init', '--name', 'Drain', '--scopes', 'idn:mfa:send', '--json'], env)) as {
          clientId: string;
          clientSecret: string;
        };
        const people = join(dir, 'people.json');
        await writeFile(people, JSON.stringify([{ alias: 'alice', email: 'alice@example.com' }]));
        await ok(['users', 'import', people], env);

        server = await startServe(env);
        await server.live;
        // A secret is configured: the banner names only the outbox transports left.
        assert.doesNotMatch(server.stderr(), /MFA_SECRET/);

        const grant = await fetch(`${server.baseUrl}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
        });
        assert.equal(grant.status, 200);
        const { access_token: token } = (await grant.json()) as { access_token: string };

        const send = fetch(`${server.baseUrl}/v3/mfa/token/send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ userAlias: 'alice', deliveryType: 'EMAIL_WORK' }),
        });
        const delivered = await hook.received;
        server.child.kill('SIGTERM');

        const response = await send;
        const body = (await response.json()) as { requestId: string | null; status: string; errorMessage: string | null };
        assert.equal(response.status, 200, JSON.stringify(body));
        assert.equal(body.status, 'SUCCESS', JSON.stringify(body));
        assert.equal(body.errorMessage, null);
        assert.equal(typeof body.requestId, 'string');
        assert.equal(JSON.parse(delivered.body).to, 'alice@example.com');

        // 0, not 1: the drain finished before the shutdown grace period (10 s) forced the process out.
        assert.equal(await exitOf(server.child), 0);
      } finally {
        server?.child.kill('SIGKILL');
        await hook.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Helpers for `serve`

interface Serve {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  /** Resolves once /health/live answers 200; rejects if the process exits first or is not live by the deadline. */
  readonly live: Promise<void>;
  stderr(): string;
  /** Standard output so far (the JSON log), its last 256 KiB. */
  stdout(): string;
}

async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function startServe(env: Record<string, string>): Promise<Serve> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...CLI, 'serve'], { cwd: ROOT, env: childEnv({ ...env, MFA_PORT: String(port), MFA_HOST: '127.0.0.1' }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let stdout = '';
  // The JSON log, drained so the pipe never fills.
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-256 * 1024)));
  const live = (async () => {
    const deadline = Date.now() + CHILD_DEADLINE_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}:\n${stderr}`);
      const status = await fetch(`${baseUrl}/health/live`).then((response) => response.status, () => 0);
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`serve did not answer /health/live within ${CHILD_DEADLINE_MS} ms:\n${stderr}`);
      await sleep(100);
    }
  })();
  return { child, baseUrl, live, stderr: () => stderr, stdout: () => stdout };
}

/** The exit code (-1 for a signal), or a failure if the process is still running at the deadline. */
function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the process did not exit within ${CHILD_DEADLINE_MS} ms of SIGTERM`)), CHILD_DEADLINE_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? -1 : null));
    });
  });
}

interface SlowWebhook {
  readonly url: string;
  /** The first delivery, as soon as it arrives (before it is answered). */
  readonly received: Promise<{ body: string }>;
  close(): Promise<void>;
}

async function startSlowWebhook(delayMs: number): Promise<SlowWebhook> {
  let arrived!: (value: { body: string }) => void;
  const received = new Promise<{ body: string }>((resolve) => (arrived = resolve));
  const server = createHttpServer((request: IncomingMessage, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      arrived({ body });
      setTimeout(() => response.writeHead(204).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

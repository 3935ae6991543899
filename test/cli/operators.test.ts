// Defends `operators create`: it adds an operator of the console, sends the enrolment link through the
// configured delivery (the outbox), prints it, and the printed link is one a server on the same
// database and secret accepts, once. Mistakes (no email, an unknown role) are one line and exit 2.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readOutbox } from '../../src/delivery/outbox.js';
import { cli, ok } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';

const SECRET = 'e2'.repeat(32);

describe('mfa-controller operators create', { concurrency: false }, () => {
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfa-cli-operators-'));
    env = { MFA_DATA_DIR: dir, MFA_SECRET: SECRET, MFA_PUBLIC_URL: 'https://mfa.example.com' };
    await ok(['migrate'], env);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('prints a single-use enrolment link, sends it to the operator, and a server accepts it', async () => {
    const run = await cli(['operators', 'create', '--email', 'Ops@Example.com', '--role', 'viewer'], env);
    assert.equal(run.code, 0, run.stderr);
    const link = run.stdout.trim();
    assert.match(link, /^https:\/\/mfa\.example\.com\/console\/enrol#[A-Za-z0-9_-]{43}$/);
    assert.match(run.stderr, /operator ops@example\.com \(viewer\); link sent to o\*\*\*@example\.com; it works once, until \d{4}-/);
    const mail = (await readOutbox(dir)).filter((m) => m.to === 'ops@example.com');
    assert.equal(mail.length, 1);
    assert.ok(mail[0]!.body.includes(link));

    const server = await startServer({ env: { MFA_DATA_DIR: dir, MFA_SECRET: SECRET } });
    try {
      const page = await fetch(`${server.baseUrl}/console/enrol`);
      const cookie = page.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
      const csrf = /data-csrf="([^"]+)"/.exec(await page.text())![1]!;
      const options = await fetch(`${server.baseUrl}/console/enrol/options`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: server.baseUrl, cookie, 'x-csrf-token': csrf },
        body: JSON.stringify({ token: link.split('#')[1] }),
      });
      assert.equal(options.status, 200);
      const body = (await options.json()) as { options: { user: { name: string } } };
      assert.equal(body.options.user.name, 'ops@example.com');
    } finally {
      await server.close();
    }

    // Again for the same email: a new link (the old one stops working), the role as now given.
    const again = JSON.parse(await ok(['operators', 'create', '--email', 'ops@example.com', '--json'], env)) as Record<string, unknown>;
    assert.deepEqual([again['email'], again['role'], again['delivered']], ['ops@example.com', 'admin', true]);
    assert.notEqual(again['link'], link);
  });

  it('refuses a missing email, a bad email and an unknown role with one line and exit 2', async () => {
    for (const [args, message] of [
      [['operators', 'create'], /--email is required/],
      [['operators', 'create', '--email', 'ops@example.com', '--role', 'root'], /--role must be admin or viewer/],
      [['operators', 'create', '--email', 'not an address'], /The email address is not valid/],
    ] as const) {
      const run = await cli([...args], env);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });
});

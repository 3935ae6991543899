// Defends `users invite`: it sends the invitation through the configured delivery (the outbox), prints
// the link, and the link it prints signs the person in to a server on the same database and secret,
// once. Operator mistakes (unknown alias, no email) are one line and exit 2.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readOutbox } from '../../src/delivery/outbox.js';
import { cli, ok } from '../helpers/cli.js';
import { PortalBrowser } from '../helpers/portal.js';
import { startServer } from '../helpers/server.js';

const SECRET = 'd1'.repeat(32);

describe('mfa-controller users invite', { concurrency: false }, () => {
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfa-cli-invite-'));
    env = { MFA_DATA_DIR: dir, MFA_SECRET: SECRET, MFA_PUBLIC_URL: 'https://mfa.example.com' };
    const people = join(dir, 'people.json');
    await writeFile(people, JSON.stringify([{ alias: 'alice', email: 'alice@example.com', locale: 'de' }, { alias: 'bob', phone: '+15555550100' }]));
    await ok(['users', 'import', '--init', people], env);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('sends the invitation to the outbox and prints the link, which signs in once', async () => {
    const run = await cli(['users', 'invite', 'alice'], env);
    assert.equal(run.code, 0, run.stderr);
    const link = run.stdout.trim();
    assert.match(link, /^https:\/\/mfa\.example\.com\/portal\/invitation#[A-Za-z0-9_-]{43}$/);
    assert.match(run.stderr, /sent to a\*\*\*@example\.com; the link works once, until \d{4}-/);
    const mail = (await readOutbox(dir)).filter((m) => m.to === 'alice@example.com');
    assert.equal(mail.length, 1);
    assert.ok(mail[0]!.body.includes(link));
    assert.match(mail[0]!.subject, /Anmeldeverfahren/, 'in the person\'s language');

    const server = await startServer({ env: { MFA_DATA_DIR: dir, MFA_SECRET: SECRET } });
    try {
      const browser = new PortalBrowser(server);
      const token = link.slice(link.indexOf('#') + 1);
      await browser.get('/portal/invitation');
      const first = await browser.post('/portal/invitation', { invitation: token });
      assert.equal(first.status, 303, first.text);
      assert.equal(first.location, '/portal?done=welcome');
      const again = new PortalBrowser(server);
      await again.get('/portal/invitation');
      assert.equal((await again.post('/portal/invitation', { invitation: token })).status, 400, 'the link works once');
    } finally {
      await server.close();
    }
  });

  it('answers --json with the link, its expiry and the masked address', async () => {
    const out = JSON.parse(await ok(['users', 'invite', 'alice', '--json'], env)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out).sort(), ['alias', 'delivered', 'expires', 'link', 'sentTo']);
    assert.equal(out['sentTo'], 'a***@example.com');
    assert.equal(out['delivered'], true);
  });

  it('refuses an unknown alias and one without email in one line, exit 2, sending nothing', async () => {
    const before = (await readOutbox(dir)).length;
    const unknown = await cli(['users', 'invite', 'nobody'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No identity with alias nobody/);
    const noMail = await cli(['users', 'invite', 'bob'], env);
    assert.equal(noMail.code, 2);
    assert.match(noMail.stderr, /no email attribute/);
    assert.equal((await readOutbox(dir)).length, before);
  });
});

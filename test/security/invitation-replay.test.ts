// Defends invitations against replay: a link opened a second time (by the person, by a mail scanner, by
// whoever saw it), opened by several at the same moment, kept past its lifetime, or withdrawn by a
// newer invitation, signs nobody in; and the database holds no usable link.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { PORTAL_TEST_ENV, PortalBrowser, invite, tableRows } from '../helpers/portal.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

const TTL_SECONDS = 3600;

describeEachDatabase('invitation replay', ({ postgres }) => {
  let server: TestServer;
  let offsetMs = 0;
  let n = 0;
  const clock = { now: () => Date.now() + offsetMs };

  before(async () => {
    server = await startServer({ postgres, clock, env: { ...PORTAL_TEST_ENV, MFA_PORTAL_INVITATION_TTL_SECONDS: String(TTL_SECONDS) } });
  });
  after(() => server?.close());

  async function person(): Promise<string> {
    const alias = `replay.${++n}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    return alias;
  }

  async function open(token: string): Promise<{ status: number; signedIn: boolean; text: string }> {
    const browser = new PortalBrowser(server);
    await browser.get('/portal/invitation');
    const answer = await browser.post('/portal/invitation', { invitation: token });
    return { status: answer.status, signedIn: browser.sessionCookie !== undefined, text: answer.text };
  }

  it('signs in on the first opening and refuses the second', async () => {
    const { token } = await invite(server, await person());
    const first = await open(token);
    assert.equal(first.status, 303);
    assert.equal(first.signedIn, true);
    const second = await open(token);
    assert.equal(second.status, 400);
    assert.equal(second.signedIn, false);
    assert.match(second.text, /cannot be used/);
  });

  it('signs in exactly once when ten browsers open the link at the same moment', async () => {
    const { token } = await invite(server, await person());
    const results = await Promise.all(Array.from({ length: 10 }, () => open(token)));
    assert.equal(results.filter((r) => r.signedIn).length, 1);
    assert.equal(results.filter((r) => r.status === 400).length, 9);
  });

  it('refuses the link once its lifetime is over', async () => {
    const { token } = await invite(server, await person());
    offsetMs += TTL_SECONDS * 1000;
    try {
      assert.equal((await open(token)).signedIn, false);
    } finally {
      offsetMs -= TTL_SECONDS * 1000;
    }
  });

  it('refuses an earlier link once a newer one was sent', async () => {
    const alias = await person();
    const older = await invite(server, alias);
    const newer = await invite(server, alias);
    assert.equal((await open(older.token)).signedIn, false);
    assert.equal((await open(newer.token)).signedIn, true);
  });

  it('refuses the link of an identity disabled or deleted since', async () => {
    const disabled = await person();
    const first = await invite(server, disabled);
    await server.runtime.store.upsertIdentities([{ alias: disabled, status: 'disabled', attributes: { email: `${disabled}@example.com` } }], () => 'unused', clock.now());
    assert.equal((await open(first.token)).signedIn, false);
    const deleted = await person();
    const second = await invite(server, deleted);
    await server.runtime.store.deleteIdentity(deleted);
    assert.equal((await open(second.token)).signedIn, false);
  });

  it('keeps only keyed hashes of links: a stored row opens nothing', async () => {
    const { token } = await invite(server, await person());
    const rows = await tableRows(server, 'portal_invitations');
    assert.ok(!JSON.stringify(rows).includes(token), 'the token is not in the database');
    const stored = String(rows.find((r) => typeof r['token_hash'] === 'string')!['token_hash']);
    assert.equal((await open(stored)).signedIn, false);
    assert.equal((await open(token)).signedIn, true);
  });
});

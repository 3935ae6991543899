// Defends portal sessions against fixation and theft of the database: an attacker who plants a session
// cookie in the victim's browser before the victim signs in (a value of their choosing, or their own
// signed-in session) must not end up holding the victim's session; and a copy of the database must not
// hold a usable session secret.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { PORTAL_TEST_ENV, PortalBrowser, invite, lastCodeTo, signedInByInvitation, tableRows } from '../helpers/portal.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

describeEachDatabase('portal session fixation', ({ postgres }) => {
  let server: TestServer;
  let n = 0;

  before(async () => {
    server = await startServer({ postgres, env: PORTAL_TEST_ENV });
  });
  after(() => server?.close());

  async function person(): Promise<{ alias: string; email: string }> {
    const alias = `fixation.${++n}`;
    const email = `${alias}@example.com`;
    await server.addIdentity(alias, { email });
    return { alias, email };
  }

  it('never adopts a session id planted before sign-in by invitation', async () => {
    const { alias } = await person();
    const planted = 'P'.repeat(43);
    const victim = new PortalBrowser(server);
    victim.cookies.set('mfa-portal', planted);
    await victim.get('/portal/invitation');
    const { token } = await invite(server, alias);
    assert.equal((await victim.post('/portal/invitation', { invitation: token })).status, 303);
    assert.ok(victim.sessionCookie);
    assert.notEqual(victim.sessionCookie, planted, 'a new session id on sign-in');
    const attacker = new PortalBrowser(server);
    attacker.cookies.set('mfa-portal', planted);
    const answer = await attacker.get('/portal');
    assert.equal(answer.status, 303, 'the planted id signs nobody in');
    assert.match(answer.location ?? '', /^\/portal\/sign-in/);
  });

  it('never adopts a session id planted before sign-in with a code', async () => {
    const { alias, email } = await person();
    const planted = 'Q'.repeat(43);
    const victim = new PortalBrowser(server);
    victim.cookies.set('mfa-portal', planted);
    await victim.get('/portal/sign-in');
    await victim.post('/portal/sign-in', { alias });
    assert.equal((await victim.post('/portal/sign-in/code', { alias, code: await lastCodeTo(server, email) })).status, 303);
    assert.notEqual(victim.sessionCookie, planted);
    const attacker = new PortalBrowser(server);
    attacker.cookies.set('mfa-portal', planted);
    assert.equal((await attacker.get('/portal')).status, 303);
  });

  it("ends the attacker's own session when it was planted and the victim signs in over it", async () => {
    const attacker = await signedInByInvitation(server, (await person()).alias);
    const victimIdentity = await person();
    const victim = new PortalBrowser(server);
    victim.cookies.set('mfa-portal', attacker.sessionCookie!);
    await victim.get('/portal/invitation');
    const { token } = await invite(server, victimIdentity.alias);
    assert.equal((await victim.post('/portal/invitation', { invitation: token })).status, 303);
    assert.notEqual(victim.sessionCookie, attacker.sessionCookie);
    const page = await victim.get('/portal');
    assert.match(page.text, new RegExp(`Signed in as ${victimIdentity.alias.replace('.', '\\.')}`));
    assert.equal((await attacker.get('/portal')).status, 303, 'the replaced session is over');
  });

  it('gives every sign-in a new unpredictable id and keeps only its keyed hash', async () => {
    const { alias } = await person();
    const first = await signedInByInvitation(server, alias);
    const second = await signedInByInvitation(server, alias);
    assert.notEqual(first.sessionCookie, second.sessionCookie);
    for (const browser of [first, second]) assert.match(browser.sessionCookie!, /^[A-Za-z0-9_-]{43}$/);
    const stored = JSON.stringify(await tableRows(server, 'portal_sessions'));
    for (const browser of [first, second]) assert.ok(!stored.includes(browser.sessionCookie!), 'the secret is not in the database');
    // A row copied from the database is no cookie: its hash signs nobody in.
    const rows = await tableRows(server, 'portal_sessions');
    const thief = new PortalBrowser(server);
    thief.cookies.set('mfa-portal', String(rows[0]!['id_hash']));
    assert.equal((await thief.get('/portal')).status, 303);
  });

  it('ignores a malformed session cookie rather than looking it up', async () => {
    const browser = new PortalBrowser(server);
    for (const value of ["x' OR '1'='1", 'a'.repeat(5000), '%00', '']) {
      browser.cookies.set('mfa-portal', value);
      const answer = await browser.get('/portal');
      assert.ok(answer.status === 303 || answer.status === 400 || answer.status === 431, `${value.slice(0, 20)}: ${answer.status}`);
    }
  });
});

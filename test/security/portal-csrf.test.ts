// Defends the portal against cross-site request forgery: another site making a signed-in person's
// browser change their security answers, sign them out or ask for codes, and login CSRF (signing the
// person in as someone else). Every form is refused with 403, changing nothing, unless it carries the
// token of its session (or, before sign-in, of the browser's pre-session cookie) and comes from the
// service's own Origin.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { readOutbox } from '../../src/delivery/outbox.js';
import { PORTAL_TEST_ENV, PortalBrowser, addQuestions, answers, invite, signedInByInvitation, storedAnswers } from '../helpers/portal.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

const EVIL = 'https://evil.example';

describeEachDatabase('portal CSRF', ({ postgres }) => {
  let server: TestServer;
  let n = 0;

  before(async () => {
    server = await startServer({ postgres, env: PORTAL_TEST_ENV });
    await addQuestions(server);
  });
  after(() => server?.close());

  async function person(): Promise<{ alias: string; email: string }> {
    const alias = `csrf.${++n}`;
    const email = `${alias}@example.com`;
    await server.addIdentity(alias, { email });
    return { alias, email };
  }

  /** The ways a forged form arrives: without the token, with another session's, from another origin, from no origin. */
  async function forgeries(victim: PortalBrowser): Promise<Array<[string, { origin?: string | null; csrf?: string | null }]>> {
    const attacker = await signedInByInvitation(server, (await person()).alias);
    return [
      ['no form token', { csrf: null }],
      ['a wrong form token', { csrf: 'A'.repeat(43) }],
      ["the attacker's own session's token", { csrf: attacker.csrf! }],
      ['a foreign Origin', { origin: EVIL, csrf: victim.csrf! }],
      ['Origin null', { origin: 'null', csrf: victim.csrf! }],
      ['no Origin', { origin: null, csrf: victim.csrf! }],
    ];
  }

  it('refuses forged security answers, leaving the answers as they were', async () => {
    const { alias } = await person();
    const victim = await signedInByInvitation(server, alias);
    const before = await storedAnswers(server, alias);
    for (const [how, options] of await forgeries(victim)) {
      const answer = await victim.post('/portal/security-questions', answers('attacker', 'chosen'), options);
      assert.equal(answer.status, 403, how);
      assert.match(answer.headers.get('content-type') ?? '', /^text\/html/, how);
      assert.equal(await storedAnswers(server, alias), before, `${how}: nothing changed`);
    }
    // The same form, genuine, is taken: the refusals above were for the forgery, not the form.
    const genuine = await victim.post('/portal/security-questions', answers('Rex', 'Lisbon'));
    assert.equal(genuine.status, 303, genuine.text);
    assert.notEqual(await storedAnswers(server, alias), before);
  });

  it('refuses a forged sign-out, and the session goes on', async () => {
    const victim = await signedInByInvitation(server, (await person()).alias);
    for (const [how, options] of await forgeries(victim)) {
      assert.equal((await victim.post('/portal/sign-out', {}, options)).status, 403, how);
      assert.equal((await victim.get('/portal')).status, 200, `${how}: still signed in`);
    }
  });

  it('refuses forged requests for a confirmation code, sending nothing', async () => {
    const { alias, email } = await person();
    const victim = await signedInByInvitation(server, alias);
    for (const [how, options] of await forgeries(victim)) {
      assert.equal((await victim.post('/portal/verify', { next: '/portal' }, options)).status, 403, how);
      assert.equal((await victim.post('/portal/verify/code', { next: '/portal', code: '000000' }, options)).status, 403, how);
    }
    assert.deepEqual((await readOutbox(server.dataDir)).filter((m) => m.to === email && /code/i.test(m.subject)), []);
  });

  it('refuses sign-in forms without the pre-session cookie\'s token or from another origin (login CSRF), sending nothing', async () => {
    const { alias, email } = await person();
    const browser = new PortalBrowser(server);
    await browser.get('/portal/sign-in');
    const other = new PortalBrowser(server);
    await other.get('/portal/sign-in');
    const cases: Array<[string, { origin?: string | null; csrf?: string | null }]> = [
      ['no form token', { csrf: null }],
      ["another browser's token", { csrf: other.csrf! }],
      ['a foreign Origin', { origin: EVIL }],
      ['no Origin', { origin: null }],
    ];
    for (const [how, options] of cases) {
      assert.equal((await browser.post('/portal/sign-in', { alias }, options)).status, 403, how);
      assert.equal((await browser.post('/portal/sign-in/code', { alias, code: '123456' }, options)).status, 403, how);
    }
    const cookieless = new PortalBrowser(server);
    cookieless.csrf = browser.csrf;
    assert.equal((await cookieless.post('/portal/sign-in', { alias })).status, 403, 'a token without its cookie');
    assert.equal((await readOutbox(server.dataDir)).filter((m) => m.to === email).length, 0);
    assert.equal((await browser.post('/portal/sign-in', { alias })).status, 200, 'the genuine form is taken');
    assert.equal((await readOutbox(server.dataDir)).filter((m) => m.to === email).length, 1);
  });

  it('refuses a forged invitation post without using up the invitation', async () => {
    const { alias } = await person();
    const { token } = await invite(server, alias);
    const browser = new PortalBrowser(server);
    await browser.get('/portal/invitation');
    for (const options of [{ csrf: null }, { origin: EVIL }, { origin: null }]) {
      const answer = await browser.post('/portal/invitation', { invitation: token }, options);
      assert.equal(answer.status, 403);
      assert.equal(browser.sessionCookie, undefined, 'not signed in');
    }
    assert.equal((await browser.post('/portal/invitation', { invitation: token })).status, 303, 'the invitation still works');
  });

  it('refuses a form sent as text/plain (what a cross-site form can send without a preflight)', async () => {
    const victim = await signedInByInvitation(server, (await person()).alias);
    const response = await fetch(`${server.baseUrl}/portal/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `mfa-portal=${victim.sessionCookie}`, origin: EVIL, 'content-type': 'text/plain' },
      body: `_csrf=${victim.csrf}`,
    });
    assert.ok(response.status === 403 || response.status === 415, String(response.status));
    assert.equal((await victim.get('/portal')).status, 200, 'still signed in');
  });
});

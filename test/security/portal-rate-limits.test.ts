// Defends the portal's forms against floods and guessing: one address (or one signed-in session)
// submitting forms without end, mail-bombing a person through the sign-in form, and guessing sign-in
// codes. Past each limit the form is answered 429 with Retry-After before any work is done; the codes
// keep the token method's tries and lockouts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readOutbox } from '../../src/delivery/outbox.js';
import { PORTAL_TEST_ENV, PortalBrowser, lastCodeTo, signedInByInvitation } from '../helpers/portal.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

const WINDOW_SECONDS = 60;

const codesTo = async (server: TestServer, email: string): Promise<number> => (await readOutbox(server.dataDir)).filter((m) => m.to === email && /code/i.test(m.subject)).length;

describeEachDatabase('portal rate limits', ({ postgres }) => {
  let nowMs = Date.now();
  const clock = { now: () => nowMs };
  let n = 0;

  async function person(server: TestServer): Promise<{ alias: string; email: string }> {
    const alias = `limits.${++n}`;
    const email = `${alias}@example.com`;
    await server.addIdentity(alias, { email });
    return { alias, email };
  }

  describe('per address', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ postgres, clock, env: { ...PORTAL_TEST_ENV, MFA_PORTAL_FORMS_PER_ADDRESS: '3', MFA_PORTAL_FORMS_WINDOW_SECONDS: String(WINDOW_SECONDS) } });
    });
    after(() => server?.close());

    it('answers 429 with Retry-After past the limit, sends nothing more, and lets the next window through', async () => {
      const { alias, email } = await person(server);
      const browser = new PortalBrowser(server);
      await browser.get('/portal/sign-in');
      for (let i = 0; i < 3; i++) assert.equal((await browser.post('/portal/sign-in', { alias })).status, 200);
      const sent = await codesTo(server, email);
      const refused = await browser.post('/portal/sign-in', { alias });
      assert.equal(refused.status, 429);
      assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
      assert.ok(Number(refused.headers.get('retry-after')) <= WINDOW_SECONDS);
      assert.match(refused.text, /Too many attempts/);
      assert.equal(await codesTo(server, email), sent, 'refused before sending');
      // Every form of the address counts, whichever it is: a code post is refused the same.
      assert.equal((await browser.post('/portal/sign-in/code', { alias, code: '000000' })).status, 429);
      nowMs += WINDOW_SECONDS * 1000;
      assert.equal((await browser.post('/portal/sign-in', { alias })).status, 200, 'a new window');
    });
  });

  describe('per session', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ postgres, clock, env: { ...PORTAL_TEST_ENV, MFA_PORTAL_FORMS_PER_SESSION: '2', MFA_PORTAL_FORMS_WINDOW_SECONDS: String(WINDOW_SECONDS) } });
    });
    after(() => server?.close());

    it('answers 429 to a session past its limit while another session goes on', async () => {
      const { alias, email } = await person(server);
      const busy = await signedInByInvitation(server, alias);
      for (let i = 0; i < 2; i++) assert.equal((await busy.post('/portal/verify', { next: '/portal' })).status, 200);
      const sent = await codesTo(server, email);
      assert.equal((await busy.post('/portal/verify', { next: '/portal' })).status, 429);
      assert.equal(await codesTo(server, email), sent);
      const other = await signedInByInvitation(server, (await person(server)).alias);
      assert.equal((await other.post('/portal/verify', { next: '/portal' })).status, 200, 'the limit is the session\'s own');
    });
  });

  describe('sends and guesses, as the token method limits them', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({
        postgres,
        clock,
        env: { ...PORTAL_TEST_ENV, MFA_RATE_SENDS_PER_RECIPIENT: '2', MFA_TOKEN_MAX_ATTEMPTS: '3', MFA_TOKEN_LOCKOUT_SECONDS: '900' },
      });
    });
    after(() => server?.close());

    it('limits the codes one person receives however many ask', async () => {
      const { alias, email } = await person(server);
      const ask = async () => {
        const browser = new PortalBrowser(server);
        await browser.get('/portal/sign-in');
        return browser.post('/portal/sign-in', { alias });
      };
      assert.equal((await ask()).status, 200);
      assert.equal((await ask()).status, 200);
      assert.equal((await ask()).status, 429, 'the per-recipient send limit of the token method');
      assert.equal(await codesTo(server, email), 2);
    });

    it('locks code sign-in after the token method\'s tries, and the right code then opens nothing', async () => {
      const { alias, email } = await person(server);
      const browser = new PortalBrowser(server);
      await browser.get('/portal/sign-in');
      await browser.post('/portal/sign-in', { alias });
      const code = await lastCodeTo(server, email);
      const wrong = code === '000000' ? '111111' : '000000';
      const guesses = [];
      for (const guess of [wrong, wrong.replace(/^./, '2'), wrong.replace(/^./, '3')]) guesses.push(await browser.post('/portal/sign-in/code', { alias, code: guess }));
      assert.deepEqual(guesses.map((g) => g.status), [400, 400, 400]);
      assert.match(guesses[2]!.text, /Too many wrong codes/);
      const right = await browser.post('/portal/sign-in/code', { alias, code });
      assert.equal(right.status, 400);
      assert.equal(browser.sessionCookie, undefined, 'not signed in during the lockout');
    });
  });
});

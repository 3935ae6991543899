// Defends against a portal session used after the person left it: a browser left open past the idle
// timeout, a session kept alive past the absolute one, a session signed out (or of an identity disabled
// since) whose cookie someone kept. Each ends on the server, not only in the browser.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { PORTAL_TEST_ENV, PortalBrowser, signedInByInvitation } from '../helpers/portal.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

const IDLE_SECONDS = 300;
const MAX_SECONDS = 1800;

describeEachDatabase('portal session expiry', ({ postgres }) => {
  let server: TestServer;
  let nowMs = Date.now();
  let n = 0;
  const clock = { now: () => nowMs };

  before(async () => {
    server = await startServer({
      postgres,
      clock,
      env: { ...PORTAL_TEST_ENV, MFA_PORTAL_SESSION_IDLE_SECONDS: String(IDLE_SECONDS), MFA_PORTAL_SESSION_MAX_SECONDS: String(MAX_SECONDS) },
    });
  });
  after(() => server?.close());

  async function person(): Promise<string> {
    const alias = `expiry.${++n}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    return alias;
  }

  const endedAnswer = (answer: { status: number; location: string | null }, what: string) => {
    assert.equal(answer.status, 303, what);
    assert.equal(answer.location, '/portal/sign-in?ended=1', what);
  };

  it('ends a session left unused for the idle timeout', async () => {
    const browser = await signedInByInvitation(server, await person());
    const cookie = browser.sessionCookie!;
    nowMs += IDLE_SECONDS * 1000 - 1;
    assert.equal((await browser.get('/portal')).status, 200, 'just before the idle timeout');
    nowMs += IDLE_SECONDS * 1000;
    endedAnswer(await browser.get('/portal'), 'at the idle timeout after the last use');
    assert.equal(browser.sessionCookie, undefined, 'the browser is told to drop the cookie');
    nowMs -= IDLE_SECONDS * 1000;
    const kept = new PortalBrowser(server);
    kept.cookies.set('mfa-portal', cookie);
    endedAnswer(await kept.get('/portal'), 'a kept cookie, even with the clock set back');
    const page = await kept.get('/portal/sign-in?ended=1');
    assert.match(page.text, /Your session has ended/);
  });

  it('ends a session at the absolute timeout however busy it is', async () => {
    const browser = await signedInByInvitation(server, await person());
    const started = nowMs;
    while (nowMs + (IDLE_SECONDS - 1) * 1000 < started + MAX_SECONDS * 1000) {
      nowMs += (IDLE_SECONDS - 1) * 1000;
      assert.equal((await browser.get('/portal')).status, 200, `alive ${(nowMs - started) / 1000} s after sign-in`);
    }
    nowMs = started + MAX_SECONDS * 1000;
    endedAnswer(await browser.get('/portal'), 'at the absolute timeout');
  });

  it('ends the session on the server when the person signs out', async () => {
    const browser = await signedInByInvitation(server, await person());
    const cookie = browser.sessionCookie!;
    const out = await browser.post('/portal/sign-out', {});
    assert.equal(out.status, 303);
    assert.equal(out.location, '/portal/sign-in?signed-out=1');
    assert.equal(browser.sessionCookie, undefined, 'the cookie is cleared');
    const kept = new PortalBrowser(server);
    kept.cookies.set('mfa-portal', cookie);
    endedAnswer(await kept.get('/portal'), 'the kept cookie opens nothing');
  });

  it('ends the session of an identity disabled or deleted since', async () => {
    const disabled = await person();
    const first = await signedInByInvitation(server, disabled);
    await server.runtime.store.upsertIdentities([{ alias: disabled, status: 'disabled', attributes: {} }], () => 'unused', nowMs);
    endedAnswer(await first.get('/portal'), 'disabled');
    const deleted = await person();
    const second = await signedInByInvitation(server, deleted);
    await server.runtime.store.deleteIdentity(deleted);
    endedAnswer(await second.get('/portal'), 'deleted');
  });
});

// Defends the factor-change rule in the portal: someone at a browser left signed in (or holding an
// invitation link, which the operator also sees) replacing the person's security answers without
// proving a factor in that session within MFA_FACTOR_CHANGE_WINDOW_SECONDS. A verification made
// elsewhere (another session, an application) does not count for this session; a first factor needs none.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { PORTAL_TEST_ENV, addQuestions, answers, reverify, signedInByCode, signedInByInvitation, storedAnswers } from '../helpers/portal.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

const WINDOW_SECONDS = 600;

describeEachDatabase('portal factor-change rule', ({ postgres }) => {
  let server: TestServer;
  // A clock that stands still unless a test moves it, so "exactly at the end of the window" is exact.
  let nowMs = Date.now();
  let n = 0;
  const clock = { now: () => nowMs };

  before(async () => {
    // Sessions outlive the window here, so that only the rule, not a timeout, can refuse.
    server = await startServer({
      postgres,
      clock,
      env: { ...PORTAL_TEST_ENV, MFA_FACTOR_CHANGE_WINDOW_SECONDS: String(WINDOW_SECONDS), MFA_PORTAL_SESSION_IDLE_SECONDS: '7200', MFA_PORTAL_SESSION_MAX_SECONDS: '14400' },
    });
    await addQuestions(server);
  });
  after(() => server?.close());

  async function person(): Promise<{ alias: string; email: string }> {
    const alias = `factor.${++n}`;
    const email = `${alias}@example.com`;
    await server.addIdentity(alias, { email });
    return { alias, email };
  }

  const verifyPage = (answer: { status: number; location: string | null }) => {
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/portal/verify?next=%2Fportal%2Fsecurity-questions');
  };

  it('lets an invitation session set up a first factor, but not replace it without a code', async () => {
    const { alias, email } = await person();
    const browser = await signedInByInvitation(server, alias);
    assert.equal((await browser.get('/portal/security-questions')).status, 200, 'a first enrolment needs no proof');
    assert.equal((await browser.post('/portal/security-questions', answers('Rex', 'Lisbon'))).status, 303);
    const enrolled = await storedAnswers(server, alias);

    // The link was the operator's too: the same session must now prove a factor before replacing.
    verifyPage(await browser.get('/portal/security-questions'));
    await browser.get('/portal');
    verifyPage(await browser.post('/portal/security-questions', answers('Attacker', 'Elsewhere')));
    assert.equal(await storedAnswers(server, alias), enrolled, 'nothing changed');

    const confirmed = await reverify(browser, email, '/portal/security-questions');
    assert.equal(confirmed.location, '/portal/security-questions', 'back to the form after the code');
    assert.equal((await browser.get('/portal/security-questions')).status, 200);
    assert.equal((await browser.post('/portal/security-questions', answers('Felix', 'Porto'))).status, 303);
    assert.notEqual(await storedAnswers(server, alias), enrolled);
  });

  it('sends a session whose code is older than the window to confirm again, and lets it within the window', async () => {
    const { alias, email } = await person();
    await signedInByInvitation(server, alias).then((b) => b.post('/portal/security-questions', answers('Rex', 'Lisbon')));
    const browser = await signedInByCode(server, alias, email);
    nowMs += WINDOW_SECONDS * 1000;
    assert.equal((await browser.get('/portal/security-questions')).status, 200, 'at the end of the window');
    nowMs += 1;
    const enrolled = await storedAnswers(server, alias);
    verifyPage(await browser.get('/portal/security-questions'));
    await browser.get('/portal');
    verifyPage(await browser.post('/portal/security-questions', answers('Late', 'Change')));
    assert.equal(await storedAnswers(server, alias), enrolled);
    await reverify(browser, email, '/portal/security-questions');
    assert.equal((await browser.post('/portal/security-questions', answers('Fresh', 'Proof'))).status, 303);
  });

  it('does not count a verification made in another session, or by an application', async () => {
    const { alias, email } = await person();
    const stale = await signedInByInvitation(server, alias);
    await stale.post('/portal/security-questions', answers('Rex', 'Lisbon'));
    // The person verifies elsewhere just now: in another browser, and through an application.
    await reverify(await signedInByCode(server, alias, email), email);
    await server.recordSuccess(alias);
    const enrolled = await storedAnswers(server, alias);
    verifyPage(await stale.post('/portal/security-questions', answers('Attacker', 'Elsewhere')));
    assert.equal(await storedAnswers(server, alias), enrolled);
  });

  it('refuses a change during a lockout even to a freshly verified session', async () => {
    const { alias, email } = await person();
    const browser = await signedInByCode(server, alias, email);
    await browser.post('/portal/security-questions', answers('Rex', 'Lisbon'));
    const enrolled = await storedAnswers(server, alias);
    await server.runtime.store.lock(alias, 'kba', clock.now() + 60_000);
    await browser.get('/portal/security-questions');
    const refused = await browser.post('/portal/security-questions', answers('During', 'Lockout'));
    assert.equal(refused.status, 403);
    assert.match(refused.text, /locked/);
    assert.equal(await storedAnswers(server, alias), enrolled);
  });
});

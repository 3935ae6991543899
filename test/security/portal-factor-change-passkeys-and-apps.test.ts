// Defends the factor-change rule on the portal's passkey and authenticator-app sections: someone at a
// browser signed in by invitation (a link the operator saw too) or left signed in, adding their own
// passkey or authenticator app beside the person's factors, or removing the person's, without proving a
// factor in that session within the window. Also the passkey sign-in: a forged assertion signs nobody in.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { SqlPasskeyStore } from '../../src/methods/passkey/store.js';
import { driverOf } from '../../src/store/index.js';
import { ERROR_VERIFICATION_REQUIRED } from '../../src/web/portal/index.js';
import { givePasskey, FORGED_ASSERTION } from '../helpers/passkeys.js';
import { PORTAL_TEST_ENV, PortalBrowser, addQuestions, answers, reverify, signedInByInvitation } from '../helpers/portal.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';
import { appCode } from '../helpers/totp.js';

const WINDOW_SECONDS = 600;

describeEachDatabase('portal factor-change rule for passkeys and authenticator apps', ({ postgres }) => {
  let server: TestServer;
  let n = 0;

  before(async () => {
    server = await startServer({ postgres, env: { ...PORTAL_TEST_ENV, MFA_FACTOR_CHANGE_WINDOW_SECONDS: String(WINDOW_SECONDS) } });
    await addQuestions(server);
  });
  after(() => server?.close());

  async function person(): Promise<{ alias: string; email: string }> {
    const alias = `factors.${++n}`;
    const email = `${alias}@example.com`;
    await server.addIdentity(alias, { email });
    return { alias, email };
  }
  const passkeysOf = async (alias: string) => new SqlPasskeyStore(driverOf(server.runtime.store)).listPasskeys((await server.runtime.store.findIdentity(alias))!.id);
  const toVerify = (answer: { status: number; location: string | null }, next: string) => {
    assert.equal(answer.status, 303, 'sent to confirm it is them');
    assert.equal(answer.location, `/portal/verify?next=${encodeURIComponent(next)}`);
  };

  it('beside security answers, an invitation session can neither start a passkey nor an authenticator app; after a code it can', async () => {
    const { alias, email } = await person();
    const browser = await signedInByInvitation(server, alias);
    assert.equal((await browser.post('/portal/security-questions', answers('Rex', 'Lisbon'))).status, 303, 'a first factor');
    await browser.get('/portal');

    const options = await browser.postJson('/portal/passkeys/options', {});
    assert.equal(options.status, 403);
    assert.equal(JSON.parse(options.text).messages[0].text, ERROR_VERIFICATION_REQUIRED);
    assert.equal(options.location, '/portal/verify?next=%2Fportal%2Fpasskeys');
    toVerify(await browser.post('/portal/authenticator-app', {}), '/portal/authenticator-app');

    await reverify(browser, email, '/portal/authenticator-app');
    await browser.get('/portal');
    const allowed = await browser.postJson('/portal/passkeys/options', {});
    assert.equal(allowed.status, 200, allowed.text);
    assert.ok(JSON.parse(allowed.text).options.challenge);
    const page = await browser.post('/portal/authenticator-app', {});
    assert.equal(page.status, 200);
    const key = /id="totp-secret"[^>]*>([A-Z2-7 ]+)</.exec(page.text)?.[1]?.replace(/ /g, '');
    assert.ok(key, 'the key shown as text');
    assert.equal((await browser.post('/portal/authenticator-app/confirm', { code: appCode(key, Date.now()) })).location, '/portal?done=authenticator-app');
  });

  it('removing a passkey or the authenticator app needs a code in this session, and changes nothing without one', async () => {
    const { alias, email } = await person();
    const credentialId = await givePasskey(server, alias);
    const browser = await signedInByInvitation(server, alias);
    toVerify(await browser.post('/portal/passkeys/remove', { credentialId }), '/portal/passkeys');
    assert.equal((await passkeysOf(alias)).length, 1, 'the passkey stays');
    toVerify(await browser.post('/portal/authenticator-app/remove', {}), '/portal/authenticator-app');

    await reverify(browser, email, '/portal/passkeys');
    await browser.get('/portal/passkeys');
    assert.equal((await browser.post('/portal/passkeys/remove', { credentialId })).location, '/portal?done=passkeys');
    assert.equal((await passkeysOf(alias)).length, 0);
  });

  it('renaming a passkey is no factor change, and only ever the identity\'s own', async () => {
    const { alias } = await person();
    const other = await person();
    const own = await givePasskey(server, alias);
    const theirs = await givePasskey(server, other.alias);
    const browser = await signedInByInvitation(server, alias);
    assert.equal((await browser.post('/portal/passkeys/rename', { credentialId: own, name: 'Phone' })).location, '/portal?done=passkeys');
    assert.equal((await passkeysOf(alias))[0]!.name, 'Phone');
    await browser.get('/portal');
    assert.notEqual((await browser.post('/portal/passkeys/rename', { credentialId: theirs, name: 'Mine now' })).status, 303);
    assert.equal((await passkeysOf(other.alias))[0]!.name, 'Laptop', 'another identity\'s passkey is untouched');
  });

  it('a forged assertion at the passkey sign-in signs nobody in, and the answer is the API\'s error body', async () => {
    const { alias } = await person();
    await givePasskey(server, alias);
    const browser = new PortalBrowser(server);
    await browser.get('/portal/sign-in');
    const start = await browser.postJson('/portal/sign-in/passkey/options', { alias });
    assert.equal(start.status, 200, start.text);
    const { requestId } = JSON.parse(start.text);
    const refused = await browser.postJson('/portal/sign-in/passkey/verify', { requestId, response: FORGED_ASSERTION });
    assert.equal(refused.status, 400);
    assert.ok(JSON.parse(refused.text).messages[0].text);
    assert.equal(browser.sessionCookie, undefined, 'no session');
    assert.equal((await browser.postJson('/portal/sign-in/passkey/verify', { requestId, response: { id: 1 } })).status, 400, 'an unreadable answer is a 400');
    assert.equal((await browser.postJson('/portal/sign-in/passkey/options', { alias }, { csrf: null })).status, 403, 'the form token is required');
  });
});

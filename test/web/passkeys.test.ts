// Passkeys as people and applications use them: Chromium with its virtual authenticator. An application
// registers a passkey from its own front end and verifies through the API; an application sends a person
// to the hosted page and polls to SUCCESS. Defends single use (a replayed assertion, a second use of the
// verification URL), challenges bound to their request, the signature counter, user verification, and the
// page's strictness (no outside request, no inline script refused by the policy, keyboard use).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ERROR_ANSWERED, ERROR_CLONED, ERROR_NOT_ACCEPTED } from '../../src/methods/passkey/core.js';
import { driverOf } from '../../src/store/index.js';
import { addVirtualAuthenticator, describeWithBrowser, openPage, saveScreenshot, type VirtualAuthenticator, type WatchedPage } from '../helpers/browser.js';
import { postJson } from '../helpers/server.js';
import { actingToken, startExampleApp, startPasskeyServer, type ExampleApp, type PasskeyServer } from '../helpers/passkeys.js';

type Json = Record<string, any>;

/** Runs a WebAuthn call of the browser library in the page: what the application's front end does. */
function inPage(page: WatchedPage['page'], call: 'startRegistration' | 'startAuthentication', optionsJSON: Json): Promise<Json> {
  return page.evaluate(
    ([name, options]) => (window as unknown as { SimpleWebAuthnBrowser: Record<string, (o: unknown) => Promise<Json>> }).SimpleWebAuthnBrowser[name]!({ optionsJSON: options }),
    [call, optionsJSON] as const,
  );
}

describeWithBrowser('Passkeys in Chromium', ({ browser }) => {
  let app: ExampleApp;
  let ps: PasskeyServer;
  let appClient: { clientId: string; clientSecret: string };
  let appToken: string;
  let counter = 0;

  before(async () => {
    app = await startExampleApp();
    ps = await startPasskeyServer(app);
    appClient = await ps.server.client(['sp:scopes:all', 'mfa:impersonate'], 'example application');
    appToken = await ps.server.tokenOf(appClient.clientId, appClient.clientSecret);
  });
  after(async () => {
    await ps?.server.close();
    await app?.close();
  });

  const api = (path: string, token: string, body: unknown) => postJson(ps.server, `/v3/mfa/passkey/${path}`, token, body);
  const poll = async (requestId: string) => (await postJson(ps.server, '/v3/mfa/passkey/poll', appToken, { requestId })).body;

  /** A new identity, and a browser tab on the application's page with an authenticator holding a passkey of it. */
  async function personWithPasskey(name?: string): Promise<{ alias: string; watched: WatchedPage; authenticator: VirtualAuthenticator; credentialId: string }> {
    const alias = `pk.${++counter}`;
    await ps.server.addIdentity(alias, { email: `${alias}@example.com` });
    const watched = await openPage(browser(), ps.pageBase);
    const authenticator = await addVirtualAuthenticator(watched.page);
    await watched.page.goto(`${app.origin}/`);
    const token = await actingToken(ps.server, appClient, alias);
    const options = await api('registration/options', token, { userAlias: alias });
    assert.equal(options.status, 200, JSON.stringify(options.body));
    const response = await inPage(watched.page, 'startRegistration', options.body.options);
    const verified = await api('registration/verify', token, { requestId: options.body.requestId, response, ...(name ? { name } : {}) });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.registered, true, JSON.stringify(verified.body));
    return { alias, watched, authenticator, credentialId: verified.body.credentialId };
  }

  /** An assertion made in the page for the options of a new API verification of `alias`. */
  async function assertionFor(page: WatchedPage['page'], alias: string): Promise<{ requestId: string; response: Json }> {
    const options = await api('authentication/options', appToken, { userAlias: alias });
    assert.equal(options.status, 200, JSON.stringify(options.body));
    return { requestId: options.body.requestId, response: await inPage(page, 'startAuthentication', options.body.options) };
  }

  it('an application registers passkeys from its own front end: named, listed, the same one not twice', async () => {
    const { alias, watched, authenticator, credentialId } = await personWithPasskey('Work laptop');
    try {
      const token = await actingToken(ps.server, appClient, alias);
      const list = await fetch(`${ps.server.baseUrl}/v3/mfa/passkey/credentials`, { headers: { authorization: `Bearer ${token}` } });
      const passkeys = (await list.json()) as Json[];
      assert.deepEqual(passkeys.map((p) => [p.credentialId, p.name]), [[credentialId, 'Work laptop']]);
      const held = await authenticator.credentials();
      assert.deepEqual(held.map((c) => Buffer.from(c.credentialId, 'base64').toString('base64url')), [credentialId]);
      assert.ok(held[0]!.isResidentCredential, 'a discoverable credential (a passkey)');

      // The options exclude the passkey the identity has, so this authenticator refuses to make a second one.
      await ps.server.recordSuccess(alias); // the identity has a factor now: adding another needs a recent verification
      const again = await api('registration/options', token, { userAlias: alias });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.deepEqual(again.body.options.excludeCredentials.map((c: Json) => c.id), [credentialId]);
      await assert.rejects(inPage(watched.page, 'startRegistration', again.body.options), /InvalidStateError|already registered|excluded/i);
    } finally {
      await watched.context.close();
    }
  });

  it('an application verifies through the API: SUCCESS once; the replayed assertion and a foreign challenge are refused', async () => {
    const { alias, watched } = await personWithPasskey();
    try {
      const first = await assertionFor(watched.page, alias);
      const second = await assertionFor(watched.page, alias);

      // second's assertion answering first's request: its challenge is not first's.
      const crossed = await api('authenticate', appToken, { requestId: second.requestId, response: first.response });
      assert.deepEqual(crossed.body, { requestId: second.requestId, status: 'FAILED', error: ERROR_NOT_ACCEPTED });
      assert.equal((await poll(second.requestId)).status, 'FAILED');

      const answered = await api('authenticate', appToken, { requestId: first.requestId, response: first.response });
      assert.deepEqual(answered.body, { requestId: first.requestId, status: 'SUCCESS', error: null });
      assert.deepEqual(await poll(first.requestId), { requestId: first.requestId, status: 'SUCCESS', error: null });

      const replayed = await api('authenticate', appToken, { requestId: first.requestId, response: first.response });
      assert.deepEqual(replayed.body, { requestId: first.requestId, status: 'FAILED', error: ERROR_ANSWERED });
      assert.equal((await poll(first.requestId)).status, 'SUCCESS', 'the verification keeps its outcome');
    } finally {
      await watched.context.close();
    }
  });

  it('a signature counter that went backwards is refused, and the stored counter stays where it was', async () => {
    const { alias, watched, credentialId } = await personWithPasskey();
    try {
      const normal = await assertionFor(watched.page, alias);
      assert.equal((await api('authenticate', appToken, { requestId: normal.requestId, response: normal.response })).body.status, 'SUCCESS');
      // As if a copy of the key had been used many times elsewhere: the stored counter is far ahead of this authenticator's.
      const db = driverOf(ps.server.runtime.store);
      await db.run('UPDATE passkey_credentials SET sign_count = ? WHERE id = ?', [1_000_000, credentialId]);
      const behind = await assertionFor(watched.page, alias);
      const refused = await api('authenticate', appToken, { requestId: behind.requestId, response: behind.response });
      assert.deepEqual(refused.body, { requestId: behind.requestId, status: 'FAILED', error: ERROR_CLONED });
      const stored = await db.get<{ sign_count: number | string }>('SELECT sign_count FROM passkey_credentials WHERE id = ?', [credentialId]);
      assert.equal(Number(stored?.sign_count), 1_000_000);
    } finally {
      await watched.context.close();
    }
  });

  it('user verification is required: an assertion with presence only, asked for by a tampered front end, is refused', async () => {
    const { alias, watched, authenticator } = await personWithPasskey();
    try {
      await authenticator.setUserVerified(false);
      const options = await api('authentication/options', appToken, { userAlias: alias });
      assert.equal(options.body.options.userVerification, 'required');
      const response = await inPage(watched.page, 'startAuthentication', { ...options.body.options, userVerification: 'discouraged' });
      const refused = await api('authenticate', appToken, { requestId: options.body.requestId, response });
      assert.deepEqual(refused.body, { requestId: options.body.requestId, status: 'FAILED', error: ERROR_NOT_ACCEPTED });
    } finally {
      await watched.context.close();
    }
  });

  it('hosted: the person verifies on the page by keyboard, returns to the application, which polls SUCCESS; the URL works once', async () => {
    const { alias, watched } = await personWithPasskey();
    const { page, outsideRequests, consoleErrors } = watched;
    try {
      const started = await api('start', appToken, { userAlias: alias, returnUrl: `${app.backUrl}?order=42` });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const { requestId, verificationUrl } = started.body;
      assert.ok(verificationUrl.startsWith(`${ps.pageBase}/mfa/passkey/verify#`), verificationUrl);
      const outsideBefore = outsideRequests.length;

      await page.goto(verificationUrl);
      const button = page.getByRole('button', { name: 'Verify with a passkey' });
      await page.waitForFunction(() => !(document.getElementById('verify') as HTMLButtonElement).disabled);
      await saveScreenshot(page, 'passkey-verify');
      assert.equal((await poll(requestId)).status, 'PENDING');

      // Keyboard only: the button is the first thing Tab reaches, and Enter presses it.
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'verify');
      assert.equal(await button.count(), 1);
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.pathname === '/back');

      const back = new URL(page.url());
      assert.equal(back.origin, app.origin);
      assert.equal(back.searchParams.get('order'), '42');
      assert.equal(back.searchParams.get('requestId'), requestId);
      assert.deepEqual(await poll(requestId), { requestId, status: 'SUCCESS', error: null });

      assert.deepEqual(consoleErrors, [], 'no script error and no content security policy refusal');
      // The same URL again: refused on the page and at the call behind it.
      await page.goto(verificationUrl);
      await page.waitForSelector('#status.bad');
      assert.match((await page.textContent('#status')) ?? '', /expired or has already been used/);
      assert.equal(await page.isHidden('#verify'), true, 'nothing left to press');
      await saveScreenshot(page, 'passkey-link-used');
      const token = verificationUrl.split('#')[1];
      const again = await fetch(`${ps.pageBase}/mfa/passkey/verify/options`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
      assert.equal(again.status, 404);

      const outside = outsideRequests.slice(outsideBefore).filter((url) => !url.startsWith(`${app.origin}/back?`));
      assert.deepEqual(outside, [], 'the hosted page asks nothing of any other origin (it only returns to the application)');
      // The one console line of the second visit is the browser reporting the refused call.
      assert.deepEqual(consoleErrors, ['Failed to load resource: the server responded with a status of 404 (Not Found)']);
    } finally {
      await watched.context.close();
    }
  });

  it('hosted without a return URL: the outcome stays on the page, in the language asked for', async () => {
    const { alias, watched } = await personWithPasskey();
    try {
      for (const [locale, button, verified] of [
        ['de', 'Mit einem Passkey bestätigen', /^Bestätigt\./],
        ['fr', 'Vérifier avec une clé d’accès', /^Identité confirmée\./],
        ['en', 'Verify with a passkey', /^Verified\./],
      ] as const) {
        const started = await api('start', appToken, { userAlias: alias });
        // The verification URL with the language chosen: ?lang= goes before its fragment.
        await watched.page.goto(started.body.verificationUrl.replace('#', `?lang=${locale}#`));
        assert.equal(await watched.page.getAttribute('html', 'lang'), locale);
        await watched.page.waitForFunction(() => !(document.getElementById('verify') as HTMLButtonElement).disabled);
        await watched.page.getByRole('button', { name: button }).click();
        await watched.page.waitForSelector('#status.good');
        assert.match((await watched.page.textContent('#status')) ?? '', verified);
        assert.equal(await watched.page.isHidden('#return'), true, 'no return link without a return URL');
        assert.equal(await watched.page.isHidden('#verify'), true, 'nothing left to press');
        if (locale === 'en') await saveScreenshot(watched.page, 'passkey-verified');
        assert.equal((await poll(started.body.requestId)).status, 'SUCCESS');
      }
      assert.deepEqual(watched.consoleErrors, []);
    } finally {
      await watched.context.close();
    }
  });

  it('hosted for an alias nobody has: the page runs as for anyone, and the verification fails', async () => {
    const { watched } = await personWithPasskey();
    try {
      const started = await api('start', appToken, { userAlias: 'nobody.at.all' });
      assert.equal(started.status, 200);
      await watched.page.goto(started.body.verificationUrl);
      await watched.page.waitForFunction(() => !(document.getElementById('verify') as HTMLButtonElement).disabled);
      await watched.page.getByRole('button', { name: 'Verify with a passkey' }).click();
      await watched.page.waitForSelector('#status.bad');
      assert.match((await watched.page.textContent('#status')) ?? '', /was not accepted/);
      assert.deepEqual(await poll(started.body.requestId), { requestId: started.body.requestId, status: 'FAILED', error: ERROR_NOT_ACCEPTED });
    } finally {
      await watched.context.close();
    }
  });
});

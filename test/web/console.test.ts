// The operator console in Chromium, as an operator uses it: bootstrapped by an enrolment link, signed in
// with a passkey (the virtual authenticator), an identity locked out by wrong codes found and unlocked
// (it verifies again), a client created with its secret shown once, a viewer refused by the server, and
// the audit export holding the unlock under the operator's name. Pictures of every page for docs/console.md.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { addVirtualAuthenticator, describeWithBrowser, openPage, saveScreenshot, type WatchedPage } from '../helpers/browser.js';
import { createOperator } from '../helpers/console.js';
import { startPasskeyServer, type PasskeyServer } from '../helpers/passkeys.js';
import { lastCodeTo } from '../helpers/portal.js';
import { postJson } from '../helpers/server.js';

const LOCKED = 'locked.person';
const LOCKED_EMAIL = 'locked.person@example.com';

describeWithBrowser('The operator console in Chromium', ({ browser }) => {
  let ps: PasskeyServer;
  let apiToken: string;
  before(async () => {
    ps = await startPasskeyServer(undefined, { env: { MFA_TOKEN_MAX_ATTEMPTS: '3' } });
    await ps.server.addIdentity(LOCKED, { email: LOCKED_EMAIL, displayName: 'Locked Person' });
    await ps.server.addIdentity('ann.example', { email: 'ann@example.com', department: 'Finance' });
    apiToken = await ps.server.accessToken(['sp:scopes:all']);
  });
  after(() => ps?.server.close());

  const send = () => postJson(ps.server, '/v3/mfa/token/send', apiToken, { userAlias: LOCKED, deliveryType: 'EMAIL_WORK' });
  const check = (token: string) => postJson(ps.server, '/v3/mfa/token/authenticate', apiToken, { userAlias: LOCKED, deliveryType: 'EMAIL_WORK', token });

  /** A browser tab with an authenticator, enrolled from a new enrolment link of `email`: signed in on the dashboard. */
  async function enrolled(email: string, role: 'admin' | 'viewer', screenshot = false): Promise<WatchedPage> {
    const { link } = await createOperator(ps.server, email, role);
    assert.ok(link.startsWith(`${ps.pageBase}/console/enrol#`), link);
    const watched = await openPage(browser(), ps.pageBase);
    await addVirtualAuthenticator(watched.page);
    await watched.page.goto(link);
    const button = watched.page.getByRole('button', { name: 'Register a passkey' });
    await watched.page.waitForFunction(() => !(document.getElementById('passkey') as HTMLButtonElement).disabled);
    assert.equal(new URL(watched.page.url()).hash, '', 'the token left the address bar');
    if (screenshot) await saveScreenshot(watched.page, 'console-enrol');
    await button.click();
    await watched.page.waitForURL((url) => url.pathname === '/console');
    return watched;
  }

  it('bootstrap, sign in with the passkey, unlock a locked-out identity which then verifies again; a client\u2019s secret shown once; the export names the operator', async () => {
    const watched = await enrolled('ops@example.com', 'admin', true);
    const { page } = watched;
    try {
      // Signed out and back in with the passkey alone.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((url) => url.pathname === '/console/sign-in');
      await page.waitForFunction(() => !(document.getElementById('passkey') as HTMLButtonElement).disabled);
      await saveScreenshot(page, 'console-sign-in');
      // By keyboard: the button is reached right after the console's name, and Enter presses it.
      assert.equal(await page.getByRole('button', { name: 'Sign in with a passkey' }).count(), 1);
      let tabs = 0;
      while ((await page.evaluate(() => document.activeElement?.id)) !== 'passkey' && tabs < 5) {
        await page.keyboard.press('Tab');
        tabs++;
      }
      assert.equal(tabs, 2, 'two Tabs reach the button');
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.pathname === '/console');
      assert.match((await page.textContent('.portal-account')) ?? '', /ops@example\.com \(administrator\)/);

      // Locked out by wrong codes.
      assert.equal((await send()).status, 200);
      let status = '';
      for (let i = 1; i <= 3; i++) status = (await check(`00000${i}`)).body.status;
      assert.equal(status, 'LOCKOUT');
      assert.ok((await ps.server.runtime.store.lockedUntil(LOCKED, 'token')) > Date.now(), 'locked out');

      await page.reload();
      const lockoutsCard = page.locator('section', { has: page.getByRole('heading', { name: 'Lockouts in force' }) });
      assert.match((await lockoutsCard.textContent()) ?? '', /token\s*1/, 'the dashboard counts the lockout in force');
      await saveScreenshot(page, 'console-dashboard');
      await page.getByRole('link', { name: 'Identities' }).click();
      await page.getByLabel('Alias (or its beginning)').fill('locked');
      await page.getByRole('button', { name: 'Search' }).click();
      await saveScreenshot(page, 'console-identities');
      await page.getByRole('link', { name: LOCKED }).click();
      assert.match((await page.textContent('main')) ?? '', /Locked until/);
      await saveScreenshot(page, 'console-identity');
      await page.getByRole('button', { name: 'Unlock' }).click();
      await page.waitForSelector('p.status.good');
      assert.equal(await page.textContent('p.status.good'), 'Unlocked.');
      assert.match((await page.textContent('main')) ?? '', /No lockout in force\./);
      await page.getByRole('link', { name: 'Dashboard' }).click();
      assert.doesNotMatch((await lockoutsCard.textContent()) ?? '', /token/, 'an unlock ends it on the dashboard too');

      // The identity verifies again.
      await send();
      assert.equal((await check(await lastCodeTo(ps.server, LOCKED_EMAIL))).body.status, 'SUCCESS');

      // A client: its secret on the answer to the form, and nowhere afterwards.
      await page.getByRole('link', { name: 'API clients' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Helpdesk tool');
      await page.getByLabel('Scopes, separated by spaces or commas').fill('idn:mfa:send idn:mfa:verify');
      await page.getByRole('button', { name: 'Create client' }).click();
      const secret = (await page.textContent('#client-secret')) ?? '';
      const clientId = (await page.textContent('#client-id')) ?? '';
      assert.match(secret, /^\S{20,}$/);
      await saveScreenshot(page, 'console-client-created');
      await ps.server.tokenOf(clientId, secret);
      await page.getByRole('link', { name: 'API clients' }).first().click();
      assert.ok(((await page.textContent('main')) ?? '').includes(clientId));
      assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');
      await saveScreenshot(page, 'console-clients');

      // The audit export (as the page's link downloads it, with the session's cookie).
      const exported = await page.request.get(`${ps.pageBase}/console/audit/export?format=json&alias=${LOCKED}`);
      assert.equal(exported.status(), 200);
      const events = (await exported.json()) as Array<Record<string, unknown>>;
      const unlocks = events.filter((e) => e['operation'] === 'unlock');
      assert.deepEqual(unlocks.map((e) => [e['method'], e['clientId']]), [['token', 'operator:ops@example.com'], ['kba', 'operator:ops@example.com'], ['totp', 'operator:ops@example.com']]);
      assert.match(String(unlocks[0]!['reason']), /ended by an operator/);
      const csv = await page.request.get(`${ps.pageBase}/console/audit/export?format=csv&alias=${LOCKED}`);
      assert.match(await csv.text(), /"token","unlock","locked\.person","operator:ops@example\.com"/);

      for (const [name, label] of [
        ['console-verifications', 'Verifications'],
        ['console-audit', 'Audit log'],
        ['console-providers', 'Providers'],
        ['console-questions', 'Security questions'],
        ['console-keys', 'Signing keys'],
      ] as const) {
        await page.getByRole('link', { name: label, exact: true }).click();
        await page.waitForSelector('h1');
        assert.equal(await page.textContent('h1'), label);
        await saveScreenshot(page, name);
      }
      await page.goto(`${ps.pageBase}/console?lang=de`);
      assert.equal(await page.textContent('h1'), 'Übersicht');
      await saveScreenshot(page, 'console-dashboard-de');

      assert.deepEqual(watched.outsideRequests, [], 'the console asks nothing of any other origin');
      assert.deepEqual(watched.consoleErrors, [], 'no script error and no content security policy refusal');
    } finally {
      await watched.context.close();
    }
  });

  it('a viewer sees the Unlock button but the server refuses it, and the lockout stays', async () => {
    // Locked out again.
    await send();
    for (let i = 1; i <= 3; i++) await check(`00000${i}`);
    const watched = await enrolled('viewer@example.com', 'viewer');
    const { page } = watched;
    try {
      await page.goto(`${ps.pageBase}/console/identity?alias=${LOCKED}`);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await page.waitForSelector('p.status.bad');
      assert.equal(await page.textContent('p.status.bad'), 'Your role can read the console but not change anything.');
      await page.goto(`${ps.pageBase}/console/identity?alias=${LOCKED}`);
      assert.match((await page.textContent('main')) ?? '', /Locked until/);
    } finally {
      await watched.context.close();
    }
  });

  it('the enrolment link works once: a second browser gets the refusal and no session', async () => {
    const { link } = await createOperator(ps.server, 'once@example.com', 'admin');
    const first = await openPage(browser(), ps.pageBase);
    const second = await openPage(browser(), ps.pageBase);
    try {
      for (const watched of [first, second]) await addVirtualAuthenticator(watched.page);
      await first.page.goto(link);
      await first.page.waitForFunction(() => !(document.getElementById('passkey') as HTMLButtonElement).disabled);
      await first.page.getByRole('button', { name: 'Register a passkey' }).click();
      await first.page.waitForURL((url) => url.pathname === '/console');

      await second.page.goto(link);
      await second.page.waitForFunction(() => !(document.getElementById('passkey') as HTMLButtonElement).disabled);
      await second.page.getByRole('button', { name: 'Register a passkey' }).click();
      await second.page.waitForSelector('#status.bad');
      assert.match((await second.page.textContent('#status')) ?? '', /expired or has already been used/);
      await second.page.goto(`${ps.pageBase}/console`);
      assert.equal(new URL(second.page.url()).pathname, '/console/sign-in');
    } finally {
      await first.context.close();
      await second.context.close();
    }
  });
});

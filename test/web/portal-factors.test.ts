// The portal with all its factors, as a person uses it in Chromium with a virtual authenticator: the
// invitation link from the outbox → add a passkey → set up an authenticator app (confirming it is them
// first, since the passkey is a factor now; the code computed with otpauth from the key the page shows) →
// security answers → sign out → sign in with the passkey, which counts as a verification for a change.
// Then renaming and removing a passkey, and the pages in German and French. Every page: no request
// outside the service, no console error, every control labelled. The screenshots docs/portal.md shows.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Page } from 'playwright-core';
import qrcode from 'qrcode-generator';
import { readOutbox } from '../../src/delivery/outbox.js';
import { addVirtualAuthenticator, describeWithBrowser, openPage, saveScreenshot, type VirtualAuthenticator, type WatchedPage } from '../helpers/browser.js';
import { startPasskeyServer, type PasskeyServer } from '../helpers/passkeys.js';
import { PORTAL_TEST_ENV, addQuestions, invite } from '../helpers/portal.js';
import { appCode } from '../helpers/totp.js';

/** Form controls a person reaches that have no label, no aria-label and (for buttons) no text. */
async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
      .filter((el) => {
        const control = el as HTMLInputElement;
        if (control.labels && control.labels.length > 0) return false;
        if (el.getAttribute('aria-label')) return false;
        return el.tagName !== 'BUTTON' || (el.textContent ?? '').trim() === '';
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
}

describeWithBrowser('the portal with passkeys and an authenticator app in Chromium', ({ browser }) => {
  let ps: PasskeyServer;
  let w: WatchedPage;
  let authenticator: VirtualAuthenticator;
  const alias = 'ada.lovelace';
  const email = 'ada@example.com';

  before(async () => {
    ps = await startPasskeyServer(undefined, { env: { ...PORTAL_TEST_ENV, MFA_FACTOR_CHANGE_WINDOW_SECONDS: '600', MFA_PORTAL_SESSION_IDLE_SECONDS: '3600' } });
    await addQuestions(ps.server);
    await ps.server.addIdentity(alias, { email });
    w = await openPage(browser(), ps.pageBase);
    authenticator = await addVirtualAuthenticator(w.page);
  });
  after(async () => {
    await w?.context.close().catch(() => undefined);
    await ps?.server.close();
  });

  async function assertClean(what: string): Promise<void> {
    assert.deepEqual(w.outsideRequests, [], `${what}: requests outside the service`);
    assert.deepEqual(w.consoleErrors, [], `${what}: console errors`);
    assert.deepEqual(await unlabelledControls(w.page), [], `${what}: unlabelled controls`);
  }

  async function newestMail(pattern: RegExp): Promise<string> {
    const mail = (await readOutbox(ps.server.dataDir)).filter((m) => m.to === email).at(-1);
    const found = pattern.exec(mail?.body ?? '')?.[0];
    assert.ok(found, `no ${pattern} in the newest mail to ${email}`);
    return found;
  }

  const text = async (selector: string) => (await w.page.textContent(selector)) ?? '';

  it('invitation → passkey → authenticator app → security answers → sign out → sign in with the passkey', async () => {
    const { page } = w;
    await invite(ps.server, alias);
    const link = new URL(await newestMail(/https?:\/\/\S+\/portal\/invitation#[A-Za-z0-9_-]{43}/));
    await page.goto(`${ps.pageBase}${link.pathname}${link.hash}`);
    await Promise.all([page.waitForURL('**/portal?done=welcome'), page.click('#continue')]);
    assert.match(await text('#passkeys'), /no passkeys yet/);
    assert.match(await text('#authenticator-app'), /not set up an authenticator app/);

    // A first factor of all: no confirmation needed, even in a session opened by invitation.
    await page.fill('#passkey-name', 'Laptop');
    await Promise.all([page.waitForURL('**/portal?done=passkeys'), page.click('button:has-text("Add a passkey")')]);
    assert.match(await text('#passkeys'), /Laptop/);
    assert.equal((await authenticator.credentials()).length, 1, 'the authenticator holds the new passkey');
    await saveScreenshot(page, 'portal-passkey-added');
    await assertClean('overview with a passkey');

    // Beside the passkey, an app is a change: the person confirms it is them with an emailed code first.
    await Promise.all([page.waitForURL('**/portal/verify?next=*'), page.click('button:has-text("Set up an authenticator app")')]);
    await Promise.all([page.waitForURL('**/portal/verify'), page.click('button:has-text("Send me a code")')]);
    await page.fill('#code', await newestMail(/\b\d{6}\b/));
    await Promise.all([page.waitForURL('**/portal/authenticator-app'), page.click('button:has-text("Confirm")')]);
    await Promise.all([page.waitForURL('**/portal/authenticator-app'), page.click('button:has-text("Set up an authenticator app")')]);
    const key = (await text('#totp-secret')).replace(/\s/g, '');
    assert.match(key, /^[A-Z2-7]{32}$/, 'the key as text');
    const uri = await text('#totp-uri');
    assert.match(uri, new RegExp(`^otpauth://totp/.*secret=${key}`), 'the otpauth URI as text');
    // The QR code shown is the URI shown: the same modules as the encoder draws for that URI.
    const qr = page.locator('figure.qr svg[role="img"]');
    assert.equal(await qr.getAttribute('aria-label'), 'QR code to scan with your authenticator app');
    assert.ok(((await qr.boundingBox())?.width ?? 0) >= 150, 'drawn large enough to scan');
    const expected = qrcode(0, 'M');
    expected.addData(uri, 'Byte');
    expected.make();
    assert.equal(await qr.locator('path').getAttribute('d'), /<path d="([^"]+)"/.exec(expected.createSvgTag({ cellSize: 4, margin: 4, scalable: true }))?.[1]);
    await saveScreenshot(page, 'portal-authenticator-app');
    await assertClean('authenticator app set-up');
    await page.fill('#totp-code', appCode(key, Date.now()));
    await Promise.all([page.waitForURL('**/portal?done=authenticator-app'), page.click('button:has-text("Confirm")')]);
    assert.match(await text('#authenticator-app'), /An authenticator app is set up/);

    // Still within the confirmation's window: security answers beside both.
    await Promise.all([page.waitForURL('**/portal/security-questions'), page.getByRole('link', { name: 'Set up security questions' }).click()]);
    await page.selectOption('#question-1', 'pet');
    await page.fill('#answer-1', 'Rex');
    await page.selectOption('#question-2', 'city');
    await page.fill('#answer-2', 'Lisbon');
    await Promise.all([page.waitForURL('**/portal?done=security-questions'), page.click('button:has-text("Save answers")')]);
    assert.match(await text('#security-questions'), /answered 2 security questions/);
    await saveScreenshot(page, 'portal-overview-all-factors');
    await assertClean('overview with every factor');

    await Promise.all([page.waitForURL('**/portal/sign-in?signed-out=1'), page.click('button:has-text("Sign out")')]);
    await page.fill('#passkey-alias', alias);
    await saveScreenshot(page, 'portal-sign-in-passkey');
    await assertClean('sign-in with a passkey');
    const signCount = (await authenticator.credentials())[0]!.signCount;
    // From the keyboard: Enter in the user name field signs in as the button does.
    await page.focus('#passkey-alias');
    await Promise.all([page.waitForURL((url) => url.pathname === '/portal' && url.search === ''), page.keyboard.press('Enter')]);
    assert.match(await text('h1'), /Your sign-in methods/);
    assert.ok((await authenticator.credentials())[0]!.signCount > signCount, 'the passkey answered');
    assert.match(await text('#recent'), /Passkey/);
    // A passkey sign-in is a verification: a change goes straight to its form, no confirmation asked.
    await page.goto(`${ps.pageBase}/portal/security-questions`);
    assert.equal(new URL(page.url()).pathname, '/portal/security-questions');
    await assertClean('after the passkey sign-in');
  });

  it('renames and removes a passkey on its page', async () => {
    const { page } = w;
    await page.goto(`${ps.pageBase}/portal/passkeys`);
    await page.fill('#rename-0', 'Work laptop');
    await saveScreenshot(page, 'portal-passkeys');
    await assertClean('passkeys page');
    await Promise.all([page.waitForURL('**/portal?done=passkeys'), page.click('button:has-text("Rename")')]);
    assert.match(await text('#passkeys'), /Work laptop/);
    await page.goto(`${ps.pageBase}/portal/passkeys`);
    await Promise.all([page.waitForURL('**/portal?done=passkeys'), page.getByRole('button', { name: 'Remove Work laptop' }).click()]);
    assert.match(await text('#passkeys'), /no passkeys yet/);
    await assertClean('after removing');
  });

  it('shows the sections in German and French', async () => {
    const { page } = w;
    await page.goto(`${ps.pageBase}/portal?lang=de`);
    assert.match(await text('#passkeys'), /Passkey hinzufügen/);
    assert.match(await text('#authenticator-app'), /Authenticator-App ist eingerichtet/);
    await saveScreenshot(page, 'portal-overview-all-factors-de');
    await page.goto(`${ps.pageBase}/portal?lang=fr`);
    assert.match(await text('#passkeys'), /Ajouter une clé d’accès/);
    assert.match(await text('#authenticator-app'), /application d’authentification est configurée/);
    await assertClean('German and French');
    await page.goto(`${ps.pageBase}/portal?lang=en`);
  });
});

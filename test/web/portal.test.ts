// The self-service portal as a person uses it, in Chromium: the invitation link from the outbox opens
// the portal, security answers are set, sign-out, sign-in with an emailed code, the recent
// verifications; a second opening of the invitation is refused; a stale session confirms it is you
// before a change. Every page: no request outside the service, no console error (a CSP refusal would
// be one), every control labelled; the whole sign-in works from the keyboard. The screenshots the
// docs show (docs/portal.md) are taken here.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Page } from 'playwright-core';
import { readOutbox } from '../../src/delivery/outbox.js';
import { describeWithBrowser, openPage, saveScreenshot, type WatchedPage } from '../helpers/browser.js';
import { PORTAL_TEST_ENV, addQuestions, invite } from '../helpers/portal.js';
import { startServer, type TestServer } from '../helpers/server.js';

const WINDOW_SECONDS = 600;

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

describeWithBrowser('the self-service portal in Chromium', ({ browser }) => {
  let server: TestServer;
  let nowMs = Date.now();
  const clock = { now: () => nowMs };
  const watched: WatchedPage[] = [];

  before(async () => {
    server = await startServer({
      clock,
      env: { ...PORTAL_TEST_ENV, MFA_FACTOR_CHANGE_WINDOW_SECONDS: String(WINDOW_SECONDS), MFA_PORTAL_SESSION_IDLE_SECONDS: '3600' },
    });
    await addQuestions(server);
    await server.addIdentity('ada.lovelace', { email: 'ada@example.com', phone: '+447700900123', workPhone: '+442079460000' });
    await server.addIdentity('grace.hopper', { email: 'grace@example.com', locale: 'de' });
    // Someone's application verified Ada before, so the recent verifications have another application in them.
    const app = await server.client(['idn:mfa:send', 'idn:mfa:verify'], 'HR self-service');
    const token = await server.tokenOf(app.clientId, app.clientSecret);
    await fetch(`${server.baseUrl}/v3/mfa/token/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userAlias: 'ada.lovelace', deliveryType: 'SMS_PERSONAL' }),
    });
  });
  after(async () => {
    for (const w of watched) await w.context.close().catch(() => undefined);
    await server?.close();
  });

  async function open(locale = 'en-US'): Promise<WatchedPage> {
    const w = await openPage(browser(), server.baseUrl, { locale });
    watched.push(w);
    return w;
  }

  /**
   * The page as the service should always serve it: nothing from outside, no console error, every control
   * labelled. A page answered with an error status on purpose (a refused form) is logged by Chromium as a
   * failed load; `status` names that one status as expected.
   */
  async function assertClean(w: WatchedPage, what: string, status?: number): Promise<void> {
    const expected = `Failed to load resource: the server responded with a status of ${status}`;
    assert.deepEqual(w.outsideRequests, [], `${what}: requests outside the service`);
    assert.deepEqual(w.consoleErrors.filter((e) => status === undefined || !e.startsWith(expected)), [], `${what}: console errors`);
    assert.deepEqual(await unlabelledControls(w.page), [], `${what}: unlabelled controls`);
  }

  /** The link the newest mail to `to` carries, at the address the test server really listens on. */
  async function linkIn(to: string): Promise<string> {
    const mail = (await readOutbox(server.dataDir)).filter((m) => m.to === to).at(-1);
    const link = /https?:\/\/\S+\/portal\/invitation#[A-Za-z0-9_-]{43}/.exec(mail?.body ?? '')?.[0];
    assert.ok(link, `no invitation link in the mail to ${to}`);
    const url = new URL(link);
    return `${server.baseUrl}${url.pathname}${url.hash}`;
  }

  async function codeIn(to: string): Promise<string> {
    const mail = (await readOutbox(server.dataDir)).filter((m) => m.to === to && /code/i.test(m.subject)).at(-1);
    const code = /\b(\d{6})\b/.exec(mail?.body ?? '')?.[1];
    assert.ok(code, `no code mailed to ${to}`);
    return code;
  }

  let invitationLink = '';

  it('opens the portal from the invitation in the outbox, sets security answers, signs out and back in with a code, and shows the verifications', async () => {
    await invite(server, 'ada.lovelace');
    invitationLink = await linkIn('ada@example.com');
    const w = await open();
    const { page } = w;

    await page.goto(invitationLink);
    assert.equal(await page.inputValue('#invitation'), invitationLink.split('#')[1], 'the script took the token from the fragment');
    assert.equal(new URL(page.url()).hash, '', 'and took it out of the address bar');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'continue', 'the button has the focus');
    await saveScreenshot(page, 'portal-invitation');
    await assertClean(w, 'invitation');
    // Switching the language keeps the invitation (the token rides along in the fragment, not to the server).
    await Promise.all([page.waitForURL('**/portal/invitation?lang=fr'), page.click('a[hreflang=fr]')]);
    assert.match(await page.textContent('h1') ?? '', /Bienvenue/);
    assert.equal(await page.inputValue('#invitation'), invitationLink.split('#')[1]);
    await Promise.all([page.waitForURL('**/portal/invitation?lang=en'), page.click('a[hreflang=en]')]);

    await Promise.all([page.waitForURL('**/portal?done=welcome'), page.click('#continue')]);
    assert.match(await page.textContent('h1') ?? '', /Your sign-in methods/);
    assert.match(await page.textContent('.status.good') ?? '', /Welcome/);
    assert.match(await page.textContent('#addresses') ?? '', /a\*\*\*@example\.com/);
    assert.doesNotMatch(await page.content(), /ada@example\.com|447700900123/, 'addresses only masked');
    await saveScreenshot(page, 'portal-overview-first-visit');
    await assertClean(w, 'overview, first visit');

    await Promise.all([page.waitForURL('**/portal/security-questions'), page.getByRole('link', { name: 'Set up security questions' }).click()]);
    await page.selectOption('#question-1', 'pet');
    await page.fill('#answer-1', 'Rex');
    await page.selectOption('#question-2', 'city');
    await page.fill('#answer-2', 'Lisbon');
    await saveScreenshot(page, 'portal-security-questions');
    await assertClean(w, 'security questions');
    await Promise.all([page.waitForURL('**/portal?done=security-questions'), page.click('button:has-text("Save answers")')]);
    assert.match(await page.textContent('.status.good') ?? '', /security answers are saved/);
    assert.match(await page.textContent('#security-questions') ?? '', /answered 2 security questions/);

    await Promise.all([page.waitForURL('**/portal/sign-in?signed-out=1'), page.click('button:has-text("Sign out")')]);
    assert.match(await page.textContent('.status.good') ?? '', /signed out/);
    await saveScreenshot(page, 'portal-sign-in');
    await assertClean(w, 'sign-in');

    await page.fill('#alias', 'ada.lovelace');
    await Promise.all([page.waitForURL('**/portal/sign-in'), page.click('button:has-text("Send me a code")')]);
    assert.match(await page.textContent('main') ?? '', /a code is on its way/);
    await saveScreenshot(page, 'portal-sign-in-code');
    await assertClean(w, 'code');
    await page.fill('#code', await codeIn('ada@example.com'));
    await Promise.all([page.waitForURL('**/portal'), page.click('button:has-text("Sign in")')]);

    const recent = await page.textContent('#recent') ?? '';
    assert.match(recent, /One-time code/);
    assert.match(recent, /This portal/);
    assert.match(recent, /HR self-service/, 'the other application, by its name');
    assert.match(recent, /Succeeded/);
    const rows = await page.locator('#recent tbody tr').count();
    assert.ok(rows >= 3, `${rows} rows: the application's send, the portal's send and check`);
    await saveScreenshot(page, 'portal-overview');
    await assertClean(w, 'overview');

    // Past the factor-change window the same session confirms it is you before changing the answers.
    nowMs += (WINDOW_SECONDS + 1) * 1000;
    await Promise.all([page.waitForURL('**/portal/verify?next=%2Fportal%2Fsecurity-questions'), page.getByRole('link', { name: 'Change security answers' }).click()]);
    assert.match(await page.textContent('main') ?? '', /a\*\*\*@example\.com/);
    await saveScreenshot(page, 'portal-verify');
    await assertClean(w, 'confirm');
    await page.click('button:has-text("Send me a code")');
    await page.waitForSelector('#code');
    await page.fill('#code', await codeIn('ada@example.com'));
    await Promise.all([page.waitForURL('**/portal/security-questions'), page.click('button:has-text("Confirm")')]);
    const chosen = [await page.inputValue('#question-1'), await page.inputValue('#question-2')].sort();
    assert.deepEqual(chosen, ['city', 'pet'], 'the form, with the questions answered before chosen');
  });

  it('refuses a second opening of the invitation', async () => {
    assert.ok(invitationLink, 'the first test opened it');
    const w = await open();
    await w.page.goto(invitationLink);
    await w.page.click('#continue');
    await w.page.waitForSelector('.status.bad');
    assert.match(await w.page.textContent('.status.bad') ?? '', /cannot be used/);
    assert.match(w.page.url(), /\/portal\/invitation$/);
    await saveScreenshot(w.page, 'portal-invitation-used');
    await assertClean(w, 'invitation used', 400);
  });

  it('speaks German and French, by the browser\'s language and by choice', async () => {
    await invite(server, 'grace.hopper');
    const w = await open('de-DE');
    await w.page.goto(await linkIn('grace@example.com'));
    assert.match(await w.page.textContent('h1') ?? '', /Willkommen/);
    await Promise.all([w.page.waitForURL('**/portal?done=welcome'), w.page.click('#continue')]);
    assert.equal(await w.page.getAttribute('html', 'lang'), 'de');
    assert.match(await w.page.textContent('h1') ?? '', /Ihre Anmeldeverfahren/);
    await saveScreenshot(w.page, 'portal-overview-de');
    await assertClean(w, 'overview, German');

    await Promise.all([w.page.waitForURL('**/portal?lang=fr'), w.page.click('a[hreflang=fr]')]);
    assert.match(await w.page.textContent('h1') ?? '', /Vos moyens de connexion/);
    await w.page.goto(`${server.baseUrl}/portal/security-questions`);
    assert.equal(await w.page.getAttribute('html', 'lang'), 'fr', 'the choice is remembered');
    assert.match(await w.page.textContent('select#question-1') ?? '', /premier animal/, 'the questions in French too');
    await saveScreenshot(w.page, 'portal-security-questions-fr');
    await assertClean(w, 'security questions, French');
  });

  it('signs in with the keyboard alone', async () => {
    const w = await open();
    const { page } = w;
    await page.goto(`${server.baseUrl}/portal/sign-in`);
    // Tab from the top of the page to the user name field, type, and send with Enter.
    for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.id)) !== 'alias'; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'alias', 'the user name field is reached with Tab');
    await page.keyboard.type('ada.lovelace');
    await Promise.all([page.waitForSelector('#code'), page.keyboard.press('Enter')]);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'code', 'the code field has the focus');
    await page.keyboard.type(await codeIn('ada@example.com'));
    await Promise.all([page.waitForURL('**/portal'), page.keyboard.press('Enter')]);
    assert.match(await page.textContent('h1') ?? '', /Your sign-in methods/);
    // The focus shows where it is: the stylesheet's outline on the focused link.
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none', 'a visible focus');
    await assertClean(w, 'keyboard sign-in');
  });
});

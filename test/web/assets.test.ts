// The pages' files: served from memory by name, with their types; no other path reaches the disk. And
// in a real browser, a page under the policy runs the service's script but not injected inline script.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { assetRoutes } from '../../src/web/assets.js';
import { Html, html, sendPage } from '../../src/web/page.js';
import { describeWithBrowser, openPage } from '../helpers/browser.js';

async function pageServer(): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const app = Fastify();
  await app.register(assetRoutes);
  app.get('/try', async (_request, reply) =>
    sendPage(reply, {
      title: 'Policy check',
      locale: 'en',
      // The inline script stands for injected markup: the policy must keep it from running.
      body: html`<h1 id="heading">Policy check</h1><p id="inline">untouched</p>${new Html('<script>document.getElementById("inline").textContent = "ran";</script>')}`,
      scripts: ['simplewebauthn-browser.js'],
    }),
  );
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, baseUrl };
}

describe('assets', () => {
  let server: { app: FastifyInstance; baseUrl: string };
  before(async () => {
    server = await pageServer();
  });
  after(() => server.app.close());

  it('serves the stylesheet and the WebAuthn browser bundle with their types', async () => {
    const css = await fetch(`${server.baseUrl}/assets/site.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.match(await css.text(), /:focus-visible/);
    const js = await fetch(`${server.baseUrl}/assets/simplewebauthn-browser.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await js.text(), /startRegistration/);
  });

  it('answers 404 for any other name, including paths that try to leave the folder', async () => {
    for (const name of ['nope.css', '..%2Fpackage.json', '..%2F..%2Fpackage.json', '%2Fetc%2Fpasswd']) {
      const response = await fetch(`${server.baseUrl}/assets/${name}`);
      assert.equal(response.status, 404, name);
      assert.doesNotMatch(await response.text(), /"name"\s*:\s*"mfa-controller"|root:/);
    }
  });

  it('sends pages with the strict headers', async () => {
    const response = await fetch(`${server.baseUrl}/try`);
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.match(response.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
  });
});

describeWithBrowser('a page in Chromium under the content security policy', ({ browser }) => {
  let server: { app: FastifyInstance; baseUrl: string };
  before(async () => {
    server = await pageServer();
  });
  after(() => server.app.close());

  it("loads the service's script and stylesheet, refuses the inline script, asks nothing outside", async () => {
    const { page, context, outsideRequests, consoleErrors } = await openPage(browser(), server.baseUrl);
    try {
      await page.goto(`${server.baseUrl}/try`);
      assert.equal(await page.textContent('#inline'), 'untouched', 'inline script must not run');
      assert.equal(await page.evaluate(() => typeof (window as unknown as { SimpleWebAuthnBrowser?: unknown }).SimpleWebAuthnBrowser), 'object');
      const fontFamily = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
      assert.match(fontFamily, /system-ui/, 'the stylesheet applied');
      assert.ok(consoleErrors.some((e) => /Content Security Policy/i.test(e)), `the refusal is reported: ${consoleErrors.join(' | ')}`);
      assert.deepEqual(outsideRequests, []);
    } finally {
      await context.close();
    }
  });
});

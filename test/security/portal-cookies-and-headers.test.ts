// Defends the portal's session cookie and pages against theft and injection: a cookie readable by
// script, sent with another site's requests, sent in clear when the service is https, or set for the
// service by a sibling host; and pages that would run injected script, load anything from outside, be
// framed, cached or sniffed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../../src/web/page.js';
import { PORTAL_TEST_ENV, PortalBrowser, addQuestions, invite, signedInByInvitation } from '../helpers/portal.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** The attributes of the Set-Cookie line for `name` (lower-case), with its value under 'value'. */
function cookieLine(headers: Headers, name: string): Map<string, string> {
  const line = headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  assert.ok(line, `no Set-Cookie for ${name}: ${headers.getSetCookie().join(' | ')}`);
  const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
  const out = new Map<string, string>([['value', pair.slice(name.length + 1)]]);
  for (const attribute of attributes) {
    const [key = '', value = ''] = attribute.split('=');
    out.set(key.toLowerCase(), value);
  }
  return out;
}

describe('portal cookies over http', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: PORTAL_TEST_ENV });
    await server.addIdentity('ada', { email: 'ada@example.com' });
  });
  after(() => server?.close());

  it('sets the session cookie HttpOnly, SameSite=Strict, for the whole host, until the browser closes', async () => {
    const { token } = await invite(server, 'ada');
    const browser = new PortalBrowser(server);
    const page = await browser.get('/portal/invitation');
    const pre = cookieLine(page.headers, 'mfa-portal-pre');
    assert.ok(pre.has('httponly'));
    assert.equal(pre.get('samesite'), 'Strict');
    const answer = await browser.post('/portal/invitation', { invitation: token });
    const session = cookieLine(answer.headers, 'mfa-portal');
    assert.match(session.get('value')!, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(session.has('httponly'), 'not readable by script');
    assert.equal(session.get('samesite'), 'Strict', 'never sent with another site\'s requests');
    assert.equal(session.get('path'), '/');
    assert.ok(!session.has('domain'), 'not for sibling hosts');
    assert.ok(!session.has('max-age') && !session.has('expires'), 'a browser-session cookie; the server keeps the timeouts');
    assert.ok(!session.has('secure'), 'the public URL is http here');
  });
});

describe('portal cookies when the public URL is https', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { ...PORTAL_TEST_ENV, MFA_PUBLIC_URL: 'https://mfa.example.com' } });
    await server.addIdentity('ada', { email: 'ada@example.com' });
  });
  after(() => server?.close());

  it('marks every cookie Secure and names it __Host-, so only this host over https can set or read it', async () => {
    const { token } = await invite(server, 'ada');
    const browser = new PortalBrowser(server);
    const page = await browser.get('/portal/invitation?lang=de');
    for (const name of ['__Host-mfa-portal-pre', '__Host-mfa-portal-lang']) {
      const cookie = cookieLine(page.headers, name);
      assert.ok(cookie.has('secure'), name);
      assert.equal(cookie.get('path'), '/', name);
    }
    const answer = await browser.post('/portal/invitation', { invitation: token });
    assert.equal(answer.status, 303, answer.text);
    const session = cookieLine(answer.headers, '__Host-mfa-portal');
    assert.ok(session.has('secure'));
    assert.ok(session.has('httponly'));
    assert.equal(session.get('samesite'), 'Strict');
    assert.equal((await browser.get('/portal')).status, 200, 'and the session works under that name');
  });
});

describe('portal page headers', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: PORTAL_TEST_ENV });
    await server.addIdentity('ada', { email: 'ada@example.com' });
    await addQuestions(server);
  });
  after(() => server?.close());

  it('sends every page, error pages included, with the strict policy and without caching', async () => {
    const browser = await signedInByInvitation(server, 'ada');
    const anonymous = new PortalBrowser(server);
    await anonymous.get('/portal/sign-in');
    const answers = [
      ['overview', await browser.get('/portal')],
      ['security questions', await browser.get('/portal/security-questions')],
      ['confirm', await browser.get('/portal/verify')],
      ['sign-in', await anonymous.get('/portal/sign-in')],
      ['code', await anonymous.post('/portal/sign-in', { alias: 'ada' })],
      ['invitation', await anonymous.get('/portal/invitation')],
      ['refused form', await anonymous.post('/portal/sign-in', { alias: 'ada' }, { csrf: null })],
      ['unreadable form', await anonymous.post('/portal/sign-in', { alias: 'x'.repeat(5000) })],
    ] as const;
    for (const [what, answer] of answers) {
      assert.equal(answer.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, what);
      assert.equal(answer.headers.get('cache-control'), 'no-store', what);
      assert.equal(answer.headers.get('x-frame-options'), 'DENY', what);
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', what);
      assert.equal(answer.headers.get('referrer-policy'), 'same-origin', what);
      assert.match(answer.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/, what);
      assert.doesNotMatch(answer.text, /<script>|<script [^>]*>[^<]|\son[a-z]+=|style="/i, `${what}: no inline script, handler or style`);
    }
  });

  it('escapes what a person typed when it shows it again', async () => {
    const browser = new PortalBrowser(server);
    await browser.get('/portal/sign-in');
    const answer = await browser.post('/portal/sign-in', { alias: '<img src=x onerror=alert(1)>' });
    assert.equal(answer.status, 200);
    assert.ok(!answer.text.includes('<img src=x'), 'not markup');
    assert.ok(answer.text.includes('&lt;img src=x onerror=alert(1)&gt;'));
  });
});

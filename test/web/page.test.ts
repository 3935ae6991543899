// The page shell: what a page shows is escaped (no markup injection through names or answers), the
// language is one we have, and every page carries the strict headers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY, chooseLocale, escapeHtml, html, renderPage } from '../../src/web/page.js';

describe('page markup', () => {
  it('escapes interpolated text, keeps nested Html, joins arrays and drops empty values', () => {
    const name = '<img src=x onerror="alert(1)">&\'';
    const item = (text: string) => html`<li>${text}</li>`;
    const out = html`<p title="${name}">${name}</p><ul>${['a<', 'b'].map(item)}</ul>${null}${undefined}${false}`.text;
    assert.equal(
      out,
      '<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;</p><ul><li>a&lt;</li><li>b</li></ul>',
    );
    assert.equal(escapeHtml('0'), '0');
    assert.equal(html`${0}`.text, '0');
  });

  it('renders a page in its language with external scripts only', () => {
    const page = renderPage({ title: 'Tom & Jerry', locale: 'de', body: html`<h1>${'x<y'}</h1>`, scripts: ['passkey.js'] });
    assert.match(page, /^<!doctype html>\n<html lang="de">/);
    assert.match(page, /<title>Tom &amp; Jerry<\/title>/);
    assert.match(page, /<h1>x&lt;y<\/h1>/);
    assert.match(page, /<script src="\/assets\/passkey.js" defer><\/script>/);
    assert.doesNotMatch(page, /<script>/, 'no inline script');
  });
});

describe('page language', () => {
  it('takes ?lang= when we have it', () => {
    assert.equal(chooseLocale('fr', 'de'), 'fr');
    assert.equal(chooseLocale('FR-ca', undefined), 'fr');
    assert.equal(chooseLocale('xx', 'de-DE,de;q=0.9'), 'de');
  });

  it('takes the best Accept-Language we have, by quality then order', () => {
    assert.equal(chooseLocale(undefined, 'es;q=1, fr;q=0.5, de;q=0.8'), 'de');
    assert.equal(chooseLocale(undefined, 'fr-CH, fr;q=0.9, en;q=0.8'), 'fr');
    assert.equal(chooseLocale(undefined, 'de;q=0, fr;q=0.1'), 'fr');
  });

  it('falls back to English', () => {
    assert.equal(chooseLocale(undefined, undefined), 'en');
    assert.equal(chooseLocale(undefined, 'ja, es'), 'en');
    assert.equal(chooseLocale(undefined, ';;;,q=,'), 'en');
  });
});

describe('content security policy', () => {
  it('allows scripts only from the service and nothing inline or from elsewhere', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(directives.get('form-action'), ["'self'"]);
    assert.ok(!CONTENT_SECURITY_POLICY.includes('unsafe'), 'no unsafe-inline or unsafe-eval');
  });
});

// The invitation message: in the person's language (with the token messages' fallback chain), with the
// link, the user name and a lifetime that is never longer than the real one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderInvitation } from '../../src/delivery/invitation.js';

const BASE = { to: 'ada@example.com', alias: 'ada', link: 'https://mfa.example.com/portal/invitation#abc', defaultLocale: 'en' };

describe('invitation message', () => {
  it('is an email with the link and the user name, in English by default', () => {
    const message = renderInvitation({ ...BASE, ttlSeconds: 86_400, locale: undefined });
    assert.equal(message.channel, 'email');
    assert.equal(message.to, 'ada@example.com');
    assert.equal(message.locale, 'en');
    assert.match(message.subject, /sign in/i);
    assert.ok(message.body.includes(BASE.link));
    assert.ok(message.body.includes('ada'));
    assert.match(message.body, /within 24 h/);
  });

  it('speaks German and French, by the person\'s locale and then by the default locale', () => {
    assert.equal(renderInvitation({ ...BASE, ttlSeconds: 86_400, locale: 'de-CH' }).locale, 'de');
    assert.match(renderInvitation({ ...BASE, ttlSeconds: 86_400, locale: 'de' }).body, /innerhalb von 24 Std\./);
    assert.match(renderInvitation({ ...BASE, ttlSeconds: 7200, locale: 'fr' }).body, /dans un délai de 2 h/);
    assert.equal(renderInvitation({ ...BASE, ttlSeconds: 86_400, locale: 'ja', defaultLocale: 'fr' }).locale, 'fr');
    assert.equal(renderInvitation({ ...BASE, ttlSeconds: 86_400, locale: 'ja' }).locale, 'en');
  });

  it('rounds the lifetime down, in minutes under an hour', () => {
    assert.match(renderInvitation({ ...BASE, ttlSeconds: 5399, locale: 'en' }).body, /within 1 h/);
    assert.match(renderInvitation({ ...BASE, ttlSeconds: 3599, locale: 'en' }).body, /within 59 min/);
    assert.match(renderInvitation({ ...BASE, ttlSeconds: 300, locale: 'de' }).body, /innerhalb von 5 Min\./);
  });
});

// The portal's session decisions as values: when a session has ended, whether it may change a factor,
// which form tokens and origins are accepted, and where a person may be sent back to.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  csrfTokenFor,
  csrfTokenMatches,
  isSessionLive,
  isSessionSecretShape,
  liveCutoffs,
  newSessionSecret,
  originAllowed,
  portalReturnPath,
  sessionIdHash,
  sessionMayChangeFactor,
} from '../../src/core/portal-session.js';

const TIMEOUTS = { idleSeconds: 900, maxSeconds: 14_400 };
const T0 = 1_800_000_000_000;
const KEY = Buffer.alloc(32, 7);

describe('session liveness', () => {
  it('ends a session exactly at the idle timeout after its last use', () => {
    const session = { createdAt: T0, lastSeenAt: T0 + 1000 };
    assert.equal(isSessionLive(session, T0 + 1000 + 899_999, TIMEOUTS), true);
    assert.equal(isSessionLive(session, T0 + 1000 + 900_000, TIMEOUTS), false);
  });

  it('ends a session exactly at the absolute timeout, however recently used', () => {
    const now = T0 + 14_400_000;
    assert.equal(isSessionLive({ createdAt: T0, lastSeenAt: now - 1 }, now - 1, TIMEOUTS), true);
    assert.equal(isSessionLive({ createdAt: T0, lastSeenAt: now - 1 }, now, TIMEOUTS), false);
  });

  it('gives the store the cutoffs the same decision needs', () => {
    assert.deepEqual(liveCutoffs(T0, TIMEOUTS), { lastSeenAfter: T0 - 900_000, createdAfter: T0 - 14_400_000 });
  });
});

describe('the factor-change rule in a session', () => {
  const WINDOW = 600_000;
  it('lets a first factor be set up without any verification (an invitation session)', () => {
    assert.equal(sessionMayChangeFactor(0, false, T0, WINDOW), true);
  });
  it('asks a session that never verified (an invitation) to verify before changing a factor it has', () => {
    assert.equal(sessionMayChangeFactor(0, true, T0, WINDOW), false);
  });
  it('accepts a verification in the session up to the window, not after', () => {
    assert.equal(sessionMayChangeFactor(T0, true, T0 + WINDOW, WINDOW), true);
    assert.equal(sessionMayChangeFactor(T0, true, T0 + WINDOW + 1, WINDOW), false);
  });
});

describe('session secrets and form tokens', () => {
  it('makes a 256-bit secret of the shape the cookie check accepts, from the random source', () => {
    const secret = newSessionSecret((size) => Buffer.alloc(size, 0xab));
    assert.equal(secret, Buffer.alloc(32, 0xab).toString('base64url'));
    assert.equal(isSessionSecretShape(secret), true);
    for (const bad of ['', 'short', `${secret}x`, `${secret.slice(0, 42)}!`, `${secret.slice(0, 42)}=`]) assert.equal(isSessionSecretShape(bad), false, bad);
  });

  it('stores a keyed hash of the secret, never the secret, different under another key', () => {
    const secret = newSessionSecret((size) => Buffer.alloc(size, 1));
    const hash = sessionIdHash(KEY, secret);
    assert.notEqual(hash, secret);
    assert.ok(!hash.includes(secret));
    assert.notEqual(sessionIdHash(Buffer.alloc(32, 8), secret), hash);
  });

  it('accepts only the token of this cookie and this scope', () => {
    const token = csrfTokenFor(KEY, 'session', 'secret-a');
    assert.equal(csrfTokenMatches(KEY, 'session', 'secret-a', token), true);
    assert.equal(csrfTokenMatches(KEY, 'session', 'secret-b', token), false, 'another session');
    assert.equal(csrfTokenMatches(KEY, 'pre-session', 'secret-a', token), false, 'a pre-session token is not a session token');
    assert.equal(csrfTokenMatches(Buffer.alloc(32, 8), 'session', 'secret-a', token), false, 'another key');
    for (const given of [undefined, '', token.slice(1), `${token}x`, [token], 42]) assert.equal(csrfTokenMatches(KEY, 'session', 'secret-a', given), false, String(given));
  });
});

describe('origin of a form', () => {
  const allowed = ['https://mfa.example.com', 'http://127.0.0.1:8080'];
  it('accepts the service\'s own origins, in any letter case', () => {
    assert.equal(originAllowed('https://mfa.example.com', allowed), true);
    assert.equal(originAllowed('HTTPS://MFA.EXAMPLE.COM', allowed), true);
    assert.equal(originAllowed('http://127.0.0.1:8080', allowed), true);
  });
  it('refuses another origin, a missing one and null', () => {
    for (const origin of ['https://evil.example', 'https://mfa.example.com.evil.example', 'http://mfa.example.com', 'https://mfa.example.com:444', 'null', undefined, '']) {
      assert.equal(originAllowed(origin, allowed), false, String(origin));
    }
  });
});

describe('where a person is sent back to', () => {
  it('keeps the portal\'s own pages', () => {
    assert.equal(portalReturnPath('/portal'), '/portal');
    assert.equal(portalReturnPath('/portal/security-questions'), '/portal/security-questions');
  });
  it('replaces anything else by the overview: other sites, other paths, queries, tricks', () => {
    for (const next of ['https://evil.example', '//evil.example', '/portal/../admin', '/portalx', '/portal/a?b=c', '/portal//x', '/\\evil', '/portal/A', undefined, 42]) {
      assert.equal(portalReturnPath(next), '/portal', String(next));
    }
  });
});

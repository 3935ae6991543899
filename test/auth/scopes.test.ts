// Defends scope checks: sp:scopes:all grants the spec's scopes and nothing of the extensions (operator
// API, metrics, exchange), and a token acting for an identity holds only that identity's verifications
// and security questions, whatever it says it holds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_SCOPE, ALL_SCOPES, IDENTITY_SCOPES, IMPERSONATE_SCOPE, KNOWN_SCOPES, METRICS_SCOPE, SPEC_SCOPES, allows, identityBound } from '../../src/auth/scopes.js';

describe('scopes', () => {
  it('a granted scope allows what accepts it; nothing else does', () => {
    assert.equal(allows(['idn:mfa:send'], ['idn:mfa:send']), true);
    assert.equal(allows(['idn:mfa:send'], ['idn:mfa:poll', 'idn:mfa:send']), true, 'any one accepted scope suffices');
    assert.equal(allows(['idn:mfa:send'], ['idn:mfa:poll']), false);
    assert.equal(allows([], ['idn:mfa:send']), false);
    assert.equal(allows(['idn:mfa:send'], []), false);
  });

  it('sp:scopes:all allows every spec scope and none of the extension scopes', () => {
    for (const scope of SPEC_SCOPES) assert.equal(allows([ALL_SCOPES], [scope]), true, scope);
    for (const scope of [ADMIN_SCOPE, IMPERSONATE_SCOPE, METRICS_SCOPE]) assert.equal(allows([ALL_SCOPES], [scope]), false, scope);
  });

  it('a token acting for an identity holds only the identity scopes, sp:scopes:all included', () => {
    assert.equal(allows(['idn:mfa-configuration:manage'], ['idn:mfa-configuration:manage'], true), false);
    assert.equal(allows([ALL_SCOPES], ['idn:mfa-configuration:read'], true), false);
    assert.equal(allows([ADMIN_SCOPE], [ADMIN_SCOPE], true), false);
    assert.equal(allows([ALL_SCOPES], ['idn:mfa:verify'], true), true);
    assert.equal(allows(['idn:mfa:poll'], ['idn:mfa:poll'], true), true);
  });

  it('spells out sp:scopes:all for an identity, without duplicates, and drops what is not the identity\'s', () => {
    assert.deepEqual(identityBound([ALL_SCOPES]), [...IDENTITY_SCOPES]);
    assert.deepEqual(identityBound(['idn:mfa:send', ALL_SCOPES, 'idn:mfa-configuration:manage']), [...IDENTITY_SCOPES]);
    assert.deepEqual(identityBound(['idn:mfa:poll', 'idn:mfa:poll', METRICS_SCOPE]), ['idn:mfa:poll']);
    assert.deepEqual(identityBound([]), []);
  });

  it('uses the names clients ask for on the wire, and knows every one of them', () => {
    assert.deepEqual([ALL_SCOPES, ADMIN_SCOPE, IMPERSONATE_SCOPE, METRICS_SCOPE], ['sp:scopes:all', 'mfa:admin', 'mfa:impersonate', 'mfa:metrics']);
    assert.deepEqual(IDENTITY_SCOPES, ['idn:mfa:send', 'idn:mfa:poll', 'idn:mfa:verify', 'idn:mfa-kba:read', 'idn:mfa-kba:authenticate']);
    assert.deepEqual([...KNOWN_SCOPES].sort(), [...SPEC_SCOPES, 'sp:scopes:all', 'mfa:admin', 'mfa:impersonate', 'mfa:metrics'].sort());
    assert.equal(SPEC_SCOPES.length, 7);
  });
});

// Invitation tokens: 256 random bits, carried in the link's fragment (never sent to a server or in a
// Referer), stored as a keyed hash bound to its purpose.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invitationHash, invitationLink, isInvitationTokenShape, newInvitationToken } from '../../src/core/invitation.js';
import { keyedHash } from '../../src/core/secrets.js';

describe('invitations', () => {
  it('draws 32 bytes from the random source, as 43 base64url characters', () => {
    let asked = 0;
    const token = newInvitationToken((size) => {
      asked = size;
      return Buffer.alloc(size, 0xfe);
    });
    assert.equal(asked, 32);
    assert.equal(token, Buffer.alloc(32, 0xfe).toString('base64url'));
    assert.equal(isInvitationTokenShape(token), true);
    assert.equal(isInvitationTokenShape(token.slice(1)), false);
    assert.equal(isInvitationTokenShape(`${token.slice(1)}/`), false);
  });

  it('puts the token in the fragment of the portal\'s invitation page', () => {
    const link = invitationLink('https://mfa.example.com/', 'T'.repeat(43));
    assert.equal(link, `https://mfa.example.com/portal/invitation#${'T'.repeat(43)}`);
    const url = new URL(link);
    assert.equal(url.pathname, '/portal/invitation');
    assert.equal(url.search, '', 'nothing in the query, which servers and proxies log');
  });

  it('keeps a keyed hash bound to invitations, not a session\'s or a token\'s hash of the same text', () => {
    const key = Buffer.alloc(32, 3);
    const hash = invitationHash(key, 'x'.repeat(43));
    assert.notEqual(hash, 'x'.repeat(43));
    assert.notEqual(hash, keyedHash(key, 'portal-session', 'x'.repeat(43)));
    assert.equal(hash, keyedHash(key, 'portal-invitation', 'x'.repeat(43)));
  });
});

// Defends the one retention rule for decided verifications and the completion answer, as pure decisions:
// every method's decision at once is kept the same time (before, Okta kept its failures 0 ms, RSA 10 min,
// KBA and Duo 24 h), a pending verification keeps the expiry its method gave it, and a completion that
// lost the race answers what the winner recorded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Verification } from '../../src/core/model.js';
import { DECIDED_RETENTION_MS, completionAnswer, decidedVerification, pendingVerification } from '../../src/core/verification.js';

const NOW = 1_700_000_000_000;

describe('the verification lifecycle', () => {
  it('keeps every decision made at once for the same time, whatever the method', () => {
    for (const method of ['kba', 'duo-web', 'okta-verify', 'rsa'] as const) {
      const v = decidedVerification({ id: 'r1', method, subject: 'ann', clientId: 'c', status: 'FAILED', error: 'no', now: NOW });
      assert.equal(v.expiresAt - NOW, DECIDED_RETENTION_MS, method);
      assert.deepEqual([v.status, v.error, v.completedAt, v.createdAt, v.attempts], ['FAILED', 'no', NOW, NOW, 1]);
    }
    assert.equal(DECIDED_RETENTION_MS, 24 * 3600 * 1000);
  });

  it('keeps a fingerprint of what was decided, never anything else of the secret', () => {
    const v = decidedVerification({ id: 'r1', method: 'duo-web', subject: 'ann', clientId: 'c', status: 'SUCCESS', error: null, secretHash: 'fp', now: NOW });
    assert.equal(v.secretHash, 'fp');
    assert.equal(decidedVerification({ id: 'r2', method: 'kba', subject: 'ann', clientId: 'c', status: 'SUCCESS', error: null, now: NOW }).secretHash, null);
  });

  it('starts a pending verification with the expiry its method chose and nothing decided', () => {
    const v = pendingVerification({ id: 'p1', method: 'rsa', subject: 'ann', clientId: 'c', now: NOW, expiresAt: NOW + 180_000 });
    assert.deepEqual([v.status, v.error, v.completedAt, v.attempts, v.expiresAt], ['PENDING', null, null, 0, NOW + 180_000]);
  });

  it('answers a lost completion with what the winner recorded, and its own when the row is gone', () => {
    const mine = { status: 'FAILED' as const, error: 'rejected' };
    const pending = pendingVerification({ id: 'p1', method: 'okta-verify', subject: 'ann', clientId: 'c', now: NOW, expiresAt: NOW + 1000 });
    const theirs: Verification = { ...pending, status: 'SUCCESS', completedAt: NOW };
    assert.deepEqual(completionAnswer(true, mine, theirs, NOW), mine);
    assert.deepEqual(completionAnswer(false, mine, theirs, NOW), { status: 'SUCCESS', error: null });
    assert.deepEqual(completionAnswer(false, mine, undefined, NOW), mine);
  });
});

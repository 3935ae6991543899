// Defends the one-time token's decisions as rules of their own: a locked identity gets no check, an
// expired or answered verification cannot be completed, and the edges fall at exactly `now` (a token
// expiring at `now` is expired, a lockout ending at `now` is over). The SQL store repeats some of these
// conditions in its atomic updates; these tests keep the pure rules honest whatever the store does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Verification } from '../../src/core/model.js';
import {
  ERROR_LOCKED,
  ERROR_SUPERSEDED,
  earlyAnswer,
  lockAfterWrongGuess,
  precheckGuess,
  type TokenPolicy,
} from '../../src/core/token-rules.js';
import { ERROR_EXPIRED, ERROR_UNKNOWN_REQUEST, UNKNOWN_REQUEST, statusAt } from '../../src/core/verification.js';

const NOW = 1_000_000;

const pending: Verification = {
  id: 'v1',
  method: 'token',
  subject: 'alice',
  clientId: 'c1',
  deliveryType: 'EMAIL_WORK',
  secretHash: 'h',
  status: 'PENDING',
  error: null,
  attempts: 0,
  createdAt: NOW - 60_000,
  expiresAt: NOW + 1,
  completedAt: null,
};

const policy: TokenPolicy = {
  length: 6,
  ttlSeconds: 300,
  maxAttempts: 3,
  maxFailuresPerIdentity: 10,
  failureWindowSeconds: 900,
  lockoutSeconds: 600,
  resendIntervalSeconds: 30,
};

describe('token status at a poll', () => {
  it('a pending verification is pending until one millisecond before its expiry, and failed from it on', () => {
    assert.deepEqual(statusAt(pending, NOW), { status: 'PENDING', error: null });
    assert.deepEqual(statusAt(pending, NOW + 1), { status: 'FAILED', error: ERROR_EXPIRED });
  });

  it('an answered verification keeps its status and error after its expiry', () => {
    const done = { ...pending, status: 'SUCCESS' as const, expiresAt: NOW - 1 };
    assert.deepEqual(statusAt(done, NOW), { status: 'SUCCESS', error: null });
    const locked = { ...pending, status: 'LOCKOUT' as const, error: 'locked', expiresAt: NOW - 1 };
    assert.deepEqual(statusAt(locked, NOW), { status: 'LOCKOUT', error: 'locked' });
  });

  it('each failure says why in a sentence of its own, since callers show it', () => {
    const reasons = [ERROR_EXPIRED, ERROR_SUPERSEDED, ERROR_LOCKED, ERROR_UNKNOWN_REQUEST];
    for (const reason of reasons) assert.match(reason, /^[A-Z][^]{10,}\.$/);
    assert.equal(new Set(reasons).size, reasons.length);
  });

  it('an unknown request id fails with one fixed answer', () => {
    assert.deepEqual(UNKNOWN_REQUEST, { status: 'FAILED', error: ERROR_UNKNOWN_REQUEST });
  });
});

describe('token precheck', () => {
  it('an identity locked beyond now is locked, even with a pending token; a lockout ending at now is over', () => {
    assert.deepEqual(precheckGuess(NOW + 1, pending, 'EMAIL_WORK', NOW), { kind: 'locked' });
    assert.deepEqual(precheckGuess(NOW, pending, 'EMAIL_WORK', NOW), { kind: 'open', verification: pending });
  });

  it('without a current verification for the same delivery type there is nothing to match', () => {
    assert.deepEqual(precheckGuess(0, undefined, 'EMAIL_WORK', NOW), { kind: 'no-token' });
    assert.deepEqual(precheckGuess(0, pending, 'SMS_PERSONAL', NOW), { kind: 'no-token' });
  });

  it('a verification locked out is locked; one answered or expired is closed', () => {
    assert.deepEqual(precheckGuess(0, { ...pending, status: 'LOCKOUT' }, 'EMAIL_WORK', NOW), { kind: 'locked' });
    assert.deepEqual(precheckGuess(0, { ...pending, status: 'SUCCESS' }, 'EMAIL_WORK', NOW), { kind: 'closed' });
    assert.deepEqual(precheckGuess(0, { ...pending, status: 'FAILED' }, 'EMAIL_WORK', NOW), { kind: 'closed' });
  });

  it('a token expiring at exactly now is closed; one expiring a millisecond later is open', () => {
    assert.deepEqual(precheckGuess(0, { ...pending, expiresAt: NOW }, 'EMAIL_WORK', NOW), { kind: 'closed' });
    assert.equal(precheckGuess(0, { ...pending, expiresAt: NOW + 1 }, 'EMAIL_WORK', NOW).kind, 'open');
  });

  it('answers LOCKOUT, NOT_ENOUGH_DATA or FAILED for the outcomes that end the call early', () => {
    assert.equal(earlyAnswer({ kind: 'locked' }), 'LOCKOUT');
    assert.equal(earlyAnswer({ kind: 'no-token' }), 'NOT_ENOUGH_DATA');
    assert.equal(earlyAnswer({ kind: 'closed' }), 'FAILED');
  });
});

describe('lockout after a wrong token', () => {
  it('no lock while tries remain', () => {
    assert.equal(lockAfterWrongGuess(policy.maxAttempts - 1, 0, policy, NOW), undefined);
  });

  it('the last try locks the identity for the lockout period from now', () => {
    assert.equal(lockAfterWrongGuess(policy.maxAttempts, 0, policy, NOW), NOW + 600_000);
    assert.equal(lockAfterWrongGuess(policy.maxAttempts + 2, 0, policy, NOW), NOW + 600_000);
  });

  it('an identity already locked beyond now keeps its lock as it is, not extended', () => {
    assert.equal(lockAfterWrongGuess(0, NOW + 5, policy, NOW), NOW + 5);
    assert.equal(lockAfterWrongGuess(policy.maxAttempts, NOW + 5, policy, NOW), NOW + 5);
  });

  it('a lock that ended at exactly now no longer counts', () => {
    assert.equal(lockAfterWrongGuess(0, NOW, policy, NOW), undefined);
    assert.equal(lockAfterWrongGuess(policy.maxAttempts, NOW, policy, NOW), NOW + 600_000);
  });
});

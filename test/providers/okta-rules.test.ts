// Defends the pure decisions of the Okta Verify method: only an active Okta Verify push enrolment is
// challenged, every transaction result has one meaning, and only a real IP address is forwarded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_PUSH_TTL_MS,
  decodePushState,
  encodePushState,
  forwardedAddress,
  pickPushFactor,
  pushCounterKey,
  pushExpiresAt,
  pushedUserCounterKey,
  resultStatus,
  retryAfterSeconds,
  ERROR_OKTA_MISSING_FORWARDING as ERROR_MISSING_FORWARDING,
  ERROR_OKTA_NO_USER as ERROR_NO_OKTA_USER,
  ERROR_OKTA_NO_PUSH_FACTOR as ERROR_NO_PUSH_FACTOR,
  ERROR_OKTA_RATE_LIMITED,
  ERROR_OKTA_REJECTED as ERROR_REJECTED,
  ERROR_OKTA_TIMEOUT as ERROR_TIMEOUT,
  ERROR_OKTA_TRANSACTION_GONE as ERROR_TRANSACTION_GONE,
} from '../../src/core/okta-verify.js';
import { oktaBaseUrl } from '../../src/providers/okta/client.js';

describe('Okta Verify rules', () => {
  it('picks the active OKTA push factor and nothing else', () => {
    const factors = [
      { id: 'sms', factorType: 'sms', provider: 'OKTA', status: 'ACTIVE' },
      { id: 'pending', factorType: 'push', provider: 'OKTA', status: 'PENDING_ACTIVATION' },
      { id: 'other', factorType: 'push', provider: 'CUSTOM', status: 'ACTIVE' },
      { id: 'opf1', factorType: 'push', provider: 'OKTA', status: 'ACTIVE' },
    ];
    assert.equal(pickPushFactor(factors)?.id, 'opf1');
    assert.equal(pickPushFactor(factors.slice(0, 3)), undefined);
  });

  it('maps every factorResult', () => {
    assert.deepEqual(resultStatus('WAITING'), { status: 'PENDING', error: null, final: false });
    assert.deepEqual(resultStatus('SUCCESS'), { status: 'SUCCESS', error: null, final: true });
    for (const result of ['REJECTED', 'TIMEOUT', 'PASSCODE_REPLAYED', 'CANCELLED', 'ERROR', 'FAILED', 'TIME_WINDOW_EXCEEDED', 'CHALLENGE', 'SOMETHING_NEW']) {
      const view = resultStatus(result);
      assert.equal(view.status, 'FAILED', result);
      assert.equal(view.final, true);
      assert.ok(view.error);
    }
    assert.match(resultStatus('TIME_WINDOW_EXCEEDED').error!, /TIME_WINDOW_EXCEEDED/);
  });

  it('accepts one IPv4 or IPv6 address in slpt-forwarding', () => {
    assert.equal(forwardedAddress(' 203.0.113.7 '), '203.0.113.7');
    assert.equal(forwardedAddress('2001:db8::1'), '2001:db8::1');
    for (const bad of [undefined, '', 'example.com', '203.0.113.7, 10.0.0.1', '999.1.1.1']) assert.equal(forwardedAddress(bad), undefined, String(bad));
  });

  it("expires a push at Okta's expiresAt when believable, else after the default", () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(pushExpiresAt('2025-01-01T00:04:00.000Z', now), now + 240_000);
    assert.equal(pushExpiresAt(undefined, now), now + DEFAULT_PUSH_TTL_MS);
    assert.equal(pushExpiresAt('garbage', now), now + DEFAULT_PUSH_TTL_MS);
    assert.equal(pushExpiresAt('2024-12-31T00:00:00Z', now), now + DEFAULT_PUSH_TTL_MS);
    assert.equal(pushExpiresAt('2030-01-01T00:00:00Z', now), now + DEFAULT_PUSH_TTL_MS);
  });

  it('round-trips the provider state and refuses a damaged one', () => {
    const state = { oktaUserId: '00u1', factorId: 'opf1', transactionId: 'v2mst.1' };
    assert.deepEqual(decodePushState(encodePushState(state)), state);
    assert.equal(decodePushState('{"oktaUserId":1}'), undefined);
    assert.equal(decodePushState('not json'), undefined);
    assert.equal(decodePushState(undefined), undefined);
  });

  it('counts pushes per login without case, and builds the org URL', () => {
    assert.equal(pushCounterKey(' Ana@Example.com'), pushCounterKey('ana@example.com'));
    assert.equal(oktaBaseUrl('example.okta.com'), 'https://example.okta.com');
    assert.equal(oktaBaseUrl('http://127.0.0.1:9999/'), 'http://127.0.0.1:9999');
  });

  it('says which way a push ended: rejected, or not answered in time', () => {
    assert.equal(resultStatus('REJECTED').error, ERROR_REJECTED);
    assert.equal(resultStatus('TIMEOUT').error, ERROR_TIMEOUT);
    assert.equal(resultStatus('CANCELLED').error, 'Okta Verify push ended with CANCELLED.');
  });

  it('believes an expiry after now and at most a day ahead, edges included or excluded as stated', () => {
    const now = Date.parse('2025-01-01T00:00:00.000Z');
    assert.equal(pushExpiresAt('2025-01-01T00:00:00.000Z', now), now + DEFAULT_PUSH_TTL_MS, 'at exactly now: already over, not believed');
    assert.equal(pushExpiresAt('2025-01-01T00:00:00.001Z', now), now + 1);
    assert.equal(pushExpiresAt('2025-01-02T00:00:00.000Z', now), now + 86_400_000, 'exactly a day ahead is believed');
    assert.equal(pushExpiresAt('2025-01-02T00:00:00.001Z', now), now + DEFAULT_PUSH_TTL_MS);
  });

  it('takes the first of repeated slpt-forwarding headers', () => {
    assert.equal(forwardedAddress(['203.0.113.7', '10.0.0.1']), '203.0.113.7');
    assert.equal(forwardedAddress(['not an address', '203.0.113.7']), undefined);
  });

  it('refuses a stored push state missing any identifier', () => {
    assert.equal(decodePushState('{"oktaUserId":"u","factorId":"f"}'), undefined);
    assert.equal(decodePushState('{"oktaUserId":"u","transactionId":"t"}'), undefined);
    assert.equal(decodePushState('{"factorId":"f","transactionId":"t"}'), undefined);
    assert.deepEqual(decodePushState('{"oktaUserId":"u","factorId":"f","transactionId":"t","extra":1}'), { oktaUserId: 'u', factorId: 'f', transactionId: 't' });
  });

  it('counts pushes per Okta user apart from per login, and asks for at least a second of patience', () => {
    assert.notEqual(pushedUserCounterKey('00u1'), pushCounterKey('00u1'));
    assert.equal(pushedUserCounterKey('00u1'), pushedUserCounterKey('00u1'));
    assert.notEqual(pushedUserCounterKey('00u1'), pushedUserCounterKey('00U1'), 'Okta user ids are exact');
    assert.equal(retryAfterSeconds(0), 1);
    assert.equal(retryAfterSeconds(1000), 1);
    assert.equal(retryAfterSeconds(1001), 2);
    assert.equal(retryAfterSeconds(59_500), 60);
  });

  it('keeps one push counter per login (any case) and never shares it between logins', () => {
    assert.equal(typeof pushCounterKey('ana@example.com'), 'string');
    assert.notEqual(pushCounterKey('ana@example.com'), pushCounterKey('bob@example.com'));
    assert.equal(pushCounterKey('ANA@example.com '), pushCounterKey('ana@EXAMPLE.com'));
  });

  it('each failure reason is a distinct sentence, since callers show it', () => {
    const reasons = [ERROR_NO_PUSH_FACTOR, ERROR_NO_OKTA_USER, ERROR_REJECTED, ERROR_TIMEOUT, ERROR_TRANSACTION_GONE, ERROR_OKTA_RATE_LIMITED, ERROR_MISSING_FORWARDING];
    for (const reason of reasons) assert.match(reason, /^[A-Z].{10,}\.$/);
    assert.equal(new Set(reasons).size, reasons.length);
  });
});

// The MFA_TOTP_* settings: the defaults every authenticator app reads, and a bad value stopping start-up
// with the variable named, as for every setting.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

it('defaults: SHA-1, 6 digits, 30 s, one step either side, 5 wrong codes per 15 minutes, 10 minutes to confirm', () => {
  assert.deepEqual(loadConfig({}).totp, {
    issuer: 'mfa-controller',
    parameters: { algorithm: 'SHA1', digits: 6, periodSeconds: 30 },
    windowSteps: 1,
    maxFailures: 5,
    failureWindowSeconds: 900,
    lockoutSeconds: 900,
    enrolmentTtlSeconds: 600,
  });
});

it('reads every setting', () => {
  const totp = loadConfig({
    MFA_TOTP_ISSUER: ' Example Corp ',
    MFA_TOTP_ALGORITHM: 'SHA256',
    MFA_TOTP_DIGITS: '8',
    MFA_TOTP_PERIOD_SECONDS: '60',
    MFA_TOTP_WINDOW_STEPS: '0',
    MFA_TOTP_MAX_FAILURES: '3',
    MFA_TOTP_FAILURE_WINDOW_SECONDS: '60',
    MFA_TOTP_LOCKOUT_SECONDS: '120',
    MFA_TOTP_ENROLMENT_TTL_SECONDS: '300',
  }).totp;
  assert.deepEqual(totp, {
    issuer: 'Example Corp',
    parameters: { algorithm: 'SHA256', digits: 8, periodSeconds: 60 },
    windowSteps: 0,
    maxFailures: 3,
    failureWindowSeconds: 60,
    lockoutSeconds: 120,
    enrolmentTtlSeconds: 300,
  });
});

it('refuses values no app could use, naming each variable', () => {
  for (const [name, value] of [
    ['MFA_TOTP_ALGORITHM', 'MD5'],
    ['MFA_TOTP_ALGORITHM', 'sha1'],
    ['MFA_TOTP_DIGITS', '7'],
    ['MFA_TOTP_PERIOD_SECONDS', '5'],
    ['MFA_TOTP_WINDOW_STEPS', '6'],
    ['MFA_TOTP_ISSUER', 'x'.repeat(65)],
    ['MFA_TOTP_ISSUER', '   '],
    ['MFA_TOTP_ENROLMENT_TTL_SECONDS', '7200'],
  ] as const) {
    assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => err instanceof ConfigError && err.variable === name, `${name}=${value}`);
  }
});

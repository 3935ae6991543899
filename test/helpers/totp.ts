// Authenticator-app calls over HTTP, and the codes an app would show, computed with otpauth from the secret
// the enrolment returned (independently of the service's own code).
import assert from 'node:assert/strict';
import { Secret, TOTP } from 'otpauth';
import { postJson, type TestServer } from './server.js';

export interface Answer {
  readonly status: number;
  readonly body: any;
}

/** The code an app shows `stepsFromNow` steps from `nowMs` for this secret (SHA-1, 6 digits, 30 s unless told). */
export function appCode(secretBase32: string, nowMs: number, stepsFromNow = 0, options: { algorithm?: string; digits?: number; period?: number } = {}): string {
  const period = options.period ?? 30;
  return TOTP.generate({
    secret: Secret.fromBase32(secretBase32),
    algorithm: options.algorithm ?? 'SHA1',
    digits: options.digits ?? 6,
    period,
    timestamp: nowMs + stepsFromNow * period * 1000,
  });
}

/** A code that is none of the window's codes: the right one, changed in its last digit until it differs from every neighbour. */
export function wrongCode(secretBase32: string, nowMs: number, windowSteps = 1): string {
  const taken = new Set(Array.from({ length: 2 * windowSteps + 1 }, (_, i) => appCode(secretBase32, nowMs, i - windowSteps)));
  let code = appCode(secretBase32, nowMs);
  while (taken.has(code)) code = code.slice(0, -1) + String((Number(code.slice(-1)) + 1) % 10);
  return code;
}

/** A clock the test moves by hand, starting 10 s into a 30 s step so a step never changes on its own. */
export function steppedClock(): { now(): number; advance(ms: number): void } {
  let now = Math.floor(Date.now() / 30_000) * 30_000 + 10_000;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

export function totpCalls(server: TestServer, token: string, prefix = '/v3') {
  const query = (alias: string) => `userAlias=${encodeURIComponent(alias)}`;
  const call = async (method: string, path: string): Promise<Answer> => {
    const response = await fetch(`${server.baseUrl}${prefix}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    enrol: (userAlias: string) => postJson(server, `${prefix}/mfa/totp/enrol`, token, { userAlias }),
    confirm: (userAlias: string, totpCode: string) => postJson(server, `${prefix}/mfa/totp/confirm`, token, { userAlias, totpCode }),
    authenticate: (userAlias: string, totpCode: string) => postJson(server, `${prefix}/mfa/totp/authenticate`, token, { userAlias, totpCode }),
    poll: (requestId: string) => postJson(server, `${prefix}/mfa/totp/poll`, token, { requestId }),
    status: (userAlias: string) => call('GET', `/mfa/totp/status?${query(userAlias)}`),
    reset: (userAlias: string) => call('DELETE', `/mfa/totp/registration?${query(userAlias)}`),
    /** Enrols and confirms `userAlias` at `nowMs`; the base32 secret. */
    async register(userAlias: string, nowMs: number): Promise<string> {
      const enrolled = await postJson(server, `${prefix}/mfa/totp/enrol`, token, { userAlias });
      assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
      const confirmed = await postJson(server, `${prefix}/mfa/totp/confirm`, token, { userAlias, totpCode: appCode(enrolled.body.secret, nowMs) });
      assert.deepEqual(confirmed.body, { mfaVerified: true });
      return enrolled.body.secret as string;
    },
  };
}

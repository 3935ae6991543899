// Defends authenticator codes against guessing and replay, also under concurrency (docs/totp.md): at most
// MFA_TOTP_MAX_FAILURES codes of an identity are ever compared per window, whichever clients send them and
// however many arrive at once; then the identity is locked out (even the right code is refused). A code
// once accepted is never accepted again. The lockout counts where every lockout counts: the factor-change
// rule refuses changes during it, and an operator's unlock ends it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Sealer } from '../../src/auth/seal.js';
import type { AuditEvent } from '../../src/core/audit.js';
import type { AuditSink, Store } from '../../src/core/ports.js';
import { ERROR_CHANGE_LOCKED } from '../../src/methods/kba/service.js';
import { secretToBase32 } from '../../src/methods/totp/core.js';
import { ERROR_TOTP_LOCKED, TotpService } from '../../src/methods/totp/service.js';
import { readTotpSettings } from '../../src/methods/totp/settings.js';
import type { TotpStore } from '../../src/methods/totp/store.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { appCode, steppedClock, totpCalls, wrongCode } from '../helpers/totp.js';

const MAX_FAILURES = 5;
const LOCKOUT_SECONDS = 1800;

describeEachDatabase('TOTP brute force and replay', ({ postgres }) => {
  let server: TestServer;
  let counter = 0;
  const clock = steppedClock();

  before(async () => {
    server = await startServer({
      postgres,
      clock,
      env: {
        MFA_TOTP_MAX_FAILURES: String(MAX_FAILURES),
        MFA_TOTP_FAILURE_WINDOW_SECONDS: '900',
        MFA_TOTP_LOCKOUT_SECONDS: String(LOCKOUT_SECONDS),
        MFA_KBA_ARGON2_MEMORY_KIB: '1024',
        MFA_KBA_ARGON2_TIME_COST: '1',
        MFA_KBA_MIN_ANSWERS: '1',
      },
    });
  });
  after(async () => {
    await server.close();
  });

  async function registered(): Promise<{ alias: string; secret: string; api: ReturnType<typeof totpCalls> }> {
    const alias = `guess.${++counter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    const api = totpCalls(server, await server.accessToken(['sp:scopes:all']));
    const secret = await api.register(alias, clock.now());
    clock.advance(30_000);
    return { alias, secret, api };
  }

  /** Distinct wrong codes for the current window. */
  function wrongCodes(secret: string, count: number): string[] {
    const right = new Set([-1, 0, 1].map((s) => appCode(secret, clock.now(), s)));
    const codes: string[] = [];
    for (let n = 0; codes.length < count; n++) {
      const code = String(n * 7919 % 1_000_000).padStart(6, '0');
      if (!right.has(code) && !codes.includes(code)) codes.push(code);
    }
    return codes;
  }

  it(`${MAX_FAILURES} wrong codes lock the identity out; then even the right code answers LOCKOUT, until the lockout ends`, async () => {
    const { alias, secret, api } = await registered();
    const statuses: string[] = [];
    for (const code of wrongCodes(secret, MAX_FAILURES)) statuses.push((await api.authenticate(alias, code)).body.status);
    assert.deepEqual(statuses, [...Array(MAX_FAILURES - 1).fill('FAILED'), 'LOCKOUT']);
    const refused = await api.authenticate(alias, appCode(secret, clock.now()));
    assert.deepEqual([refused.body.status, refused.body.error], ['LOCKOUT', ERROR_TOTP_LOCKED]);
    assert.equal((await api.poll(refused.body.requestId)).body.status, 'LOCKOUT');

    clock.advance(LOCKOUT_SECONDS * 1000 - 60_000);
    assert.equal((await api.authenticate(alias, appCode(secret, clock.now()))).body.status, 'LOCKOUT', 'a minute before the end');
    clock.advance(60_000);
    assert.equal((await api.authenticate(alias, appCode(secret, clock.now()))).body.status, 'SUCCESS', 'after the lockout');
  });

  it('a success clears the count of wrong codes', async () => {
    const { alias, secret, api } = await registered();
    for (const code of wrongCodes(secret, MAX_FAILURES - 1)) assert.equal((await api.authenticate(alias, code)).body.status, 'FAILED');
    assert.equal((await api.authenticate(alias, appCode(secret, clock.now()))).body.status, 'SUCCESS');
    clock.advance(30_000);
    for (const code of wrongCodes(secret, MAX_FAILURES - 1)) assert.equal((await api.authenticate(alias, code)).body.status, 'FAILED');
  });

  it(`20 concurrent wrong codes compare exactly ${MAX_FAILURES}: the rest are refused unread, and the right code after them too`, async () => {
    const { alias, secret, api } = await registered();
    const answers = await Promise.all(wrongCodes(secret, 20).map((code) => api.authenticate(alias, code)));
    const statuses = answers.map((a) => a.body.status as string);
    assert.equal(statuses.filter((s) => s === 'FAILED').length, MAX_FAILURES - 1, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 'LOCKOUT').length, 20 - (MAX_FAILURES - 1), statuses.join(' '));
    assert.equal((await api.authenticate(alias, appCode(secret, clock.now()))).body.status, 'LOCKOUT');
  });

  it('the budget is the identity\'s: wrong codes from different clients add up', async () => {
    const { alias, secret } = await registered();
    const clients = await Promise.all(Array.from({ length: MAX_FAILURES }, () => server.accessToken(['idn:mfa:verify'])));
    const codes = wrongCodes(secret, MAX_FAILURES);
    const statuses: string[] = [];
    for (const [i, token] of clients.entries()) statuses.push((await totpCalls(server, token).authenticate(alias, codes[i]!)).body.status);
    assert.equal(statuses.at(-1), 'LOCKOUT', statuses.join(' '));
  });

  it('a replayed code is refused, however often, and never becomes a success', async () => {
    const { alias, secret, api } = await registered();
    const code = appCode(secret, clock.now());
    assert.equal((await api.authenticate(alias, code)).body.status, 'SUCCESS');
    const replays = await Promise.all(Array.from({ length: 3 }, () => api.authenticate(alias, code)));
    assert.deepEqual(replays.map((r) => r.body.status), ['FAILED', 'FAILED', 'FAILED']);
    clock.advance(30_000);
    assert.notEqual((await api.authenticate(alias, code)).body.status, 'SUCCESS', 'not in the next step either');
  });

  it('wrong codes count against the client\'s failed-check budget too (429 past it)', async () => {
    const limited = await startServer({ postgres, clock, env: { MFA_RATE_FAILED_CHECKS_PER_CLIENT: '3', MFA_TOTP_MAX_FAILURES: '100' } });
    try {
      await limited.addIdentity('budget', {});
      const api = totpCalls(limited, await limited.accessToken(['sp:scopes:all']));
      const secret = await api.register('budget', clock.now());
      for (let i = 0; i < 3; i++) assert.equal((await api.authenticate('budget', wrongCode(secret, clock.now()))).status, 200);
      const refused = await api.authenticate('budget', appCode(secret, clock.now(), 1));
      assert.equal(refused.status, 429);
    } finally {
      await limited.close();
    }
  });

  it('a TOTP lockout refuses changing any factor, and an operator\'s unlock ends it', async () => {
    const { alias, secret, api } = await registered();
    const personal = await server.personalClient(alias);
    const own = await personal.token();
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: clock.now() });
    // A recent verification: answers beside the app are a factor change too.
    assert.equal((await api.authenticate(alias, appCode(secret, clock.now()))).body.status, 'SUCCESS', 'a recent verification');
    assert.equal((await postJson(server, '/v3/mfa/kba/config/answers', own, [{ id: 'pet', answer: 'Rex' }])).status, 200);
    for (const code of wrongCodes(secret, MAX_FAILURES)) await api.authenticate(alias, code);
    const change = await postJson(server, '/v3/mfa/kba/config/answers', own, [{ id: 'pet', answer: 'Changed' }]);
    assert.equal(change.status, 403);
    assert.equal(change.body.messages[0].text, ERROR_CHANGE_LOCKED);

    const admin = await server.accessToken(['mfa:admin']);
    const unlocked = await postJson(server, `/admin/v1/identities/${alias}/unlock`, admin, {});
    assert.deepEqual(unlocked.body.wasLocked.map((l: { method: string }) => l.method), ['totp']);
    clock.advance(30_000);
    assert.equal((await api.authenticate(alias, appCode(secret, clock.now()))).body.status, 'SUCCESS', 'unlocked');
  });
});

// Checks that arrive together all read the lockout before any of them is counted, so some are counted
// past the budget. Such a check is answered LOCKOUT whatever its code; its time must not tell either: a
// right code past the budget must go through exactly the store calls of a wrong one, or how long the
// answer takes would say which code was right.
describe('TOTP checks counted past the budget', () => {
  const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
  const SECRET = randomBytes(20);
  const defaults = { string: (_n: string, fallback: string) => fallback, int: (_n: string, fallback: number) => fallback, oneOf: <T extends string>(_n: string, _a: readonly T[], fallback: T) => fallback, problem: () => undefined };
  const settings = { ...readTotpSettings(defaults), maxFailures: MAX_FAILURES };

  /** The service with a store that records every call and counts each check one past the budget. */
  function serviceCountingPastTheBudget(): { service: TotpService; calls: string[] } {
    const calls: string[] = [];
    const sealer = new Sealer(randomBytes(32));
    const sealedSecret = sealer.seal(JSON.stringify({ secret: secretToBase32(SECRET), algorithm: 'SHA1', digits: 6, periodSeconds: 30 }));
    const registrations = {
      findForCheck: async () => ({ found: { identityId: 'id-1', active: { id: 'reg-1', sealedSecret, confirmedAt: NOW - 86_400_000, lastStep: 0 }, pending: null }, lockedUntil: 0 }),
      acceptStep: async () => {
        calls.push('acceptStep');
        return true;
      },
    } as unknown as TotpStore;
    const pastTheBudget = { failures: MAX_FAILURES + 1, lockedUntil: NOW + LOCKOUT_SECONDS * 1000 };
    const store = new Proxy({} as Store, {
      get: (_target, name) => {
        if (name === 'then') return undefined;
        return async (...args: unknown[]) => {
          calls.push(String(name));
          if (name === 'recordFailureWithDecision') {
            (args[4] as (count: typeof pastTheBudget) => unknown)(pastTheBudget);
            return pastTheBudget;
          }
          if (name === 'recordFailure') return pastTheBudget;
          return undefined;
        };
      },
    });
    const audit: AuditSink = {
      record: async () => void calls.push('audit.record'),
      prepare: (decision) => ({ event: { ...decision, id: 'audit-1', at: NOW, address: null, deliveryType: null } as AuditEvent, written: async () => void calls.push('audit.written'), instead: async () => undefined, failed: () => undefined }),
    };
    const service = new TotpService({
      registrations,
      store,
      sealer,
      clock: { now: () => NOW },
      randomBytes: (n) => randomBytes(n),
      settings,
      factorChange: {} as never,
      hasOtherFactor: async () => false,
      audit,
    });
    return { service, calls };
  }

  it('a right code past the budget answers LOCKOUT through exactly the store calls of a wrong one', async () => {
    const right = serviceCountingPastTheBudget();
    const rightCode = appCode(secretToBase32(SECRET), NOW);
    const rightAnswer = await right.service.authenticate('client-a', 'alice', rightCode);
    const wrong = serviceCountingPastTheBudget();
    const wrongAnswer = await wrong.service.authenticate('client-a', 'alice', rightCode === '000000' ? '000001' : '000000');
    assert.deepEqual([rightAnswer.status, rightAnswer.error], ['LOCKOUT', ERROR_TOTP_LOCKED]);
    assert.deepEqual([wrongAnswer.status, wrongAnswer.error], ['LOCKOUT', ERROR_TOTP_LOCKED]);
    assert.deepEqual(right.calls, wrong.calls);
    // One transaction carries the count and the decision's rows: nothing is written after it but the audit's listeners.
    assert.deepEqual(right.calls, ['recordFailureWithDecision', 'audit.written']);
  });
});

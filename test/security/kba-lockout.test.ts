// Defends security questions against brute force, also under concurrency and across instances: at most
// MFA_KBA_MAX_ATTEMPTS checks per window are ever compared, then the identity is locked out (even the right
// answers are refused, and nothing about them is revealed); every check is reported by poll to its own client only.
import assert from 'node:assert/strict';
import { after, before, it, mock } from 'node:test';
import { createClient } from '../../src/auth/clients.js';
import type { Store } from '../../src/core/ports.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

const MAX_ATTEMPTS = 3;
const WINDOW_SECONDS = 900;
// Longer than the window, so the lockout itself (not the end of the failure window) must keep the identity out.
const LOCKOUT_SECONDS = 1800;
const FAST_KBA = {
  MFA_KBA_ARGON2_MEMORY_KIB: '1024',
  MFA_KBA_ARGON2_TIME_COST: '1',
  MFA_KBA_MIN_ANSWERS: '2',
  MFA_KBA_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  MFA_KBA_ATTEMPT_WINDOW_SECONDS: String(WINDOW_SECONDS),
  MFA_KBA_LOCKOUT_SECONDS: String(LOCKOUT_SECONDS),
};

type Answers = Array<{ id: string; answer: string }>;
interface CheckResponse {
  status: number;
  requestId: string;
  body: { status: string; kbaAuthResponseItems: Array<{ questionId: string; isVerified: boolean | null }> };
}

const RIGHT: Answers = [
  { id: 'pet', answer: 'Rex' },
  { id: 'city', answer: 'Lisbon' },
];
const WRONG: Answers = [
  { id: 'pet', answer: 'Rex' },
  { id: 'city', answer: 'Porto' },
];

/**
 * Forces the worst interleaving of concurrent checks: each check reads the lockout state, then waits there until
 * `count` checks have read it, so every one has passed the "locked?" test before any failure is counted. Returns the
 * number of checks that were held, and undoes the hold.
 */
function holdAtLockoutRead(stores: readonly Store[], count: number): () => number {
  let arrived = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // Never hang a run: if fewer checks arrive, the hold ends anyway (and the count returned shows it).
  const timer = setTimeout(release, 5000);
  const mocks = stores.map((store) => {
    const read = store.lockedUntil.bind(store);
    return mock.method(store, 'lockedUntil', async (subject: string, method: 'kba') => {
      const lockedUntil = await read(subject, method);
      if (++arrived >= count) release();
      await gate;
      return lockedUntil;
    });
  });
  let undone = false;
  return () => {
    if (!undone) {
      undone = true;
      clearTimeout(timer);
      for (const m of mocks) m.mock.restore();
    }
    return arrived;
  };
}

const evaluated = (r: CheckResponse): boolean => r.body.kbaAuthResponseItems.every((i) => i.isVerified !== null);
const unevaluated = (r: CheckResponse): boolean => r.body.kbaAuthResponseItems.every((i) => i.isVerified === null);

describeEachDatabase('KBA lockout', ({ postgres }) => {
  let server: TestServer;
  let clockOffsetMs = 0;
  const clock = { now: () => Date.now() + clockOffsetMs };
  let identityCounter = 0;

  before(async () => {
    server = await startServer({ postgres, env: FAST_KBA, clock });
    const now = Date.now();
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: now });
    await server.runtime.store.putQuestion({ id: 'city', texts: { '': 'City of birth?' }, createdAt: now + 1 });
    await server.runtime.store.putQuestion({ id: 'street', texts: { '': 'Street you grew up on?' }, createdAt: now + 2 });
  });
  after(() => server.close());

  /** A fresh identity and a bearer token of its personal client, taken from `on` (any instance). */
  async function newIdentity(on: TestServer = server): Promise<{ alias: string; token: string }> {
    const alias = `kba.lock.${++identityCounter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    const { runtime } = server;
    const { clientId, clientSecret } = await createClient(runtime.store, runtime.clock, runtime.randomBytes, `${alias} app`, ['sp:scopes:all'], alias);
    const response = await fetch(`${on.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    assert.equal(response.status, 200);
    return { alias, token: ((await response.json()) as { access_token: string }).access_token };
  }

  async function enrolledIdentity(): Promise<{ alias: string; token: string }> {
    const identity = await newIdentity();
    const enrolled = await postJson(server, '/v3/mfa/kba/config/answers', identity.token, RIGHT);
    assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
    return identity;
  }

  async function check(token: string, answers: Answers, on: TestServer = server): Promise<CheckResponse> {
    const response = await postJson(on, '/v3/mfa/kba/authenticate', token, answers);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const requestId = response.headers.get('x-mfa-request-id');
    assert.match(requestId ?? '', /^[0-9a-f]{32}$/);
    return { status: response.status, requestId: requestId!, body: response.body };
  }

  /** Every check is a verification that poll reports with the check's status, to its own client only. */
  async function assertPolls(token: string, checks: readonly CheckResponse[], on: TestServer = server): Promise<void> {
    // Another client of the same tenant, with every scope (issued now: the tests move the clock forward).
    const otherClientToken = await server.accessToken(['sp:scopes:all']);
    for (const c of checks) {
      const polled = await postJson(on, '/v3/mfa/kba/poll', token, { requestId: c.requestId });
      assert.equal(polled.status, 200);
      assert.equal(polled.body.requestId, c.requestId);
      assert.equal(polled.body.status, c.body.status, `poll of ${c.requestId}`);
      if (c.body.status === 'SUCCESS') assert.equal(polled.body.error, null);
      else assert.equal(typeof polled.body.error, 'string');
      if (c.body.status === 'LOCKOUT') assert.match(polled.body.error, /too many/i);

      const foreign = await postJson(on, '/v3/mfa/kba/poll', otherClientToken, { requestId: c.requestId });
      assert.deepEqual(foreign.body, { requestId: c.requestId, status: 'FAILED', error: 'No verification with this request id.' });
    }
    // Another method's poll does not see a KBA check either.
    const first = checks[0];
    if (first) {
      const otherMethod = await postJson(on, '/v3/mfa/token/poll', token, { requestId: first.requestId });
      assert.deepEqual(otherMethod.body, { requestId: first.requestId, status: 'FAILED', error: 'No verification with this request id.' });
    }
  }

  it('sequential wrong checks: FAILED, FAILED, LOCKOUT; then even the right answers are LOCKOUT and unrevealed', async () => {
    const { token } = await enrolledIdentity();
    const checks: CheckResponse[] = [];
    for (let i = 0; i < MAX_ATTEMPTS; i++) checks.push(await check(token, WRONG));
    assert.deepEqual(
      checks.map((c) => c.body.status),
      ['FAILED', 'FAILED', 'LOCKOUT'],
    );
    for (const c of checks) {
      assert.deepEqual(c.body.kbaAuthResponseItems, [
        { questionId: 'pet', isVerified: true },
        { questionId: 'city', isVerified: false },
      ]);
    }

    for (const answers of [RIGHT, WRONG, RIGHT]) {
      const locked = await check(token, answers);
      assert.equal(locked.body.status, 'LOCKOUT');
      assert.deepEqual(locked.body.kbaAuthResponseItems, [
        { questionId: 'pet', isVerified: null },
        { questionId: 'city', isVerified: null },
      ]);
      checks.push(locked);
    }
    await assertPolls(token, checks);
  });

  it('30 concurrent wrong checks: exactly MAX_ATTEMPTS are compared, the rest are LOCKOUT', async () => {
    const { token } = await enrolledIdentity();
    const undo = holdAtLockoutRead([server.runtime.store], 30);
    const checks = await Promise.all(Array.from({ length: 30 }, () => check(token, WRONG))).finally(undo);
    assert.equal(undo(), 30, 'the checks were not all held at the lockout read');
    const compared = checks.filter(evaluated);
    assert.equal(compared.length, MAX_ATTEMPTS);
    assert.deepEqual(compared.map((c) => c.body.status).sort(), ['FAILED', 'FAILED', 'LOCKOUT']);
    const refused = checks.filter((c) => !evaluated(c));
    assert.equal(refused.length, 30 - MAX_ATTEMPTS);
    for (const c of refused) {
      assert.ok(unevaluated(c), 'a refused check reveals part of its comparison');
      assert.equal(c.body.status, 'LOCKOUT');
    }
    const after = await check(token, RIGHT);
    assert.equal(after.body.status, 'LOCKOUT');
    assert.ok(unevaluated(after));
    await assertPolls(token, [...checks, after]);
  });

  it('concurrent right and wrong checks one failure short of the limit: only a success buys more compared checks', async () => {
    const { token } = await enrolledIdentity();
    for (let i = 0; i < MAX_ATTEMPTS - 1; i++) assert.equal((await check(token, WRONG)).body.status, 'FAILED');
    // Half right, half wrong, all at once: one more wrong check may be compared before the count is full, and only a
    // success (which resets the count) allows more, however the checks interleave.
    const checks = await Promise.all(Array.from({ length: 30 }, (_, i) => check(token, i % 2 ? RIGHT : WRONG)));
    const compared = checks.filter(evaluated);
    assert.ok(compared.length >= 1, 'no check was compared');
    const successes = checks.filter((c) => c.body.status === 'SUCCESS');
    // A success resets the count, so further checks may be compared; but no wrong check is compared beyond the limit
    // without a success in between, and every check not compared is LOCKOUT.
    for (const c of checks.filter((c) => !evaluated(c))) assert.equal(c.body.status, 'LOCKOUT');
    const wrongCompared = compared.filter((c) => c.body.status !== 'SUCCESS').length;
    assert.ok(wrongCompared <= 1 + successes.length * MAX_ATTEMPTS, `${wrongCompared} wrong checks compared after ${successes.length} successes`);
    await assertPolls(token, checks);
  });

  it('the limit holds across two instances on one database, checks split half and half', async () => {
    const second = await startServer({ shareWith: server, env: FAST_KBA, clock });
    try {
      const { token } = await enrolledIdentity();
      const undo = holdAtLockoutRead([server.runtime.store, second.runtime.store], 30);
      const checks = await Promise.all(Array.from({ length: 30 }, (_, i) => check(token, WRONG, i % 2 ? second : server))).finally(undo);
      assert.equal(undo(), 30, 'the checks were not all held at the lockout read');
      const compared = checks.filter(evaluated);
      assert.equal(compared.length, MAX_ATTEMPTS);
      assert.deepEqual(compared.map((c) => c.body.status).sort(), ['FAILED', 'FAILED', 'LOCKOUT']);
      for (const c of checks.filter((c) => !evaluated(c))) {
        assert.ok(unevaluated(c));
        assert.equal(c.body.status, 'LOCKOUT');
      }
      // Locked on both instances, and either instance reports any check.
      assert.equal((await check(token, RIGHT, server)).body.status, 'LOCKOUT');
      assert.equal((await check(token, RIGHT, second)).body.status, 'LOCKOUT');
      await assertPolls(token, checks.slice(0, 10), second);
      await assertPolls(token, checks.slice(10), server);
    } finally {
      await second.close();
    }
  });

  it('a success resets the count, also when it comes at the last allowed attempt', async () => {
    const { token } = await enrolledIdentity();
    const checks: CheckResponse[] = [];
    const run = async (answers: Answers): Promise<string> => {
      const c = await check(token, answers);
      checks.push(c);
      return c.body.status;
    };
    // The third check reaches the limit before its answers are compared; being right, it must still succeed.
    assert.deepEqual([await run(WRONG), await run(WRONG), await run(RIGHT)], ['FAILED', 'FAILED', 'SUCCESS']);
    assert.deepEqual(checks.at(-1)!.body.kbaAuthResponseItems, [
      { questionId: 'pet', isVerified: true },
      { questionId: 'city', isVerified: true },
    ]);
    // A full allowance again: two failures, then the lockout at the third.
    assert.deepEqual([await run(WRONG), await run(WRONG), await run(RIGHT)], ['FAILED', 'FAILED', 'SUCCESS']);
    assert.deepEqual([await run(WRONG), await run(WRONG), await run(WRONG), await run(RIGHT)], ['FAILED', 'FAILED', 'LOCKOUT', 'LOCKOUT']);
    await assertPolls(token, checks);
  });

  it('an identity with too few answers gets NOT_ENOUGH_DATA, compared with nothing and not counted as an attempt', async () => {
    const { alias, token } = await newIdentity();
    const checks: CheckResponse[] = [];
    // Never enrolled: more checks than the limit, none of them counted.
    for (let i = 0; i < MAX_ATTEMPTS + 2; i++) checks.push(await check(token, RIGHT));
    for (const c of checks) {
      assert.equal(c.body.status, 'NOT_ENOUGH_DATA');
      assert.ok(unevaluated(c));
    }
    await assertPolls(token, checks);

    // Enrolled, then a question withdrawn by the operator: one answer left, fewer than the minimum of two.
    const now = Date.now();
    await server.runtime.store.putQuestion({ id: `retired-${alias}`, texts: { '': 'Retired question?' }, createdAt: now });
    const enrolled = await postJson(server, '/v3/mfa/kba/config/answers', token, [
      { id: 'pet', answer: 'Rex' },
      { id: `retired-${alias}`, answer: 'Gone' },
    ]);
    assert.equal(enrolled.status, 200);
    assert.ok(await server.runtime.store.removeQuestion(`retired-${alias}`));
    const tooFew = await check(token, RIGHT);
    assert.equal(tooFew.body.status, 'NOT_ENOUGH_DATA');
    assert.ok(unevaluated(tooFew));
    await assertPolls(token, [tooFew]);

    // Enough answers now: the allowance is whole, so the lockout comes at the third wrong check, not before.
    // (Replacing answers needs a recent verification: the factor-change rule.)
    await server.recordSuccess(alias);
    assert.equal((await postJson(server, '/v3/mfa/kba/config/answers', token, RIGHT)).status, 200);
    const statuses = [];
    for (let i = 0; i < MAX_ATTEMPTS; i++) statuses.push((await check(token, WRONG)).body.status);
    assert.deepEqual(statuses, ['FAILED', 'FAILED', 'LOCKOUT']);
  });

  it('the lockout lasts MFA_KBA_LOCKOUT_SECONDS, past the end of the failure window, then the right answers succeed', async () => {
    const { token } = await enrolledIdentity();
    for (let i = 0; i < MAX_ATTEMPTS; i++) await check(token, WRONG);
    assert.equal((await check(token, RIGHT)).body.status, 'LOCKOUT');
    // The failure window is over, the lockout is not.
    clockOffsetMs += (WINDOW_SECONDS + 5) * 1000;
    const inWindowGap = await check(token, RIGHT);
    assert.equal(inWindowGap.body.status, 'LOCKOUT', 'the lockout ended with the failure window');
    assert.ok(unevaluated(inWindowGap));
    clockOffsetMs += (LOCKOUT_SECONDS - WINDOW_SECONDS - 15) * 1000;
    assert.equal((await check(token, RIGHT)).body.status, 'LOCKOUT', 'the lockout ended early');
    clockOffsetMs += 15 * 1000;
    const after = await check(token, RIGHT);
    assert.equal(after.body.status, 'SUCCESS');
    await assertPolls(token, [inWindowGap, after]);
  });

  it('failures count within MFA_KBA_ATTEMPT_WINDOW_SECONDS only: older ones are forgotten', async () => {
    const { token } = await enrolledIdentity();
    const statuses: string[] = [];
    for (let i = 0; i < MAX_ATTEMPTS - 1; i++) statuses.push((await check(token, WRONG)).body.status);
    clockOffsetMs += (WINDOW_SECONDS + 1) * 1000;
    for (let i = 0; i < MAX_ATTEMPTS; i++) statuses.push((await check(token, WRONG)).body.status);
    assert.deepEqual(statuses, ['FAILED', 'FAILED', 'FAILED', 'FAILED', 'LOCKOUT']);
  });

  // Regression: failures from before an expired lockout used to keep counting while the window lasted.
  it(
    'a lockout shorter than the failure window ends after MFA_KBA_LOCKOUT_SECONDS',
    async () => {
      const shortLockoutSeconds = 60;
      const shortLockout = await startServer({
        postgres,
        clock,
        env: { ...FAST_KBA, MFA_KBA_LOCKOUT_SECONDS: String(shortLockoutSeconds), MFA_KBA_ATTEMPT_WINDOW_SECONDS: String(WINDOW_SECONDS) },
      });
      try {
        const now = Date.now();
        await shortLockout.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: now });
        await shortLockout.runtime.store.putQuestion({ id: 'city', texts: { '': 'City of birth?' }, createdAt: now + 1 });
        await shortLockout.addIdentity('short.lockout', { email: 'short.lockout@example.com' });
        const { runtime } = shortLockout;
        const { clientId, clientSecret } = await createClient(runtime.store, runtime.clock, runtime.randomBytes, 'app', ['sp:scopes:all'], 'short.lockout');
        const issued = await fetch(`${shortLockout.baseUrl}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
        });
        const token = ((await issued.json()) as { access_token: string }).access_token;
        assert.equal((await postJson(shortLockout, '/v3/mfa/kba/config/answers', token, RIGHT)).status, 200);
        const statuses: string[] = [];
        for (let i = 0; i < MAX_ATTEMPTS; i++) statuses.push((await postJson(shortLockout, '/v3/mfa/kba/authenticate', token, WRONG)).body.status);
        assert.deepEqual(statuses, ['FAILED', 'FAILED', 'LOCKOUT']);
        clockOffsetMs += (shortLockoutSeconds + 1) * 1000;
        const after = await postJson(shortLockout, '/v3/mfa/kba/authenticate', token, RIGHT);
        assert.equal(after.body.status, 'SUCCESS', 'still locked out after MFA_KBA_LOCKOUT_SECONDS');
      } finally {
        await shortLockout.close();
      }
    },
  );
});

// Defends the Okta Verify push method against a local server speaking Okta's API: the push is sent once
// with the caller's address, polls map Okta's results and do not multiply calls to Okta (20 concurrent
// polls, one upstream request), push bombing is capped, and Okta's refusals, rate limits and outages
// become clear statuses, never a 500 (and an Okta that is down is left alone by the circuit).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postJson, startServer, type TestServer } from '../helpers/server.js';
import { RATE_LIMITED, UNAVAILABLE, startFakeOkta, type FakeOkta } from './okta-fake.js';

const CALLER_IP = '203.0.113.7';

interface Setup {
  server: TestServer;
  okta: FakeOkta;
  token: string;
}

async function setUp(env: Record<string, string> = {}): Promise<Setup> {
  const okta = await startFakeOkta();
  const server = await startServer({ env: { MFA_OKTA_TIMEOUT_MS: '300', MFA_OKTA_POLL_CACHE_MS: '0', ...env } });
  const token = await server.accessToken(['sp:scopes:all']);
  await configure(server, token, { host: okta.url, accessKey: okta.token });
  return { server, okta, token };
}

async function configure(server: TestServer, token: string, fields: { host: string; accessKey: string }): Promise<void> {
  const response = await fetch(`${server.baseUrl}/v3/mfa/okta-verify/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ mfaMethod: 'okta-verify', enabled: true, identityAttribute: 'email', ...fields }),
  });
  assert.equal(response.status, 200, await response.text());
}

async function verify(
  s: Setup,
  userId: string,
  options: { forwarding?: string | null; prefix?: string } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' };
  if (options.forwarding !== null) headers['slpt-forwarding'] = options.forwarding ?? CALLER_IP;
  const response = await fetch(`${s.server.baseUrl}${options.prefix ?? '/v3'}/mfa/okta-verify/verify`, { method: 'POST', headers, body: JSON.stringify({ userId }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

const poll = (s: Setup, requestId: string) => postJson(s.server, '/v3/mfa/okta-verify/poll', s.token, { requestId });
const TRANSACTIONS = /\/transactions\//;
const PUSHES = /\/verify$/;

describe('Okta Verify push', () => {
  let s: Setup;
  before(async () => {
    s = await setUp();
  });
  after(async () => {
    await s.server.close();
    await s.okta.close();
  });

  it('sends the push with the caller address and a User-Agent, answers PENDING, then SUCCESS from polls', async () => {
    s.okta.addUser('will.albin@example.com');
    s.okta.script('will.albin@example.com', ['WAITING', 'SUCCESS']);
    const started = await verify(s, 'will.albin@example.com');
    assert.equal(started.status, 200);
    assert.equal(started.body.status, 'PENDING');
    assert.equal(started.body.error, '');
    assert.match(started.body.requestId, /^[0-9a-f]{32}$/);
    assert.equal(started.headers.get('x-mfa-number-challenge'), null, 'no number challenge unless configured');

    const push = s.okta.calls.find((c) => c.method === 'POST' && PUSHES.test(c.path));
    assert.ok(push, 'the push was sent');
    assert.equal(push.headers.authorization, `SSWS ${s.okta.token}`);
    assert.equal(push.headers['x-forwarded-for'], CALLER_IP);
    assert.match(String(push.headers['user-agent']), /^mfa-controller\//);
    assert.equal(push.body, '', 'a standard push has no body');

    assert.deepEqual((await poll(s, started.body.requestId)).body, { requestId: started.body.requestId, status: 'PENDING', error: null });
    const done = await poll(s, started.body.requestId);
    assert.equal(done.body.status, 'SUCCESS');

    const asked = s.okta.count(TRANSACTIONS);
    assert.equal((await poll(s, started.body.requestId)).body.status, 'SUCCESS');
    assert.equal(s.okta.count(TRANSACTIONS), asked, 'a final outcome is answered from the store, not from Okta');
  });

  it('serves the same call under /beta', async () => {
    s.okta.addUser('beta.user@example.com');
    const started = await verify(s, 'beta.user@example.com', { prefix: '/beta' });
    assert.equal(started.status, 200);
    assert.equal(started.body.status, 'PENDING');
  });

  for (const [result, pattern] of [
    ['REJECTED', /rejected/],
    ['TIMEOUT', /not answered in time/],
    ['PASSCODE_REPLAYED', /PASSCODE_REPLAYED/],
    ['CANCELLED', /CANCELLED/],
  ] as const) {
    it(`maps ${result} to FAILED with the reason, once`, async () => {
      const login = `${result.toLowerCase()}@example.com`;
      s.okta.addUser(login);
      s.okta.script(login, [result]);
      const started = await verify(s, login);
      const failed = await poll(s, started.body.requestId);
      assert.equal(failed.body.status, 'FAILED');
      assert.match(failed.body.error, pattern);
      const asked = s.okta.count(TRANSACTIONS);
      assert.equal((await poll(s, started.body.requestId)).body.status, 'FAILED');
      assert.equal(s.okta.count(TRANSACTIONS), asked);
    });
  }

  it('answers FAILED when the user has no active Okta Verify push factor, sending nothing', async () => {
    s.okta.addUser('sms.only@example.com', [
      { factorType: 'sms', provider: 'OKTA' },
      { factorType: 'push', provider: 'OKTA', status: 'PENDING_ACTIVATION' },
    ]);
    const pushes = s.okta.count(PUSHES);
    const answer = await verify(s, 'sms.only@example.com');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.status, 'FAILED');
    assert.match(answer.body.error, /no active Okta Verify push factor/);
    assert.equal(s.okta.count(PUSHES), pushes);
    assert.equal((await poll(s, answer.body.requestId)).body.status, 'FAILED', 'poll reports it too');
  });

  it('answers FAILED for a login Okta does not know', async () => {
    const answer = await verify(s, 'nobody@example.com');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.status, 'FAILED');
    assert.match(answer.body.error, /No Okta user/);
  });

  it('refuses a call without slpt-forwarding, or with something other than an IP address, with 400', async () => {
    s.okta.addUser('header.check@example.com');
    const calls = s.okta.calls.length;
    for (const forwarding of [null, 'not-an-ip', '203.0.113.7, 198.51.100.1']) {
      const answer = await verify(s, 'header.check@example.com', { forwarding });
      assert.equal(answer.status, 400, String(forwarding));
      assert.equal(answer.body.detailCode, '400.1 Bad Request Content');
      assert.match(answer.body.messages[0].text, /slpt-forwarding/);
    }
    assert.equal(s.okta.calls.length, calls, 'nothing reached Okta');
    assert.equal((await verify(s, 'header.check@example.com', { forwarding: '2001:db8::1' })).body.status, 'PENDING', 'IPv6 is an address too');
  });

  it('caps pushes per user (push bombing): the fourth within the window is 429 with Retry-After', async () => {
    s.okta.addUser('bombed@example.com');
    const pushes = s.okta.count(PUSHES);
    for (let i = 0; i < 3; i++) assert.equal((await verify(s, 'bombed@example.com')).body.status, 'PENDING');
    const refused = await verify(s, 'BOMBED@example.com');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.ok(Number(refused.headers.get('retry-after')) <= 300);
    assert.equal(s.okta.count(PUSHES), pushes + 3, 'the refused call reached no one');
  });

  it('shares one upstream request among 20 concurrent polls of one verification', async () => {
    s.okta.addUser('crowd@example.com');
    const started = await verify(s, 'crowd@example.com');
    s.okta.transactionDelayMs = 150;
    try {
      const asked = s.okta.count(TRANSACTIONS);
      const answers = await Promise.all(Array.from({ length: 20 }, () => poll(s, started.body.requestId)));
      for (const answer of answers) assert.equal(answer.body.status, 'PENDING');
      assert.equal(s.okta.count(TRANSACTIONS) - asked, 1);
    } finally {
      s.okta.transactionDelayMs = 0;
    }
  });

  it('turns an Okta rate limit on verify into FAILED with the reason, and on poll keeps the verification PENDING', async () => {
    s.okta.addUser('limited@example.com');
    s.okta.script('limited@example.com', ['WAITING', 'SUCCESS']);
    const started = await verify(s, 'limited@example.com');

    s.okta.failWith(RATE_LIMITED(30));
    try {
      const refused = await verify(s, 'limited@example.com');
      assert.equal(refused.status, 200);
      assert.equal(refused.body.status, 'FAILED');
      assert.match(refused.body.error, /rate limit/i);
      assert.match(refused.body.error, /wait (29|30|31) s/);
    } finally {
      s.okta.failWith(undefined);
    }

    s.okta.failWith(RATE_LIMITED(0));
    try {
      const slowed = await poll(s, started.body.requestId);
      assert.equal(slowed.status, 200);
      assert.equal(slowed.body.status, 'PENDING');
      assert.match(slowed.body.error, /Okta is rate limiting/);
    } finally {
      s.okta.failWith(undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await poll(s, started.body.requestId)).body.status, 'PENDING');
    assert.equal((await poll(s, started.body.requestId)).body.status, 'SUCCESS', 'the rate limit did not fail the verification');
  });

  it('turns an Okta 5xx into FAILED on verify and PENDING with the reason on poll, never a 500', async () => {
    s.okta.addUser('outage@example.com');
    const started = await verify(s, 'outage@example.com');
    s.okta.failWith(UNAVAILABLE);
    try {
      const failed = await verify(s, 'outage@example.com');
      assert.equal(failed.status, 200);
      assert.equal(failed.body.status, 'FAILED');
      assert.match(failed.body.error, /^Okta at 127\.0\.0\.1:\d+ failed \(HTTP 503, E0000009\)$/);
      assert.doesNotMatch(failed.body.error, /Internal Server Error/, "Okta's errorSummary goes to the log, not to the caller");
      // A success in between closes the count (each retried 5xx counts toward the circuit).
      s.okta.failWith(undefined);
      assert.equal((await poll(s, started.body.requestId)).body.error, null);
      s.okta.failWith(UNAVAILABLE);
      const polled = await poll(s, started.body.requestId);
      assert.equal(polled.status, 200);
      assert.equal(polled.body.status, 'PENDING');
      assert.match(polled.body.error, /Could not ask Okta/);
    } finally {
      s.okta.failWith(undefined);
    }
  });

  it('tests the configuration against Okta: SUCCESS, then FAILED naming the API token for a wrong one', async () => {
    const ok = await fetch(`${s.server.baseUrl}/v3/mfa/okta-verify/test`, { headers: { authorization: `Bearer ${s.token}` } });
    assert.deepEqual(await ok.json(), { state: 'SUCCESS' });
    assert.ok(s.okta.calls.some((c) => c.path === '/api/v1/users?limit=1'));

    await configure(s.server, s.token, { host: s.okta.url, accessKey: 'a-wrong-api-token-00000' });
    const bad = await fetch(`${s.server.baseUrl}/v3/mfa/okta-verify/test`, { headers: { authorization: `Bearer ${s.token}` } });
    const body = (await bad.json()) as { state: string; error: string };
    assert.equal(body.state, 'FAILED');
    assert.match(body.error, /refused the API token \(accessKey\) or its permissions \(HTTP 401, E0000011\)/);
    assert.doesNotMatch(body.error, /Invalid token provided/, "Okta's errorSummary is not echoed");
    await configure(s.server, s.token, { host: s.okta.url, accessKey: s.okta.token });
  });
});

describe('Okta Verify push: poll cache and number matching', () => {
  let s: Setup;
  before(async () => {
    s = await setUp({ MFA_OKTA_POLL_CACHE_MS: '60000', MFA_OKTA_NUMBER_MATCHING: 'true' });
  });
  after(async () => {
    await s.server.close();
    await s.okta.close();
  });

  it('asks for a number-matching challenge and passes the number in x-mfa-number-challenge', async () => {
    s.okta.addUser('numbers@example.com');
    const started = await verify(s, 'numbers@example.com');
    assert.equal(started.body.status, 'PENDING');
    assert.equal(started.headers.get('x-mfa-number-challenge'), '72');
    const push = s.okta.calls.find((c) => PUSHES.test(c.path));
    assert.deepEqual(JSON.parse(push?.body ?? '{}'), { useNumberMatchingChallenge: true });
  });

  it('answers repeated polls from the last answer for MFA_OKTA_POLL_CACHE_MS', async () => {
    s.okta.addUser('cached@example.com');
    s.okta.script('cached@example.com', ['WAITING', 'SUCCESS']);
    const started = await verify(s, 'cached@example.com');
    const asked = s.okta.count(TRANSACTIONS);
    for (let i = 0; i < 5; i++) assert.equal((await poll(s, started.body.requestId)).body.status, 'PENDING');
    assert.equal(s.okta.count(TRANSACTIONS) - asked, 1);
  });
});

describe('Okta Verify push: timeouts and the circuit', () => {
  let s: Setup;
  before(async () => {
    s = await setUp({ MFA_OKTA_PUSHES_PER_WINDOW: '100' });
  });
  after(async () => {
    await s.server.close();
    await s.okta.close();
  });

  it('fails a call to an Okta that never answers within the timeout, then stops calling an Okta that keeps failing', async () => {
    s.okta.addUser('circuit@example.com');
    const pending = await verify(s, 'circuit@example.com');
    assert.equal(pending.body.status, 'PENDING');

    s.okta.hang(true);
    const startedAt = Date.now();
    const timedOut = await verify(s, 'circuit@example.com');
    s.okta.hang(false);
    assert.equal(timedOut.status, 200);
    assert.equal(timedOut.body.status, 'FAILED');
    assert.match(timedOut.body.error, /did not answer in time/);
    assert.ok(Date.now() - startedAt < 4000);

    // Three timed-out tries so far; two 503s reach the threshold of five and open the circuit.
    s.okta.failWith(UNAVAILABLE);
    const down = await verify(s, 'circuit@example.com');
    assert.equal(down.body.status, 'FAILED');

    const calls = s.okta.calls.length;
    const refused = await verify(s, 'circuit@example.com');
    assert.equal(refused.status, 200);
    assert.equal(refused.body.status, 'FAILED');
    assert.match(refused.body.error, /unavailable/);
    const polled = await poll(s, pending.body.requestId);
    assert.equal(polled.status, 200);
    assert.equal(polled.body.status, 'PENDING', 'an outage does not fail a pending push');
    assert.match(polled.body.error, /unavailable/);
    assert.equal(s.okta.calls.length, calls, 'no call reached Okta while the circuit is open');
    s.okta.failWith(undefined);
  });

  /** Fails Okta until the circuit opens (a verify answers "unavailable"), then lets Okta work again. */
  async function openTheCircuit(login: string): Promise<void> {
    s.okta.failWith(UNAVAILABLE);
    for (let i = 0; i < 6; i++) {
      if (/unavailable/.test((await verify(s, login)).body.error)) break;
    }
    s.okta.failWith(undefined);
    assert.match((await verify(s, login)).body.error, /unavailable/, 'the circuit is open');
  }
  const test = async () => (await (await fetch(`${s.server.baseUrl}/v3/mfa/okta-verify/test`, { headers: { authorization: `Bearer ${s.token}` } })).json()) as { state: string; error?: string };

  it('GET /test calls Okta even while the circuit is open, and its answer is the real one', async () => {
    s.okta.addUser('probe@example.com');
    await openTheCircuit('probe@example.com');
    s.okta.failWith(UNAVAILABLE);
    const listed = s.okta.count(/\/api\/v1\/users\?limit=1/);
    const down = await test();
    assert.equal(down.state, 'FAILED');
    assert.match(down.error ?? '', /failed \(HTTP 503, E0000009\)/, 'the cause, not the circuit');
    assert.ok(s.okta.count(/\/api\/v1\/users\?limit=1/) > listed, 'Okta was called');

    s.okta.failWith(undefined);
    assert.deepEqual(await test(), { state: 'SUCCESS' });
    assert.equal((await verify(s, 'probe@example.com')).body.status, 'PENDING', 'a successful test closed the circuit');
  });

  it('a saved configuration closes the circuit at once (no waiting out the cool-down)', async () => {
    s.okta.addUser('fixed@example.com');
    await openTheCircuit('fixed@example.com');
    await configure(s.server, s.token, { host: s.okta.url, accessKey: s.okta.token });
    const pushes = s.okta.count(PUSHES);
    const after = await verify(s, 'fixed@example.com');
    assert.equal(after.body.status, 'PENDING', after.body.error);
    assert.equal(s.okta.count(PUSHES), pushes + 1);
  });
});

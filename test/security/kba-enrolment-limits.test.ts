// Defends the KBA hashing capacity against a caller enrolling answers in a loop: every enrolment costs
// one argon2 hash per answer, so unlimited enrolments burn the CPU every check needs, and, sharing the
// checks' bounded queue, turned other identities' checks into 429s. Enrolment is limited per identity and
// per API client (429 with Retry-After, counted in the shared store, on SQLite and PostgreSQL), and
// enrolment hashing waits in a lane of its own, so checks are never refused because someone enrols.
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import argon2 from 'argon2';
import { createClient } from '../../src/auth/clients.js';
import { IDENTITY_ALIAS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/http/routes/oauth.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

type Answers = Array<{ id: string; answer: string }>;

const CHEAP = { MFA_KBA_ARGON2_MEMORY_KIB: '1024', MFA_KBA_ARGON2_TIME_COST: '1', MFA_KBA_MIN_ANSWERS: '2' };
const ANSWERS: Answers = [
  { id: 'pet', answer: 'Rex' },
  { id: 'city', answer: 'Lisbon' },
];

async function tokenFrom(server: TestServer, body: Record<string, string>): Promise<string> {
  const response = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A token of a new personal client of `alias` (an identity may have several). */
async function personalToken(server: TestServer, alias: string): Promise<string> {
  return (await server.personalClient(alias)).token();
}

async function addQuestions(server: TestServer): Promise<void> {
  const now = Date.now();
  await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: now });
  await server.runtime.store.putQuestion({ id: 'city', texts: { '': 'City of birth?' }, createdAt: now + 1 });
}

const enrol = (server: TestServer, token: string, answers: Answers = ANSWERS) => postJson(server, '/v3/mfa/kba/config/answers', token, answers);

function assertLimited(answer: { status: number; headers: Headers; body: unknown }, windowSeconds: number): void {
  assert.equal(answer.status, 429, JSON.stringify(answer.body));
  assert.deepEqual(answer.body, { message: ' Rate Limit Exceeded ' });
  const retryAfter = Number(answer.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${answer.headers.get('retry-after')}`);
}

const WINDOW_SECONDS = 600;

describeEachDatabase('KBA enrolment limits', ({ postgres }) => {
  let server: TestServer;

  before(async () => {
    server = await startServer({
      postgres,
      env: { ...CHEAP, MFA_KBA_ENROLMENTS_PER_IDENTITY: '2', MFA_KBA_ENROLMENTS_PER_CLIENT: '3', MFA_KBA_ENROLMENT_WINDOW_SECONDS: String(WINDOW_SECONDS) },
    });
    await addQuestions(server);
  });
  after(() => server.close());

  it('per identity, whichever client asks; checks are not limited by it', async () => {
    await server.addIdentity('enrol.looper', { email: 'enrol.looper@example.com' });
    const first = await personalToken(server, 'enrol.looper');
    const second = await personalToken(server, 'enrol.looper');
    // Re-enrolment needs a recent verification (the factor-change rule); this test is about the count.
    await server.recordSuccess('enrol.looper');
    assert.equal((await enrol(server, first)).status, 200);
    assert.equal((await enrol(server, second)).status, 200);
    assertLimited(await enrol(server, first), WINDOW_SECONDS);
    assertLimited(await enrol(server, await personalToken(server, 'enrol.looper')), WINDOW_SECONDS);
    // The answers stand, and checking them is a different budget.
    const check = await postJson(server, '/v3/mfa/kba/authenticate', first, ANSWERS);
    assert.equal(check.body.status, 'SUCCESS');
    // Another identity enrols as usual.
    await server.addIdentity('enrol.neighbour', { email: 'enrol.neighbour@example.com' });
    assert.equal((await enrol(server, await personalToken(server, 'enrol.neighbour'))).status, 200);
  });

  it('per API client, across the identities it acts for', async () => {
    const { runtime } = server;
    const service = await createClient(runtime.store, runtime.clock, runtime.randomBytes, 'enrolment portal', ['idn:mfa-kba:authenticate', 'mfa:impersonate']);
    const actingFor = async (alias: string) => {
      await server.addIdentity(alias, { email: `${alias}@example.com` });
      return tokenFrom(server, {
        grant_type: TOKEN_EXCHANGE_GRANT,
        client_id: service.clientId,
        client_secret: service.clientSecret,
        scope: 'idn:mfa-kba:authenticate',
        subject_token: alias,
        subject_token_type: IDENTITY_ALIAS_TOKEN_TYPE,
      });
    };
    for (const alias of ['portal.a', 'portal.b', 'portal.c']) assert.equal((await enrol(server, await actingFor(alias))).status, 200, alias);
    // portal.d has never enrolled: the client's budget is what is spent.
    assertLimited(await enrol(server, await actingFor('portal.d')), WINDOW_SECONDS);
    assert.equal((await enrol(server, await personalToken(server, 'portal.d'))).status, 200, "portal.d's own client was refused");
  });
});

describe('KBA enrolment hashing does not starve checks', () => {
  let server: TestServer;
  const realHash = argon2.hash.bind(argon2);

  before(async () => {
    server = await startServer({
      env: {
        ...CHEAP,
        // One hash at a time and three waiting, as on a small busy instance: room for the victim's two
        // concurrent checks of two answers. The loop is not stopped by the rate limits here, so what is
        // tested is the hashing itself.
        MFA_KBA_MAX_CONCURRENT_HASHES: '1',
        MFA_KBA_MAX_QUEUED_HASHES: '3',
        MFA_KBA_ENROLMENTS_PER_IDENTITY: '1000',
        MFA_KBA_ENROLMENTS_PER_CLIENT: '1000',
      },
    });
    await addQuestions(server);
  });
  after(() => server.close());

  it("a caller enrolling in a loop does not turn another identity's check into 429", async () => {
    await server.addIdentity('starve.victim', { email: 'starve.victim@example.com' });
    await server.addIdentity('starve.looper', { email: 'starve.looper@example.com' });
    const victim = await personalToken(server, 'starve.victim');
    const looper = await personalToken(server, 'starve.looper');
    assert.equal((await enrol(server, victim)).status, 200);
    // The looper re-enrols: give it the recent verification the factor-change rule asks for.
    await server.recordSuccess('starve.looper');

    // Slow hashes keep the looper's enrolments in the hasher while the victim checks.
    const hash = mock.method(argon2, 'hash', async (...args: Parameters<typeof argon2.hash>) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return realHash(...args);
    });
    try {
      const loop = Promise.all(Array.from({ length: 8 }, (_, i) => enrol(server, looper, [{ id: 'pet', answer: `pet ${i}` }, { id: 'city', answer: `city ${i}` }])));
      const deadline = Date.now() + 10_000;
      while (hash.mock.callCount() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.ok(hash.mock.callCount() > 0, 'the enrolments never reached the hasher');
      await new Promise((resolve) => setTimeout(resolve, 30));

      const checks = await Promise.all([1, 2].map(() => postJson(server, '/v3/mfa/kba/authenticate', victim, ANSWERS)));
      for (const check of checks) {
        assert.equal(check.status, 200, `the victim's check answered ${check.status}`);
        assert.equal(check.body.status, 'SUCCESS');
      }
      const statuses = (await loop).map((r) => r.status);
      assert.ok(statuses.every((s) => s === 200 || s === 429), `looper statuses ${statuses.join(',')}`);
      assert.ok(statuses.includes(200), 'enrolment itself stopped working');
    } finally {
      hash.mock.restore();
    }
  });
});

// Defends the shared argon2 hashing capacity against denial of service: one caller cannot queue unbounded
// verifications (a check asks at most every question of the catalog), so other identities' checks are not turned
// into 429s; and neither an oversized check nor one refused for lack of capacity (429) counts as an attempt, so load
// on the instance cannot lock identities out.
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import argon2 from 'argon2';
import { createClient } from '../../src/auth/clients.js';
import { ServiceError } from '../../src/core/errors.js';
import { AnswerHasher } from '../../src/methods/kba/answer-hasher.js';
import { postJson, startServer, type TestServer } from '../helpers/server.js';

type Answers = Array<{ id: string; answer: string }>;

const MAX_ATTEMPTS = 3;
const RIGHT: Answers = [
  { id: 'pet', answer: 'Rex' },
  { id: 'city', answer: 'Lisbon' },
];
const WRONG: Answers = [
  { id: 'pet', answer: 'Rex' },
  { id: 'city', answer: 'Porto' },
];

async function personalToken(server: TestServer, alias: string): Promise<string> {
  await server.addIdentity(alias, { email: `${alias}@example.com` });
  const { runtime } = server;
  const { clientId, clientSecret } = await createClient(runtime.store, runtime.clock, runtime.randomBytes, `${alias} app`, ['sp:scopes:all'], alias);
  const response = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { access_token: string }).access_token;
}

describe('KBA hashing capacity', () => {
  let server: TestServer;
  let identityCounter = 0;

  before(async () => {
    server = await startServer({
      env: {
        MFA_KBA_ARGON2_MEMORY_KIB: '1024',
        MFA_KBA_ARGON2_TIME_COST: '1',
        MFA_KBA_MIN_ANSWERS: '2',
        MFA_KBA_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        // A small queue, as on a busy production instance: what one request may put in it matters.
        MFA_KBA_MAX_CONCURRENT_HASHES: '1',
        MFA_KBA_MAX_QUEUED_HASHES: '8',
      },
    });
    const now = Date.now();
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: now });
    await server.runtime.store.putQuestion({ id: 'city', texts: { '': 'City of birth?' }, createdAt: now + 1 });
    await server.runtime.store.putQuestion({ id: 'street', texts: { '': 'Street you grew up on?' }, createdAt: now + 2 });
  });
  after(() => server.close());

  async function enrolledIdentity(): Promise<string> {
    const token = await personalToken(server, `kba.capacity.${++identityCounter}`);
    const enrolled = await postJson(server, '/v3/mfa/kba/config/answers', token, RIGHT);
    assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
    return token;
  }

  const check = (token: string, answers: Answers) => postJson(server, '/v3/mfa/kba/authenticate', token, answers);

  it('a check with more answers than the catalog has questions is refused with 400, before any hashing', async () => {
    const token = await enrolledIdentity();
    const verify = mock.method(argon2, 'verify');
    try {
      const oversized = await check(token, [...RIGHT, { id: 'street', answer: 'x' }, { id: 'no-such-question', answer: 'x' }]);
      assert.equal(oversized.status, 400, JSON.stringify(oversized.body));
      assert.equal(oversized.body.detailCode, '400.1 Bad Request Content');
      assert.match(oversized.body.messages[0].text, /at most 3 questions/i);
      assert.equal(oversized.headers.get('x-mfa-request-id'), null);
      assert.equal(verify.mock.callCount(), 0, 'the refused check was hashed');
    } finally {
      verify.mock.restore();
    }
  });

  it('a check asking every question of the catalog, one of them unanswered, is compared', async () => {
    const token = await enrolledIdentity();
    const full = await check(token, [...RIGHT, { id: 'street', answer: 'x' }]);
    assert.equal(full.status, 200);
    assert.deepEqual(full.body.kbaAuthResponseItems, [
      { questionId: 'pet', isVerified: true },
      { questionId: 'city', isVerified: true },
      { questionId: 'street', isVerified: false },
    ]);
    // Up to the catalog's size, unknown ids are compared with the decoy like any other answer.
    const withUnknown = await check(token, [...RIGHT, { id: 'no-such-question', answer: 'x' }]);
    assert.equal(withUnknown.status, 200);
    assert.equal(withUnknown.body.kbaAuthResponseItems[2].isVerified, false);
  });

  it('refused oversized checks are not counted as attempts', async () => {
    const token = await enrolledIdentity();
    const oversized = Array.from({ length: 50 }, (_, i) => ({ id: `unknown-${i}`, answer: 'x' }));
    for (let i = 0; i < MAX_ATTEMPTS + 2; i++) assert.equal((await check(token, oversized)).status, 400);
    const statuses: string[] = [];
    for (let i = 0; i < MAX_ATTEMPTS; i++) statuses.push((await check(token, WRONG)).body.status);
    assert.deepEqual(statuses, ['FAILED', 'FAILED', 'LOCKOUT']);
  });

  it("one identity's check of thousands of ids does not turn another identity's concurrent check into 429", async () => {
    const attacker = await enrolledIdentity();
    const victim = await enrolledIdentity();
    const flood = Array.from({ length: 2000 }, (_, i) => ({ id: `flood-${i}`, answer: 'x' }));
    const verify = mock.method(argon2, 'verify');
    try {
      const [attack, ...victimChecks] = await Promise.all([
        check(attacker, flood),
        new Promise((resolve) => setImmediate(resolve)).then(() => check(victim, RIGHT)),
        new Promise((resolve) => setTimeout(resolve, 20)).then(() => check(victim, RIGHT)),
      ]);
      assert.equal(attack!.status, 400);
      for (const c of victimChecks) {
        assert.equal(c.status, 200, `the victim's check answered ${c.status}`);
        assert.equal(c.body.status, 'SUCCESS');
      }
      // Only the victim's answers were hashed: two checks of two answers.
      assert.equal(verify.mock.callCount(), 4);
    } finally {
      verify.mock.restore();
    }
  });
});

// Regression: src/services/kba.ts counted the attempt (recordFailure) before the answers were hashed, and the hasher
// refuses work past MFA_KBA_MAX_QUEUED_HASHES with 429; a check refused that way had still used one of the
// identity's attempts, so load on the instance (anyone's checks) locked identities out. A check now claims the
// hasher's room for all its answers before it is counted (AnswerHasher.reserve).
describe('KBA hashing capacity: a 429 for lack of capacity', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({
      env: {
        MFA_KBA_ARGON2_MEMORY_KIB: '1024',
        MFA_KBA_ARGON2_TIME_COST: '1',
        MFA_KBA_MIN_ANSWERS: '1',
        MFA_KBA_REQUIRED_CORRECT: '1',
        MFA_KBA_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        // Room for one verification at a time and none waiting: a check of two answers cannot be served.
        MFA_KBA_MAX_CONCURRENT_HASHES: '1',
        MFA_KBA_MAX_QUEUED_HASHES: '0',
      },
    });
    const now = Date.now();
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: now });
    await server.runtime.store.putQuestion({ id: 'city', texts: { '': 'City of birth?' }, createdAt: now + 1 });
  });
  after(() => server.close());

  it('is not counted as an attempt', async () => {
    const token = await personalToken(server, 'kba.capacity.429');
    assert.equal((await postJson(server, '/v3/mfa/kba/config/answers', token, [{ id: 'pet', answer: 'Rex' }])).status, 200);
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const refused = await postJson(server, '/v3/mfa/kba/authenticate', token, RIGHT);
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.ok(refused.headers.get('retry-after'));
    }
    const served = await postJson(server, '/v3/mfa/kba/authenticate', token, [{ id: 'pet', answer: 'Rex' }]);
    assert.equal(served.body.status, 'SUCCESS', 'checks refused for lack of capacity locked the identity out');
  });
});

describe('AnswerHasher.reserve: room claimed for a whole check', () => {
  const cheap = { memoryKib: 1024, timeCost: 1, parallelism: 1 };
  const isRateLimited = (err: unknown): boolean => err instanceof ServiceError && err.code === 'RATE_LIMITED';

  it('claims all or nothing, and claimed comparisons are never refused while unclaimed work is', async () => {
    // One running and two waiting: room for three.
    const hasher = new AnswerHasher(cheap, 1, 2);
    await hasher.warmUp();
    const digest = await hasher.hash('rex');
    assert.equal(hasher.reserve(4), undefined, 'more than the room was claimed');
    const room = hasher.reserve(3);
    assert.ok(room);
    assert.equal(hasher.reserve(1), undefined, 'claimed room was claimed twice');
    await assert.rejects(hasher.verify(digest, 'rex'), isRateLimited);
    // Enrolment hashing waits in a lane of its own: checks' claimed room does not refuse it.
    assert.match(await hasher.hash('other'), /^\$argon2id\$/);
    assert.deepEqual(await Promise.all([room.verify(digest, 'rex'), room.verify(undefined, 'rex'), room.verify(digest, 'felix')]), [true, false, false]);
    assert.throws(() => room.verify(digest, 'rex'), /more verifications than were reserved/);
    room.release();
    const again = hasher.reserve(3);
    assert.ok(again, 'used room was not given back');
    again.release();
  });

  it('release gives back the unused part of a claim, once', async () => {
    const hasher = new AnswerHasher(cheap, 1, 2);
    await hasher.warmUp();
    const digest = await hasher.hash('rex');
    const room = hasher.reserve(3)!;
    assert.equal(await room.verify(digest, 'rex'), true);
    room.release();
    room.release();
    const all = hasher.reserve(3);
    assert.ok(all, 'the unused part of the claim was kept');
    assert.equal(hasher.reserve(1), undefined, 'a second release gave back room it did not hold');
    all.release();
    assert.equal(await hasher.verify(digest, 'rex'), true);
  });
});

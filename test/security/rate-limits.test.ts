// Defends against token flooding (SMS pumping, inbox bombing): send limits per client and per recipient,
// answered 429 with Retry-After, and shared between service instances through the database or Redis.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

const RATE_BODY = { message: ' Rate Limit Exceeded ' };

function assertLimited(answer: { status: number; headers: Headers; body: unknown }, maxSeconds: number): void {
  assert.equal(answer.status, 429);
  assert.deepEqual(answer.body, RATE_BODY);
  const retryAfter = Number(answer.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxSeconds, `Retry-After ${answer.headers.get('retry-after')}`);
}

describeEachDatabase('send rate limits', ({ postgres }) => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      postgres,
      env: { MFA_RATE_SENDS_PER_RECIPIENT: '2', MFA_RATE_SENDS_PER_RECIPIENT_WINDOW_SECONDS: '60', MFA_RATE_SENDS_PER_CLIENT: '6' },
    });
    await server.addIdentity('flooded', { email: 'flooded@example.com', phone: '+15550000002' });
  });
  after(() => server.close());

  it('limits sends per recipient and channel, known alias or not', async () => {
    const bearer = await server.accessToken(['idn:mfa:send']);
    for (const alias of ['flooded', 'not-a-user']) {
      const send = () => postJson(server, '/v3/mfa/token/send', bearer, { userAlias: alias, deliveryType: 'EMAIL_WORK' });
      assert.equal((await send()).status, 200);
      assert.equal((await send()).status, 200);
      assertLimited(await send(), 60);
    }
    // Another channel has its own budget (another client, as this one has spent its own).
    const sms = await postJson(server, '/v3/mfa/token/send', await server.accessToken(['idn:mfa:send']), { userAlias: 'flooded', deliveryType: 'SMS_PERSONAL' });
    assert.equal(sms.status, 200);
  });

  it('limits sends per client', async () => {
    const bearer = await server.accessToken(['idn:mfa:send']);
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await postJson(server, '/v3/mfa/token/send', bearer, { userAlias: `someone${i}`, deliveryType: 'EMAIL_WORK' }));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200, 429, 429]);
    assertLimited(answers[7]!, 60);
  });

  it('counts concurrent sends exactly', async () => {
    const bearer = await server.accessToken(['idn:mfa:send']);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => postJson(server, '/v3/mfa/token/send', bearer, { userAlias: `burst${i}`, deliveryType: 'EMAIL_WORK' })),
    );
    assert.equal(answers.filter((a) => a.status === 200).length, 6);
  });
});

describeEachDatabase('limits shared by two instances on one database', ({ postgres }) => {
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    const env = { MFA_RATE_SENDS_PER_RECIPIENT: '4', MFA_RATE_SENDS_PER_RECIPIENT_WINDOW_SECONDS: '60' };
    first = await startServer({ postgres, env });
    second = await startServer({ shareWith: first, env });
    await first.addIdentity('shared.user', { email: 'shared@example.com' });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  it('the recipient budget is one budget across instances', async () => {
    const bearer = await first.accessToken(['idn:mfa:send']);
    const body = { userAlias: 'shared.user', deliveryType: 'EMAIL_WORK' };
    const answers = await Promise.all([first, second, first, second, first, second].map((s) => postJson(s, '/v3/mfa/token/send', bearer, body)));
    assert.equal(answers.filter((a) => a.status === 200).length, 4);
    assert.equal(answers.filter((a) => a.status === 429).length, 2);
  });

  it('concurrent wrong tokens split across instances are all counted', async () => {
    const sendBearer = await first.accessToken(['sp:scopes:all']);
    await first.addIdentity('guessed.user', { email: 'guessed@example.com' });
    const sent = await postJson(first, '/v3/mfa/token/send', sendBearer, { userAlias: 'guessed.user', deliveryType: 'EMAIL_WORK' });
    const guesses = Array.from({ length: 30 }, (_, i) => String(100000 + i * 7919));
    await Promise.all(guesses.map((guess, i) =>
      postJson(i % 2 ? first : second, '/v3/mfa/token/authenticate', sendBearer, { token: guess, userAlias: 'guessed.user', deliveryType: 'EMAIL_WORK' }),
    ));
    const stored = await second.runtime.store.findVerification(sent.body.requestId);
    // One of the 30 guesses could be the token itself; either way exactly five tries were evaluated.
    assert.equal(stored?.attempts, 5);
  });
});

const redisUrl = process.env['MFA_TEST_REDIS_URL'];
describe('limits shared through Redis', { skip: redisUrl ? false : 'MFA_TEST_REDIS_URL not set: Redis tests skipped' }, () => {
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    // Separate databases: only Redis can make the two instances agree.
    const env = { MFA_REDIS_URL: redisUrl!, MFA_RATE_SENDS_PER_RECIPIENT: '3', MFA_RATE_SENDS_PER_RECIPIENT_WINDOW_SECONDS: '60' };
    first = await startServer({ env });
    second = await startServer({ env });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  it('a recipient budget spent on one instance is spent on the other', async () => {
    const alias = `redis-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const a = await first.accessToken(['idn:mfa:send']);
    const b = await second.accessToken(['idn:mfa:send']);
    const body = { userAlias: alias, deliveryType: 'EMAIL_WORK' };
    assert.equal((await postJson(first, '/v3/mfa/token/send', a, body)).status, 200);
    assert.equal((await postJson(second, '/v3/mfa/token/send', b, body)).status, 200);
    assert.equal((await postJson(first, '/v3/mfa/token/send', a, body)).status, 200);
    assertLimited(await postJson(second, '/v3/mfa/token/send', b, body), 60);
  });

  it('readiness reports Redis', async () => {
    const ready = await fetch(`${first.baseUrl}/health/ready`);
    assert.equal(ready.status, 200);
  });
});

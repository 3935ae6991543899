// Defends the one-time token against brute force (also under concurrency), replay, reuse after a resend,
// expiry, and user enumeration through answers or delivery time.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Message, Sender } from '../../src/core/ports.js';
import { DeliveryError } from '../../src/core/ports.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

class CapturingSender implements Sender {
  readonly sent: Message[] = [];
  delayMs = 0;
  failWith: string | undefined;
  async send(message: Message): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw new DeliveryError(this.failWith);
    this.sent.push(message);
  }
  lastTokenTo(to: string): string {
    const message = this.sent.filter((m) => m.to === to).at(-1);
    const token = message && /\b(\d{6})\b/.exec(message.body)?.[1];
    assert.ok(token, `no token sent to ${to}`);
    return token;
  }
}

const wrongFor = (token: string, n = 0): string => String((Number(token) + 1 + n) % 1_000_000).padStart(6, '0');

describeEachDatabase('token limits', ({ postgres }) => {
  let server: TestServer;
  let token: string;
  let otherClientToken: string;
  const sender = new CapturingSender();
  let clockOffsetMs = 0;
  let aliasCounter = 0;

  before(async () => {
    server = await startServer({
      postgres,
      sender,
      clock: { now: () => Date.now() + clockOffsetMs },
      env: { MFA_RATE_SENDS_PER_RECIPIENT: '1000', MFA_RATE_SENDS_PER_CLIENT: '100000' },
    });
    token = await server.accessToken(['sp:scopes:all']);
    otherClientToken = await server.accessToken(['sp:scopes:all']);
  });
  after(() => server.close());

  async function newUser(): Promise<{ alias: string; email: string }> {
    const alias = `user${++aliasCounter}`;
    const email = `${alias}@example.com`;
    await server.addIdentity(alias, { email, phone: '+15550000000' });
    return { alias, email };
  }
  const send = (alias: string, deliveryType = 'EMAIL_WORK', bearer = token) => postJson(server, '/v3/mfa/token/send', bearer, { userAlias: alias, deliveryType });
  const authenticate = (alias: string, guess: string, deliveryType = 'EMAIL_WORK') =>
    postJson(server, '/v3/mfa/token/authenticate', token, { token: guess, userAlias: alias, deliveryType });
  const poll = (requestId: string, bearer = token) => postJson(server, '/v3/mfa/token/poll', bearer, { requestId });

  it('a correct token succeeds exactly once', async () => {
    const { alias, email } = await newUser();
    const sent = await send(alias);
    const code = sender.lastTokenTo(email);
    assert.equal((await authenticate(alias, code)).body.status, 'SUCCESS');
    assert.equal((await authenticate(alias, code)).body.status, 'FAILED');
    assert.equal((await poll(sent.body.requestId)).body.status, 'SUCCESS');
  });

  it('five wrong tokens lock the identity out, and the right one no longer works', async () => {
    const { alias, email } = await newUser();
    const sent = await send(alias);
    const code = sender.lastTokenTo(email);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await authenticate(alias, wrongFor(code, i))).body.status);
    assert.deepEqual(answers, ['FAILED', 'FAILED', 'FAILED', 'FAILED', 'LOCKOUT']);
    assert.equal((await authenticate(alias, code)).body.status, 'LOCKOUT');
    assert.equal((await poll(sent.body.requestId)).body.status, 'LOCKOUT');
    const resend = await send(alias);
    assert.equal(resend.body.status, 'FAILED', 'no new token while locked out');
    assert.match(resend.body.errorMessage, /locked/i);
  });

  it('concurrent wrong guesses are all counted: exactly five are evaluated', async () => {
    const { alias, email } = await newUser();
    const sent = await send(alias);
    const code = sender.lastTokenTo(email);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => authenticate(alias, wrongFor(code, i))));
    assert.ok(answers.every((a) => a.status === 200 && (a.body.status === 'FAILED' || a.body.status === 'LOCKOUT')));
    const stored = await server.runtime.store.findVerification(sent.body.requestId);
    assert.equal(stored?.attempts, 5);
    assert.equal(stored?.status, 'LOCKOUT');
    assert.equal((await authenticate(alias, code)).body.status, 'LOCKOUT');
  });

  it('of many concurrent correct answers exactly one succeeds', async () => {
    const { alias, email } = await newUser();
    await send(alias);
    const code = sender.lastTokenTo(email);
    const answers = await Promise.all(Array.from({ length: 20 }, () => authenticate(alias, code)));
    assert.equal(answers.filter((a) => a.body.status === 'SUCCESS').length, 1);
  });

  it('asking for a new token does not reset the failure budget', async () => {
    const { alias, email } = await newUser();
    const statuses: string[] = [];
    for (let round = 0; round < 3; round++) {
      await send(alias);
      const code = sender.lastTokenTo(email);
      for (let i = 0; i < 4 && statuses.length < 10; i++) statuses.push((await authenticate(alias, wrongFor(code, i))).body.status);
    }
    // 4 + 4 + 2 wrong tokens across three sends: the tenth reaches the per-identity limit of 10.
    assert.deepEqual(statuses, [...Array(9).fill('FAILED'), 'LOCKOUT']);
    assert.equal((await send(alias)).body.status, 'FAILED');
  });

  it('a newer send supersedes the older token', async () => {
    const { alias, email } = await newUser();
    const first = await send(alias);
    const oldCode = sender.lastTokenTo(email);
    await send(alias);
    const newCode = sender.lastTokenTo(email);
    const firstPoll = await poll(first.body.requestId);
    assert.equal(firstPoll.body.status, 'FAILED');
    assert.match(firstPoll.body.error, /newer/);
    if (oldCode !== newCode) assert.equal((await authenticate(alias, oldCode)).body.status, 'FAILED');
    assert.equal((await authenticate(alias, newCode)).body.status, 'SUCCESS');
  });

  it('a token for one delivery type does not answer for another', async () => {
    const { alias, email } = await newUser();
    await send(alias, 'EMAIL_WORK');
    const code = sender.lastTokenTo(email);
    assert.equal((await authenticate(alias, code, 'SMS_PERSONAL')).body.status, 'NOT_ENOUGH_DATA');
    assert.equal((await authenticate(alias, code, 'EMAIL_WORK')).body.status, 'SUCCESS');
  });

  it('an expired token fails and polls FAILED', async () => {
    const { alias, email } = await newUser();
    const sent = await send(alias);
    const code = sender.lastTokenTo(email);
    clockOffsetMs += 301_000;
    try {
      assert.equal((await authenticate(alias, code)).body.status, 'FAILED');
      const polled = await poll(sent.body.requestId);
      assert.equal(polled.body.status, 'FAILED');
      assert.match(polled.body.error, /expired/);
    } finally {
      clockOffsetMs -= 301_000;
    }
  });

  it('the same wrong token sent again (a client retry) costs one try, not two', async () => {
    const { alias, email } = await newUser();
    const sent = await send(alias);
    const code = sender.lastTokenTo(email);
    for (let i = 0; i < 8; i++) assert.equal((await authenticate(alias, wrongFor(code))).body.status, 'FAILED');
    assert.equal((await server.runtime.store.findVerification(sent.body.requestId))?.attempts, 1);
    assert.equal((await authenticate(alias, code)).body.status, 'SUCCESS');
  });

  it('an unknown alias is answered like a known one, and locks out the same way', async () => {
    const { alias } = await newUser();
    const known = await send(alias);
    const unknown = await send('nobody-here');
    assert.deepEqual(Object.keys(unknown.body).sort(), Object.keys(known.body).sort());
    assert.equal(unknown.body.status, 'SUCCESS');
    assert.match(unknown.body.requestId, /^[0-9a-f]{32}$/);
    assert.equal((await poll(unknown.body.requestId)).body.status, 'PENDING');
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await authenticate('nobody-here', String(100000 + i))).body.status);
    assert.deepEqual(answers, ['FAILED', 'FAILED', 'FAILED', 'FAILED', 'LOCKOUT']);
  });

  it('a poll for another client’s request, another method or an unknown id gets one answer', async () => {
    const { alias } = await newUser();
    const sent = await send(alias);
    const foreign = await poll(sent.body.requestId, otherClientToken);
    const unknown = await poll('0'.repeat(32), otherClientToken);
    const otherMethod = await postJson(server, '/v3/mfa/kba/poll', token, { requestId: sent.body.requestId });
    assert.equal(foreign.status, 200);
    assert.deepEqual({ ...foreign.body, requestId: null }, { ...unknown.body, requestId: null });
    assert.deepEqual({ ...otherMethod.body, requestId: null }, { ...unknown.body, requestId: null });
    assert.equal((await poll(sent.body.requestId)).body.status, 'PENDING', 'its own client still sees it');
  });

  it('a failed delivery answers FAILED with a reason and leaves no usable token', async () => {
    const { alias } = await newUser();
    sender.failWith = 'gateway said no';
    let sent;
    try {
      sent = await send(alias);
    } finally {
      sender.failWith = undefined;
    }
    assert.equal(sent.status, 200);
    assert.equal(sent.body.status, 'FAILED');
    assert.match(sent.body.errorMessage, new RegExp(`by email.*${sent.body.requestId}`));
    assert.doesNotMatch(sent.body.errorMessage, /gateway said no/, 'transport detail stays in the log');
    assert.equal((await poll(sent.body.requestId)).body.status, 'FAILED');
    const retry = await send(alias);
    assert.equal(retry.body.status, 'SUCCESS', 'a failed delivery does not block the next send');
    assert.notEqual(retry.body.requestId, sent.body.requestId);
  });
});

describeEachDatabase('delivery time does not tell whether a user exists', ({ postgres }) => {
  let server: TestServer;
  const sender = new CapturingSender();
  before(async () => {
    server = await startServer({ postgres, sender, env: { MFA_RATE_SENDS_PER_RECIPIENT: '1000' } });
    await server.addIdentity('timed.user', { email: 'timed@example.com', phone: '+15550000001' });
  });
  after(() => server.close());

  it('an unknown alias or a missing address takes about as long as a real delivery', async () => {
    const bearer = await server.accessToken(['idn:mfa:send']);
    const send = (userAlias: string, deliveryType: string) => postJson(server, '/v3/mfa/token/send', bearer, { userAlias, deliveryType });
    const timed = async (userAlias: string, deliveryType: string) => {
      const started = performance.now();
      const answer = await send(userAlias, deliveryType);
      return { answer, ms: performance.now() - started };
    };
    sender.delayMs = 60;
    for (let i = 0; i < 3; i++) {
      await send('timed.user', 'EMAIL_WORK'); // real deliveries teach the service how long each channel takes
      await send('timed.user', 'SMS_PERSONAL');
    }
    const unknown = await timed('nobody-at-all', 'EMAIL_WORK');
    const missing = await timed('timed.user', 'SMS_WORK'); // no workPhone attribute
    assert.equal(unknown.answer.body.status, 'SUCCESS');
    assert.equal(missing.answer.body.status, 'SUCCESS');
    assert.ok(unknown.ms >= 50, `unknown alias answered in ${unknown.ms.toFixed(1)} ms; real sends take 60 ms`);
    assert.ok(missing.ms >= 50, `missing address answered in ${missing.ms.toFixed(1)} ms; real sends take 60 ms`);
  });
});

describeEachDatabase('token resend interval', ({ postgres }) => {
  let server: TestServer;
  const sender = new CapturingSender();
  before(async () => {
    server = await startServer({ postgres, sender, env: { MFA_TOKEN_RESEND_INTERVAL_SECONDS: '30' } });
    await server.addIdentity('retry.user', { email: 'retry@example.com' });
  });
  after(() => server.close());

  it('a repeated send (a client retrying a dropped request) sends one token and answers the same request', async () => {
    const bearer = await server.accessToken(['idn:mfa:send']);
    const answers = await Promise.all(Array.from({ length: 5 }, () => postJson(server, '/v3/mfa/token/send', bearer, { userAlias: 'retry.user', deliveryType: 'EMAIL_WORK' })));
    assert.ok(answers.every((a) => a.body.status === 'SUCCESS'));
    assert.equal(new Set(answers.map((a) => a.body.requestId)).size, 1);
    assert.equal(sender.sent.length, 1);
  });
});

describeEachDatabase('explicit errors (operator opt-in)', ({ postgres }) => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ postgres, sender: new CapturingSender(), env: { MFA_EXPLICIT_ERRORS: 'true' } });
    await server.addIdentity('mail.only', { email: 'mail.only@example.com' });
  });
  after(() => server.close());

  it('says when the alias is unknown or the address is missing', async () => {
    const bearer = await server.accessToken(['idn:mfa:send']);
    const unknown = await postJson(server, '/v3/mfa/token/send', bearer, { userAlias: 'ghost', deliveryType: 'EMAIL_WORK' });
    const noPhone = await postJson(server, '/v3/mfa/token/send', bearer, { userAlias: 'mail.only', deliveryType: 'SMS_PERSONAL' });
    assert.deepEqual(unknown.body, { requestId: null, status: 'FAILED', errorMessage: 'Unknown user.' });
    assert.deepEqual(noPhone.body, { requestId: null, status: 'FAILED', errorMessage: 'The user has no address for this delivery type.' });
  });
});

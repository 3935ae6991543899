// Defends against inbox bombing and SMS pumping through identities that share an address: the
// per-recipient send limit counted per alias alone lets a caller multiply the messages one mailbox or
// phone receives by the number of identities holding it (or spellings of it). The limit is also counted
// per normalised address (e-mail trimmed and lower-cased, phone numbers in E.164), without telling the
// caller that the alias exists (unless explicit errors are on). On SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Message, Sender } from '../../src/core/ports.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

class CapturingSender implements Sender {
  readonly sent: Message[] = [];
  async send(message: Message): Promise<void> {
    this.sent.push(message);
  }
  countTo(pattern: RegExp): number {
    return this.sent.filter((m) => pattern.test(m.to)).length;
  }
}

const LIMIT = 2;
const ENV = { MFA_RATE_SENDS_PER_RECIPIENT: String(LIMIT), MFA_RATE_SENDS_PER_RECIPIENT_WINDOW_SECONDS: '60', MFA_RATE_SENDS_PER_CLIENT: '1000' };

describeEachDatabase('send limit per address', ({ postgres }) => {
  let server: TestServer;
  let bearer: string;
  const sender = new CapturingSender();

  before(async () => {
    server = await startServer({ postgres, sender, env: ENV });
    bearer = await server.accessToken(['idn:mfa:send']);
    // Three identities, one mailbox and one phone, each spelt differently.
    await server.addIdentity('shared.one', { email: 'Shared.Box@Example.com', phone: '+1 (415) 555-0100' });
    await server.addIdentity('shared.two', { email: ' shared.box@example.com ', phone: '+14155550100' });
    await server.addIdentity('shared.three', { email: 'SHARED.BOX@EXAMPLE.COM', phone: '0014155550100' });
    await server.addIdentity('own.box', { email: 'own.box@example.com', phone: '+14155550199' });
  });
  after(() => server.close());

  const send = (alias: string, deliveryType: string) => postJson(server, '/v3/mfa/token/send', bearer, { userAlias: alias, deliveryType });

  it('identities sharing a mailbox share its limit, however the address is spelt', async () => {
    for (const alias of ['shared.one', 'shared.two']) {
      const answer = await send(alias, 'EMAIL_WORK');
      assert.equal(answer.status, 200);
      assert.equal(answer.body.status, 'SUCCESS');
    }
    assert.equal(sender.countTo(/shared\.box@example\.com/i), LIMIT);

    // A third alias, itself well under its own limit: answered as any send is, and nothing reaches the box.
    const third = await send('shared.three', 'EMAIL_WORK');
    assert.equal(third.status, 200, 'a 429 would tell the caller that this alias exists and shares an address');
    assert.equal(third.body.status, 'SUCCESS');
    assert.equal(third.body.errorMessage, null);
    assert.match(third.body.requestId, /^[0-9a-f]{32}$/);
    assert.equal(sender.countTo(/shared\.box@example\.com/i), LIMIT, 'the mailbox received more than its limit');
  });

  it('the limit on a phone number counts its E.164 form', async () => {
    for (const alias of ['shared.one', 'shared.three']) assert.equal((await send(alias, 'SMS_PERSONAL')).body.status, 'SUCCESS');
    assert.equal(sender.sent.filter((m) => m.channel === 'sms').length, LIMIT);
    assert.equal((await send('shared.two', 'SMS_PERSONAL')).status, 200);
    assert.equal(sender.sent.filter((m) => m.channel === 'sms').length, LIMIT, 'the phone received more than its limit');
  });

  it('an identity with an address of its own is not held back', async () => {
    const before = sender.countTo(/^own\.box@example\.com$/);
    assert.equal((await send('own.box', 'EMAIL_WORK')).body.status, 'SUCCESS');
    assert.equal(sender.countTo(/^own\.box@example\.com$/), before + 1);
  });

  it('records why nothing was sent in the audit trail', async () => {
    const events = await server.runtime.store.queryAudit({ alias: 'shared.three', limit: 10 });
    const limited = events.find((e) => e.operation === 'send' && e.deliveryType === 'EMAIL_WORK');
    assert.ok(limited, 'no audit event for the held-back send');
    assert.equal(limited.outcome, 'FAILED');
    assert.match(limited.reason ?? '', /address reached its send limit/);
  });
});

describeEachDatabase('send limit per address, explicit errors', ({ postgres }) => {
  let server: TestServer;
  const sender = new CapturingSender();

  before(async () => {
    server = await startServer({ postgres, sender, env: { ...ENV, MFA_EXPLICIT_ERRORS: 'true' } });
    await server.addIdentity('twin.a', { email: 'twin@example.com' });
    await server.addIdentity('twin.b', { email: 'Twin@Example.com' });
  });
  after(() => server.close());

  it('answers 429 with Retry-After when the operator opted in to explicit errors', async () => {
    const bearer = await server.accessToken(['idn:mfa:send']);
    const send = (alias: string) => postJson(server, '/v3/mfa/token/send', bearer, { userAlias: alias, deliveryType: 'EMAIL_WORK' });
    assert.equal((await send('twin.a')).status, 200);
    assert.equal((await send('twin.b')).status, 200);
    const refused = await send('twin.a');
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(sender.sent.length, LIMIT);
  });
});

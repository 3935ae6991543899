// Defends createSender's routing: each channel reaches the transport configured for it, failures are logged without recipient or body, and close() closes all.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { DeliveryError, type Message } from '../../src/core/ports.js';
import { createSender, readOutbox, type DeliveryConfig } from '../../src/delivery/index.js';
import { startTwilioPeer, startWebhookPeer } from './peers.js';

const SECRET = 'routing-secret';
const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const AUTH_TOKEN = 'routing-auth-token';

const base: DeliveryConfig = {
  email: 'outbox',
  sms: 'outbox',
  voice: 'outbox',
  smtpUrl: undefined,
  emailFrom: 'mfa <no-reply@example.com>',
  twilioAccountSid: undefined,
  twilioAuthToken: undefined,
  twilioFrom: undefined,
  twilioBaseUrl: undefined,
  webhookUrl: undefined,
  webhookSecret: undefined,
  timeoutMs: 2000,
  templatesDir: undefined,
  defaultLocale: 'en',
};

const msg = (channel: Message['channel'], body: string): Message => ({ channel, to: channel === 'email' ? 'bob@example.com' : '+15005550009', subject: 's', body, locale: 'en' });

/** A real pino logger writing into an array, so the logged fields can be checked. */
function capturingLogger(): { logger: ReturnType<typeof pino>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('createSender routing', () => {
  it('sends each channel through its configured transport', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mfa-routing-'));
    const webhook = await startWebhookPeer(SECRET);
    const twilio = await startTwilioPeer(ACCOUNT_SID, AUTH_TOKEN);
    const sender = createSender(
      { ...base, email: 'webhook', sms: 'twilio', voice: 'outbox', webhookUrl: webhook.url, webhookSecret: SECRET, twilioAccountSid: ACCOUNT_SID, twilioAuthToken: AUTH_TOKEN, twilioFrom: '+15005550006', twilioBaseUrl: twilio.url },
      dataDir,
    );
    try {
      await sender.send(msg('email', 'via webhook'));
      await sender.send(msg('sms', 'via twilio'));
      await sender.send(msg('voice', 'via outbox'));
      assert.deepEqual(webhook.received.map((r) => [r.payload['channel'], r.payload['body']]), [['email', 'via webhook']]);
      assert.deepEqual(twilio.received.map((r) => [r.resource, r.params['Body']]), [['Messages', 'via twilio']]);
      assert.deepEqual((await readOutbox(dataDir)).map((e) => [e.channel, e.body]), [['voice', 'via outbox']]);
    } finally {
      await sender.close();
      await sender.close();
      await webhook.close();
      await twilio.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('logs deliveries and failures by channel and transport, never the recipient or body', async () => {
    const webhook = await startWebhookPeer(SECRET, { kind: 'status', status: 503 });
    const dataDir = await mkdtemp(join(tmpdir(), 'mfa-routing-'));
    const { logger, lines } = capturingLogger();
    const sender = createSender({ ...base, sms: 'webhook', voice: 'webhook', webhookUrl: webhook.url, webhookSecret: SECRET }, dataDir, logger);
    try {
      await sender.send(msg('email', 'code 111111'));
      await assert.rejects(sender.send(msg('sms', 'code 222222')), (err) => err instanceof DeliveryError && /HTTP 503/.test(err.message));
      await assert.rejects(sender.send(msg('voice', 'code 333333')), DeliveryError);
      assert.deepEqual(
        lines.map((l) => [l['msg'], l['channel'], l['transport']]),
        [
          ['message delivered', 'email', 'outbox'],
          ['delivery failed', 'sms', 'webhook'],
          ['delivery failed', 'voice', 'webhook'],
        ],
      );
      const logged = JSON.stringify(lines);
      for (const secret of ['111111', '222222', '333333', 'bob@example.com', '+15005550009']) assert.ok(!logged.includes(secret), `${secret} logged`);
      assert.equal(webhook.requests.length, 2, 'sms and voice share one webhook transport');
    } finally {
      await sender.close();
      await webhook.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('rejects a message for an unknown channel', async () => {
    const sender = createSender(base, join(tmpdir(), 'unused'));
    await assert.rejects(sender.send({ ...msg('sms', 'x'), channel: 'fax' as Message['channel'] }), DeliveryError);
    await assert.rejects(sender.send({ ...msg('sms', 'x'), channel: 'constructor' as Message['channel'] }), DeliveryError);
    await sender.close();
  });

  it('throws at construction when a chosen transport lacks its settings', () => {
    assert.throws(() => createSender({ ...base, email: 'smtp' }, '/tmp'), /MFA_SMTP_URL/);
    assert.throws(() => createSender({ ...base, voice: 'twilio', twilioAccountSid: ACCOUNT_SID }, '/tmp'), /MFA_TWILIO_AUTH_TOKEN/);
    assert.throws(() => createSender({ ...base, sms: 'webhook', webhookUrl: 'http://127.0.0.1:1/' }, '/tmp'), /MFA_WEBHOOK_SECRET/);
  });
});

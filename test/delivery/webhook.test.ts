// Defends the signed webhook: receivers can verify every request as docs/delivery.md says; refusals, error statuses and silence are DeliveryErrors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Channel } from '../../src/core/model.js';
import { DeliveryError, type Message } from '../../src/core/ports.js';
import { WebhookSender, webhookSignature } from '../../src/delivery/webhook.js';
import { senderContract } from './contract.js';
import { closedPort, startWebhookPeer } from './peers.js';

const SECRET = 'whsec-test-0123456789abcdef';

senderContract('webhook', ['email', 'sms', 'voice'], async () => {
  const peer = await startWebhookPeer(SECRET);
  const sender = new WebhookSender({ url: peer.url, secret: SECRET, timeoutMs: 2000 });
  return {
    sender,
    received: async () =>
      peer.received.map(({ payload }) => ({
        channel: payload['channel'] as Channel,
        to: String(payload['to']),
        subject: String(payload['subject']),
        body: String(payload['body']),
      })),
    close: async () => {
      await sender.close();
      await peer.close();
    },
  };
});

const sms: Message = { channel: 'sms', to: '+15005550006', subject: '', body: 'Your code is 123456.', locale: 'de-CH' };

describe('webhook request', () => {
  it('carries the documented headers and JSON fields', async () => {
    const peer = await startWebhookPeer(SECRET);
    const nowMs = Date.now();
    try {
      await new WebhookSender({ url: peer.url, secret: SECRET, timeoutMs: 2000, now: () => nowMs }).send(sms);
      const [got] = peer.received;
      assert.ok(got);
      assert.equal(got.headers['content-type'], 'application/json');
      assert.equal(got.headers['x-mfa-timestamp'], String(Math.floor(nowMs / 1000)));
      assert.match(String(got.headers['x-mfa-signature']), /^sha256=[0-9a-f]{64}$/);
      assert.deepEqual(got.payload, { channel: 'sms', to: '+15005550006', subject: '', body: 'Your code is 123456.', locale: 'de-CH', at: new Date(nowMs).toISOString() });
    } finally {
      await peer.close();
    }
  });

  it('signs timestamp "." raw body with HMAC-SHA256: the vector printed in docs/delivery.md', async () => {
    // Computed independently (Python hmac) when the docs were written.
    const body = '{"channel":"sms","to":"+15005550006","subject":"","body":"Your code is 123456.","locale":"en","at":"2030-01-01T00:00:00.000Z"}';
    const signature = 'sha256=fa78ecd10e94d0fa7b04193637737c5b39695a2087f43d9d92ec6e6182c39396';
    assert.equal(webhookSignature('my-webhook-secret', 1893456000, body), signature);
    // And the sender produces exactly that body and signature on the wire.
    const peer = await startWebhookPeer(SECRET, { kind: 'status', status: 204 });
    try {
      await new WebhookSender({ url: peer.url, secret: 'my-webhook-secret', timeoutMs: 2000, now: () => 1893456000_000 }).send({ ...sms, locale: 'en' });
      assert.equal(peer.requests[0]?.raw, body);
      assert.equal(peer.requests[0]?.headers['x-mfa-timestamp'], '1893456000');
      assert.equal(peer.requests[0]?.headers['x-mfa-signature'], signature);
    } finally {
      await peer.close();
    }
  });
});

describe('webhook failures', () => {
  it('a receiver that cannot verify the signature (wrong secret) refuses it: DeliveryError with the status', async () => {
    const peer = await startWebhookPeer(SECRET);
    try {
      await assert.rejects(new WebhookSender({ url: peer.url, secret: 'not-the-secret', timeoutMs: 2000 }).send(sms), (err) => err instanceof DeliveryError && /HTTP 401/.test(err.message));
      assert.equal(peer.refused, 1);
      assert.equal(peer.received.length, 0);
    } finally {
      await peer.close();
    }
  });

  it('a stale timestamp is refused by the receiver', async () => {
    const peer = await startWebhookPeer(SECRET);
    try {
      const tenMinutesAgo = () => Date.now() - 10 * 60_000;
      await assert.rejects(new WebhookSender({ url: peer.url, secret: SECRET, timeoutMs: 2000, now: tenMinutesAgo }).send(sms), DeliveryError);
      assert.equal(peer.refused, 1);
    } finally {
      await peer.close();
    }
  });

  it('a non-2xx answer is a DeliveryError naming the status, not the URL path', async () => {
    for (const status of [500, 302, 404]) {
      const peer = await startWebhookPeer(SECRET, { kind: 'status', status });
      try {
        await assert.rejects(new WebhookSender({ url: `${peer.url}?key=s3cr3t`, secret: SECRET, timeoutMs: 2000 }).send(sms), (err) => {
          assert.ok(err instanceof DeliveryError);
          assert.match(err.message, new RegExp(`HTTP ${status}`));
          assert.ok(!err.message.includes('/hooks/mfa') && !err.message.includes('s3cr3t'), err.message);
          return true;
        });
      } finally {
        await peer.close();
      }
    }
  });

  it('a receiver that never answers is a DeliveryError soon after the timeout', async () => {
    const peer = await startWebhookPeer(SECRET, { kind: 'hang' });
    const startedMs = Date.now();
    try {
      await assert.rejects(new WebhookSender({ url: peer.url, secret: SECRET, timeoutMs: 200 }).send(sms), (err) => err instanceof DeliveryError && /no answer within 200 ms/.test(err.message));
      const elapsedMs = Date.now() - startedMs;
      assert.ok(elapsedMs >= 190 && elapsedMs < 2000, `took ${elapsedMs} ms`);
    } finally {
      await peer.close();
    }
  });

  it('nobody listening is a DeliveryError', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/hook`;
    await assert.rejects(new WebhookSender({ url, secret: SECRET, timeoutMs: 2000 }).send(sms), (err) => err instanceof DeliveryError && /ECONNREFUSED/.test(err.message));
  });
});

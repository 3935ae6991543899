// Defends SMTP email delivery: a real SMTP server receives the message, and every failure is a DeliveryError free of URL credentials.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { DeliveryError } from '../../src/core/ports.js';
import { SmtpSender } from '../../src/delivery/smtp.js';
import { senderContract } from './contract.js';
import { closedPort, startSmtpPeer } from './peers.js';

const FROM = 'mfa-controller <no-reply@mfa.example>';
const email = (to: string) => ({ channel: 'email' as const, to, subject: 'Your code', body: 'Your code is 123456.', locale: 'en' });

senderContract('smtp', ['email'], async () => {
  const peer = await startSmtpPeer();
  const sender = new SmtpSender({ url: `smtp://127.0.0.1:${peer.port}`, from: FROM, timeoutMs: 2000 });
  return {
    sender,
    received: async () =>
      peer.received.map((mail) => {
        // The From header and the envelope must agree with the configuration and the message.
        assert.match(mail.from, /^"?mfa-controller"? <no-reply@mfa\.example>$/);
        assert.equal(mail.envelopeTo.length, 1);
        return { channel: 'email' as const, to: mail.envelopeTo[0] ?? '', subject: mail.subject, body: mail.text };
      }),
    close: async () => {
      await sender.close();
      await peer.close();
    },
  };
});

describe('smtp failures', () => {
  it('a recipient the server rejects is a DeliveryError carrying the SMTP answer', async () => {
    const peer = await startSmtpPeer({ rejectRecipient: 'nobody@example.com' });
    const sender = new SmtpSender({ url: `smtp://127.0.0.1:${peer.port}`, from: FROM, timeoutMs: 2000 });
    try {
      await assert.rejects(sender.send(email('nobody@example.com')), (err) => {
        assert.ok(err instanceof DeliveryError);
        assert.match(err.message, /550/);
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${peer.port}`));
        return true;
      });
      assert.equal(peer.received.length, 0);
    } finally {
      await sender.close();
      await peer.close();
    }
  });

  it('logs in with the URL credentials, and a failed login never shows them', async () => {
    const peer = await startSmtpPeer({ credentials: { user: 'mailer', pass: 'p@ss w0rd' } });
    const good = new SmtpSender({ url: `smtp://mailer:${encodeURIComponent('p@ss w0rd')}@127.0.0.1:${peer.port}`, from: FROM, timeoutMs: 2000 });
    const bad = new SmtpSender({ url: `smtp://mailer:${encodeURIComponent('Wr0ng s3cret!')}@127.0.0.1:${peer.port}`, from: FROM, timeoutMs: 2000 });
    try {
      await good.send(email('alice@example.com'));
      assert.equal(peer.received.length, 1);
      await assert.rejects(bad.send(email('alice@example.com')), (err) => {
        assert.ok(err instanceof DeliveryError);
        assert.match(err.message, /535|EAUTH/);
        for (const secret of ['Wr0ng s3cret!', encodeURIComponent('Wr0ng s3cret!'), 'mailer']) assert.ok(!err.message.includes(secret), err.message);
        assert.equal(err.cause, undefined, 'no library error that might hold the credentials');
        return true;
      });
    } finally {
      await good.close();
      await bad.close();
      await peer.close();
    }
  });

  it('nobody listening is a DeliveryError well within the timeout', async () => {
    const port = await closedPort();
    const sender = new SmtpSender({ url: `smtp://user:hunter22@127.0.0.1:${port}`, from: FROM, timeoutMs: 1500 });
    const startedMs = Date.now();
    await assert.rejects(sender.send(email('alice@example.com')), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(err.message, /ECONNREFUSED|ECONNECTION|ESOCKET/);
      assert.ok(!err.message.includes('hunter22'));
      return true;
    });
    assert.ok(Date.now() - startedMs < 1500, 'failed fast, before the timeout');
    await sender.close();
  });

  it('a server that accepts the connection but never greets is a DeliveryError soon after the timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sender = new SmtpSender({ url: `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`, from: FROM, timeoutMs: 300 });
    const startedMs = Date.now();
    try {
      await assert.rejects(sender.send(email('alice@example.com')), (err) => err instanceof DeliveryError && /ETIMEDOUT|EABORT|no answer/.test(err.message));
      const elapsedMs = Date.now() - startedMs;
      assert.ok(elapsedMs >= 250 && elapsedMs < 2000, `took ${elapsedMs} ms`);
    } finally {
      await sender.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('refuses to carry an sms', async () => {
    const sender = new SmtpSender({ url: 'smtp://127.0.0.1:1', from: FROM, timeoutMs: 1000 });
    await assert.rejects(sender.send({ ...email('+15005550006'), channel: 'sms' }), DeliveryError);
  });
});

// Defends email delivery over SMTP: what a real SMTP server receives, and that every failure (rejected
// recipient, bad login, nobody listening) is a DeliveryError that never shows the URL's credentials.
import assert from 'node:assert/strict';
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

  it('refuses to carry an sms', async () => {
    const sender = new SmtpSender({ url: 'smtp://127.0.0.1:1', from: FROM, timeoutMs: 1000 });
    await assert.rejects(sender.send({ ...email('+15005550006'), channel: 'sms' }), DeliveryError);
  });
});

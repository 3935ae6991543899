// Defends the development outbox: every message lands as one parseable JSON line that can be read back.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DeliveryError } from '../../src/core/ports.js';
import { OutboxSender, outboxPath, readOutbox } from '../../src/delivery/outbox.js';
import { startServer } from '../helpers/server.js';
import { senderContract } from './contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mfa-outbox-'));
}

senderContract('outbox', ['email', 'sms', 'voice'], async () => {
  const root = await tempDir();
  // A directory that does not exist yet: the sender must create it.
  const dataDir = join(root, 'nested', 'data');
  const sender = new OutboxSender(dataDir);
  return {
    sender,
    received: async () => (await readOutbox(dataDir)).map(({ channel, to, subject, body }) => ({ channel, to, subject, body })),
    close: async () => {
      await sender.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe('outbox file', () => {
  it('writes exactly the documented fields, one JSON object per line, readable by its owner only', async () => {
    const dataDir = await tempDir();
    try {
      const sender = new OutboxSender(dataDir, () => Date.UTC(2030, 0, 2, 3, 4, 5));
      await sender.send({ channel: 'sms', to: '+15005550006', subject: '', body: 'code 1\ncode 2', locale: 'en' });
      await sender.send({ channel: 'email', to: 'a@example.com', subject: 'S', body: 'B', locale: 'de' });
      const lines = (await readFile(outboxPath(dataDir), 'utf8')).split('\n');
      assert.equal(lines.length, 3, 'two lines and a final newline');
      assert.equal(lines[2], '');
      assert.deepEqual(JSON.parse(lines[0] ?? ''), { at: '2030-01-02T03:04:05.000Z', channel: 'sms', to: '+15005550006', subject: '', body: 'code 1\ncode 2' });
      assert.deepEqual(Object.keys(JSON.parse(lines[1] ?? '')), ['at', 'channel', 'to', 'subject', 'body']);
      assert.equal((await stat(outboxPath(dataDir))).mode & 0o077, 0, 'no group or other access to live tokens');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('writes every one of many concurrent sends once, and answers each only once its line is in the file', async () => {
    const dataDir = await tempDir();
    try {
      const sender = new OutboxSender(dataDir);
      const ids = Array.from({ length: 200 }, (_, i) => `request-${i}`);
      const seenAtAnswer = await Promise.all(
        ids.map(async (requestId) => {
          await sender.send({ channel: 'email', to: `${requestId}@example.com`, subject: 'S', body: 'B', locale: 'en', requestId });
          return (await readOutbox(dataDir)).some((entry) => entry.requestId === requestId);
        }),
      );
      assert.ok(seenAtAnswer.every(Boolean), 'a send was answered before its line was written');
      const written = (await readOutbox(dataDir)).map((entry) => entry.requestId);
      assert.deepEqual([...written].sort(), [...ids].sort());
      const text = await readFile(outboxPath(dataDir), 'utf8');
      assert.equal(text.split('\n').length, ids.length + 1, 'one complete line each');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("keeps the message's request id, so a developer can match a message to the send that wrote it", async () => {
    const server = await startServer();
    try {
      await server.addIdentity('will.albin', { email: 'will.albin@example.com' });
      const token = await server.accessToken(['idn:mfa:send']);
      const answers: string[] = [];
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${server.baseUrl}/v3/mfa/token/send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' }),
        });
        const body = (await response.json()) as { requestId: string };
        assert.equal(response.status, 200, JSON.stringify(body));
        answers.push(body.requestId);
      }
      assert.notEqual(answers[0], answers[1]);
      const entries = await readOutbox(server.dataDir);
      assert.deepEqual(entries.map((e) => [e.to, e.requestId]), answers.map((id) => ['will.albin@example.com', id]));
    } finally {
      await server.close();
    }
  });

  it('a developer who deletes the outbox, or the whole data directory, loses no message sent afterwards', async () => {
    const root = await tempDir();
    const dataDir = join(root, 'data');
    try {
      const sender = new OutboxSender(dataDir);
      const message = (body: string) => ({ channel: 'email' as const, to: 'a@example.com', subject: 'S', body, locale: 'en' });
      await sender.send(message('first'));
      await rm(outboxPath(dataDir));
      await sender.send(message('after the file was deleted'));
      await rm(dataDir, { recursive: true });
      await sender.send(message('after the directory was deleted'));
      assert.deepEqual((await readOutbox(dataDir)).map((e) => e.body), ['after the directory was deleted']);
      assert.equal((await stat(dataDir)).mode & 0o777, 0o700, 'made again, private');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reads a missing outbox as empty', async () => {
    assert.deepEqual(await readOutbox(join(tmpdir(), 'mfa-outbox-does-not-exist', String(process.pid))), []);
  });

  it('skips a corrupt line and keeps the complete ones', async () => {
    const dataDir = await tempDir();
    try {
      const sender = new OutboxSender(dataDir);
      await sender.send({ channel: 'sms', to: '+1', subject: '', body: 'first', locale: 'en' });
      await appendFile(outboxPath(dataDir), '{"at":"2030-01-01T00:00:00.000Z","chan\n');
      await sender.send({ channel: 'sms', to: '+1', subject: '', body: 'second', locale: 'en' });
      assert.deepEqual((await readOutbox(dataDir)).map((e) => e.body), ['first', 'second']);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('reports an unwritable outbox as a DeliveryError', async () => {
    const root = await tempDir();
    try {
      // A file where the data directory should be: mkdir fails.
      await writeFile(join(root, 'blocker'), '');
      const sender = new OutboxSender(join(root, 'blocker', 'data'));
      await assert.rejects(sender.send({ channel: 'sms', to: '+1', subject: '', body: 'x', locale: 'en' }), (err) => err instanceof DeliveryError && /^outbox: cannot write/.test(err.message));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

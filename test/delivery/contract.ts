// The Sender contract every transport keeps, judged on what a real peer received: channel, recipient, subject, body intact, each exactly once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Channel } from '../../src/core/model.js';
import type { Message, Sender } from '../../src/core/ports.js';

/** A message as the peer saw it, decoded back to Message fields. Subject is undefined where the wire has none. */
export interface ReceivedMessage {
  readonly channel: Channel;
  readonly to: string;
  readonly subject: string | undefined;
  readonly body: string;
}

export interface SenderHarness {
  readonly sender: Sender;
  /** What the peer received so far, in arrival order. */
  received(): Promise<readonly ReceivedMessage[]>;
  /** Closes the sender and the peer. */
  close(): Promise<void>;
}

const RECIPIENT: Readonly<Record<Channel, string>> = { email: 'alice@example.com', sms: '+15005550006', voice: '+15005550006' };

function message(channel: Channel, body: string, subject = 'Your verification code'): Message {
  return { channel, to: RECIPIENT[channel], subject, body, locale: 'en' };
}

/** Registers the contract for `name` on each channel it carries; `start` gives a fresh sender and peer per test. */
export function senderContract(name: string, channels: readonly Channel[], start: (channel: Channel) => Promise<SenderHarness>): void {
  describe(`${name}: sender contract`, () => {
    for (const channel of channels) {
      const run = async (check: (harness: SenderHarness) => Promise<void>): Promise<void> => {
        const harness = await start(channel);
        try {
          await check(harness);
        } finally {
          await harness.close();
        }
      };

      it(`${channel}: the peer receives the channel, recipient, subject and body`, () =>
        run(async ({ sender, received }) => {
          await sender.send(message(channel, 'Your verification code is 483920.'));
          const [got, ...more] = await received();
          assert.equal(more.length, 0, 'exactly one message');
          assert.ok(got);
          assert.equal(got.channel, channel);
          assert.equal(got.to, RECIPIENT[channel]);
          assert.equal(got.body, 'Your verification code is 483920.');
          if (channel === 'email') assert.equal(got.subject, 'Your verification code');
        }));

      it(`${channel}: non-ASCII text and markup characters arrive unchanged`, () =>
        run(async ({ sender, received }) => {
          const body = 'Ihr Bestätigungscode: 1, 2, 3 — <Play>&amp; "vérifié" \'ok\' ✓\nZweite Zeile';
          await sender.send(message(channel, body, 'Bestätigung <wichtig> & “sofort”'));
          const [got] = await received();
          assert.equal(got?.body, body);
          if (channel === 'email') assert.equal(got?.subject, 'Bestätigung <wichtig> & “sofort”');
        }));

      it(`${channel}: concurrent sends each arrive exactly once`, () =>
        run(async ({ sender, received }) => {
          const bodies = ['code 100001', 'code 100002', 'code 100003', 'code 100004', 'code 100005'];
          await Promise.all(bodies.map((body) => sender.send(message(channel, body))));
          const got = (await received()).map((m) => m.body).sort();
          assert.deepEqual(got, bodies);
        }));
    }
  });
}

// Defends Twilio SMS/voice: both resources reach the configured base URL authenticated, Twilio error codes survive, the auth token never leaks.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { Channel } from '../../src/core/model.js';
import { DeliveryError, type Message } from '../../src/core/ports.js';
import { TwilioSender, voiceTwiml } from '../../src/delivery/twilio.js';
import { senderContract, type ReceivedMessage } from './contract.js';
import { closedPort, startTwilioPeer, type TwilioRequest } from './peers.js';

const ACCOUNT_SID = `AC${'1234abcd'.repeat(4)}`;
const AUTH_TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const FROM = '+15005550006';

function sender(baseUrl: string, timeoutMs = 2000, from = FROM): TwilioSender {
  return new TwilioSender({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from, baseUrl, timeoutMs });
}

/** Reads back what a call would say: the text of the one <Say>, unescaped. */
function spokenText(twiml: string): string {
  const match = /^<\?xml version="1\.0" encoding="UTF-8"\?><Response><Say(?: language="[^"]*")?>([^<]*)<\/Say><\/Response>$/.exec(twiml);
  assert.ok(match, `unexpected TwiML: ${twiml}`);
  return (match[1] ?? '').replace(/&(lt|gt|quot|apos|amp);/g, (_whole, name: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[name] ?? '');
}

function asMessage(request: TwilioRequest): ReceivedMessage {
  assert.equal(request.params['From'], FROM);
  if (request.resource === 'Messages') return { channel: 'sms', to: request.params['To'] ?? '', subject: undefined, body: request.params['Body'] ?? '' };
  return { channel: 'voice', to: request.params['To'] ?? '', subject: undefined, body: spokenText(request.params['Twiml'] ?? '') };
}

senderContract('twilio', ['sms', 'voice'], async () => {
  const peer = await startTwilioPeer(ACCOUNT_SID, AUTH_TOKEN);
  const twilio = sender(peer.url);
  return {
    sender: twilio,
    received: async () => peer.received.map(asMessage),
    close: async () => {
      await twilio.close();
      await peer.close();
    },
  };
});

const sms: Message = { channel: 'sms', to: '+15005550001', subject: '', body: 'Your code is 123456.', locale: 'en' };

describe('twilio failures and details', () => {
  it('a Twilio error answer becomes a DeliveryError with its code and message, without the auth token', async () => {
    const peer = await startTwilioPeer(ACCOUNT_SID, AUTH_TOKEN, { status: 400, code: 21211, message: "The 'To' number +15005550001 is not a valid phone number." });
    try {
      for (const channel of ['sms', 'voice'] satisfies Channel[]) {
        await assert.rejects(sender(peer.url).send({ ...sms, channel }), (err) => {
          assert.ok(err instanceof DeliveryError);
          assert.match(err.message, /21211/);
          assert.match(err.message, /is not a valid phone number/);
          assert.match(err.message, /HTTP 400/);
          assert.ok(!err.message.includes(AUTH_TOKEN));
          assert.ok(!JSON.stringify(err.cause).includes(AUTH_TOKEN));
          return true;
        });
      }
    } finally {
      await peer.close();
    }
  });

  it('wrong credentials are refused by the double (so the contract really checks Basic auth)', async () => {
    const peer = await startTwilioPeer(ACCOUNT_SID, 'another-token');
    try {
      await assert.rejects(sender(peer.url).send(sms), (err) => err instanceof DeliveryError && /20003/.test(err.message));
      assert.equal(peer.received.length, 0);
    } finally {
      await peer.close();
    }
  });

  it('nobody listening is a DeliveryError without the auth token', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await assert.rejects(sender(url).send(sms), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(err.message, /ECONNREFUSED/);
      assert.ok(!err.message.includes(AUTH_TOKEN));
      assert.equal(err.cause, undefined, 'the axios error (with the Authorization header) is not kept');
      return true;
    });
  });

  it('an API that never answers is a DeliveryError soon after the timeout', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const startedMs = Date.now();
    try {
      await assert.rejects(sender(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 300).send(sms), (err) => err instanceof DeliveryError && /no answer within 300 ms/.test(err.message));
      assert.ok(Date.now() - startedMs < 2000);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('a Messaging Service SID is sent as MessagingServiceSid', async () => {
    const peer = await startTwilioPeer(ACCOUNT_SID, AUTH_TOKEN);
    try {
      await sender(peer.url, 2000, `MG${'0'.repeat(32)}`).send(sms);
      assert.equal(peer.received[0]?.params['MessagingServiceSid'], `MG${'0'.repeat(32)}`);
      assert.equal(peer.received[0]?.params['From'], undefined);
    } finally {
      await peer.close();
    }
  });

  it('TWILIO_EDGE / TWILIO_REGION in the environment do not rewrite the configured base URL', async () => {
    const peer = await startTwilioPeer(ACCOUNT_SID, AUTH_TOKEN);
    const saved = { edge: process.env['TWILIO_EDGE'], region: process.env['TWILIO_REGION'] };
    process.env['TWILIO_EDGE'] = 'sydney';
    process.env['TWILIO_REGION'] = 'au1';
    try {
      // A host name, not an IP literal: the client's rewriting would turn it into localhost.sydney.au1.localhost.
      const twilio = sender(peer.url.replace('127.0.0.1', 'localhost'));
      await twilio.send(sms);
      await twilio.send({ ...sms, channel: 'voice' });
      assert.deepEqual(peer.received.map((r) => r.resource), ['Messages', 'Calls']);
    } finally {
      for (const [key, value] of [['TWILIO_EDGE', saved.edge], ['TWILIO_REGION', saved.region]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await peer.close();
    }
  });

  it('refuses to carry an email', async () => {
    await assert.rejects(sender('http://127.0.0.1:1').send({ ...sms, channel: 'email' }), DeliveryError);
  });
});

describe('voice TwiML', () => {
  it('escapes the spoken text so it can never become markup', () => {
    const twiml = voiceTwiml('1, 2 </Say><Play>http://evil.example/x.mp3</Play><Say> & "q" \'a\'', 'en');
    assert.equal(
      twiml,
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US">1, 2 &lt;/Say&gt;&lt;Play&gt;http://evil.example/x.mp3&lt;/Play&gt;&lt;Say&gt; &amp; &quot;q&quot; &apos;a&apos;</Say></Response>',
    );
  });

  it('drops control characters XML cannot hold', () => {
    assert.equal(spokenText(voiceTwiml('a\u0000b\u001Fc\nd', 'en')), 'abc\nd');
  });

  it('names the language: region tags as given, bare built-in languages with a default region, others not at all', () => {
    assert.match(voiceTwiml('x', 'fr-CA'), /<Say language="fr-CA">/);
    assert.match(voiceTwiml('x', 'de'), /<Say language="de-DE">/);
    assert.match(voiceTwiml('x', 'sw'), /<Say>x<\/Say>/);
    assert.match(voiceTwiml('x', '"><Play>'), /<Say>x<\/Say>/);
  });
});

// Defends `mfa-controller check` as an operator's proof that a configuration works before people depend
// on it: each transport and provider is really contacted (a wrong password or token is a FAIL, not an
// ok), nothing is sent to anyone, no secret is printed, and any failure makes the exit code non-zero.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { SmtpSender } from '../../src/delivery/smtp.js';
import { TwilioSender } from '../../src/delivery/twilio.js';
import { WebhookSender } from '../../src/delivery/webhook.js';
import { openMigratedStore, sealerFor } from '../../src/runtime.js';
import { ProviderConfigs } from '../../src/services/provider-configs.js';
import { closedPort, startSmtpPeer, startTwilioPeer, startWebhookPeer, type SmtpPeer, type TwilioPeer, type WebhookPeer } from '../delivery/peers.js';
import { startFakeOkta, type FakeOkta } from '../providers/okta-fake.js';
import { cli, ok } from '../helpers/cli.js';

const SECRET = 'c0'.repeat(32);
const SMTP_USER = 'mailer';
const SMTP_PASS = 'smtp-pass-0123';
const TWILIO_SID = `AC${'1'.repeat(32)}`;
const TWILIO_TOKEN = 'twilio-token-0123456789';
const WEBHOOK_SECRET = 'webhook-secret-0123';
const OKTA_TOKEN = 'okta-api-token-0123456789';
const SECRETS = [SMTP_PASS, TWILIO_TOKEN, WEBHOOK_SECRET, OKTA_TOKEN];

describe('transport checks (nothing sent)', () => {
  let smtp: SmtpPeer;
  let twilio: TwilioPeer;
  let hook: WebhookPeer;
  before(async () => {
    smtp = await startSmtpPeer({ credentials: { user: SMTP_USER, pass: SMTP_PASS } });
    twilio = await startTwilioPeer(TWILIO_SID, TWILIO_TOKEN);
    hook = await startWebhookPeer(WEBHOOK_SECRET);
  });
  after(async () => {
    await Promise.all([smtp.close(), twilio.close(), hook.close()]);
  });

  it('SMTP: logs in, and refuses a wrong password without showing it', async () => {
    const good = new SmtpSender({ url: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${smtp.port}`, from: 'a@example.com', timeoutMs: 5000 });
    assert.equal(await good.check(), `127.0.0.1:${smtp.port} accepted the connection and the login`);
    const bad = new SmtpSender({ url: `smtp://${SMTP_USER}:wrong-pass-9876@127.0.0.1:${smtp.port}`, from: 'a@example.com', timeoutMs: 5000 });
    await assert.rejects(bad.check(), (err: Error) => {
      assert.match(err.message, /^smtp: 127\.0\.0\.1:\d+ refused or could not be reached: .*535/);
      assert.doesNotMatch(err.message, /wrong-pass-9876/);
      return true;
    });
    await Promise.all([good.close(), bad.close()]);
    assert.deepEqual(smtp.received, []);
  });

  it('Twilio: fetches the account at the configured base URL, and refuses a wrong token', async () => {
    const good = new TwilioSender({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, from: '+15005550006', baseUrl: twilio.url, timeoutMs: 5000 });
    assert.equal(await good.check(), `account ${TWILIO_SID} (active) at ${twilio.url}`);
    const bad = new TwilioSender({ accountSid: TWILIO_SID, authToken: 'not-the-token', from: '+15005550006', baseUrl: twilio.url, timeoutMs: 5000 });
    await assert.rejects(bad.check(), /^Error: twilio: account check rejected: Twilio error 20003: Authenticate \(HTTP 401/);
    assert.deepEqual(twilio.received, []);
  });

  it('webhook: any HTTP answer is reachable; a closed port is not', async () => {
    assert.match(await new WebhookSender({ url: hook.url, secret: WEBHOOK_SECRET, timeoutMs: 5000 }).check(), /^http:\/\/127\.0\.0\.1:\d+ answered \(HTTP \d{3} to HEAD\)$/);
    const port = await closedPort();
    await assert.rejects(new WebhookSender({ url: `http://127.0.0.1:${port}/hook`, secret: WEBHOOK_SECRET, timeoutMs: 5000 }).check(), /cannot be reached: .*ECONNREFUSED/);
    assert.deepEqual(hook.received, []);
  });
});

describe('mfa-controller check', { concurrency: false }, () => {
  let dir: string;
  let smtp: SmtpPeer;
  let twilio: TwilioPeer;
  let hook: WebhookPeer;
  let okta: FakeOkta;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfa-cli-check-'));
    smtp = await startSmtpPeer({ credentials: { user: SMTP_USER, pass: SMTP_PASS } });
    twilio = await startTwilioPeer(TWILIO_SID, TWILIO_TOKEN);
    hook = await startWebhookPeer(WEBHOOK_SECRET);
    okta = await startFakeOkta(OKTA_TOKEN);
    env = {
      MFA_DATA_DIR: dir,
      MFA_SECRET: SECRET,
      MFA_SMTP_URL: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${smtp.port}`,
      MFA_SMS_TRANSPORT: 'twilio',
      MFA_TWILIO_ACCOUNT_SID: TWILIO_SID,
      MFA_TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      MFA_TWILIO_FROM: '+15005550006',
      MFA_TWILIO_BASE_URL: twilio.url,
      MFA_VOICE_TRANSPORT: 'webhook',
      MFA_WEBHOOK_URL: hook.url,
      MFA_WEBHOOK_SECRET: WEBHOOK_SECRET,
      // The fake Okta listens on loopback over http: the operator's opt-in (docs/providers.md).
      MFA_ALLOW_PRIVATE_PROVIDER_HOSTS: 'true',
      ...(process.env['MFA_TEST_REDIS_URL'] ? { MFA_REDIS_URL: process.env['MFA_TEST_REDIS_URL'] } : {}),
    };
    await ok(['migrate'], env);
  });
  after(async () => {
    await Promise.all([smtp.close(), twilio.close(), hook.close(), okta.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const configureOkta = async (accessKey: string): Promise<void> => {
    const config = loadConfig(env);
    const store = await openMigratedStore(config);
    try {
      await new ProviderConfigs(store, sealerFor(config), { now: () => Date.now() }, { network: { allowPrivateHosts: config.allowPrivateProviderHosts } }).put('okta-verify', { enabled: true, host: okta.url, accessKey, identityAttribute: 'email' });
    } finally {
      await store.close();
    }
  };

  it('says ok for each working item, one line each, and exits 0', async () => {
    await configureOkta(OKTA_TOKEN);
    const run = await cli(['check'], env);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const items = run.stdout.trim().split('\n').map((line) => [line.slice(0, 4).trim(), line.slice(6, 28).trim()]);
    assert.deepEqual(items, [
      ['ok', 'configuration'],
      ['ok', 'database'],
      [process.env['MFA_TEST_REDIS_URL'] ? 'ok' : 'skip', 'redis'],
      ['ok', 'transport smtp'],
      ['ok', 'transport twilio'],
      ['ok', 'transport webhook'],
      ['ok', 'provider okta-verify'],
    ]);
    assert.match(run.stdout, /^ok +database +database .*mfa\.sqlite \(SQLite\), data directory /m);
    assert.match(run.stdout, /^ok +transport smtp +\(email\) 127\.0\.0\.1:\d+ accepted the connection and the login$/m);
    assert.match(run.stdout, /^ok +provider okta-verify +test call to http:\/\/127\.0\.0\.1:\d+ succeeded$/m);
    // Nothing was sent: no mail, no SMS, no webhook delivery, no push.
    assert.deepEqual([smtp.received.length, twilio.received.length, hook.received.length], [0, 0, 0]);
    assert.ok(okta.calls.every((call) => call.method === 'GET'), JSON.stringify(okta.calls));
    for (const secret of SECRETS) assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'a secret was printed');
  });

  it('says FAIL for a wrong password, a wrong token, an unreachable webhook and a refused provider key, and exits 1', async () => {
    await configureOkta('okta-api-token-wrong-000');
    const port = await closedPort();
    const run = await cli(['check'], {
      ...env,
      MFA_SMTP_URL: `smtp://${SMTP_USER}:wrong-pass-9876@127.0.0.1:${smtp.port}`,
      MFA_TWILIO_AUTH_TOKEN: 'twilio-token-wrong-000',
      MFA_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
    });
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    const failed = run.stdout.split('\n').filter((line) => line.startsWith('FAIL')).map((line) => line.slice(6, 28).trim());
    assert.deepEqual(failed, ['transport smtp', 'transport twilio', 'transport webhook', 'provider okta-verify']);
    assert.match(run.stdout, /^FAIL +transport twilio +twilio: account check rejected: Twilio error 20003/m);
    assert.match(run.stdout, /^FAIL +transport webhook +webhook: http:\/\/127\.0\.0\.1:\d+ cannot be reached: .*ECONNREFUSED/m);
    for (const secret of ['wrong-pass-9876', 'twilio-token-wrong-000', 'okta-api-token-wrong-000', ...SECRETS]) {
      assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), `${secret} was printed`);
    }
  });

  it('fails the database line when there is no database, without creating one', async () => {
    const fresh = join(dir, 'nothing-here');
    const run = await cli(['check'], { ...env, MFA_DATA_DIR: fresh, MFA_DATABASE_URL: '' });
    assert.equal(run.code, 1);
    assert.match(run.stdout, new RegExp(`^FAIL +database +no database at ${join(fresh, 'mfa.sqlite').replace(/[.]/g, '\\.')} `, 'm'));
    assert.match(run.stdout, /^skip +providers +the database cannot be read$/m);
  });
});

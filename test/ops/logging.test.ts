// Defends against secrets leaking through the log: at the most verbose level, no client secret, access token, Authorization header, one-time token, master secret or recipient address is written, while a 500's tracking id is, so operators can find the failure a caller reports.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../src/auth/clients.js';
import { loadConfig } from '../../src/config.js';
import { generateId } from '../../src/core/secrets.js';
import { readOutbox } from '../../src/delivery/outbox.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';

const MASTER_SECRET = '5e'.repeat(32);
const EMAIL = 'log-subject@example.com';

interface LogLine {
  readonly level: number;
  readonly msg?: string;
  readonly trackingId?: string;
  readonly reqId?: string;
  readonly err?: { message?: string };
  readonly req?: { url?: string };
}

/** True when `digits` occurs in `text` not as part of a longer run of digits (timestamps, ports). */
const containsNumber = (text: string, digits: string): boolean => new RegExp(`(?<![0-9])${digits}(?![0-9])`).test(text);

describe('the log at trace level', () => {
  let dataDir: string;
  let runtime: Runtime;
  let baseUrl: string;
  const written: string[] = [];
  const log = (): string => written.join('');
  const lines = (): LogLine[] =>
    log()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);

  // What must never be written, gathered as the flow runs.
  const secrets: Array<[string, string]> = [];
  let oneTimeToken = '';
  let failure: { status: number; body: { trackingId: string; messages: Array<{ text: string }> } };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mfa-logging-'));
    const config = loadConfig({
      MFA_DATA_DIR: dataDir,
      MFA_PORT: '0',
      MFA_SECRET: MASTER_SECRET,
      MFA_PUBLIC_URL: 'http://127.0.0.1',
      MFA_TOKEN_RESEND_INTERVAL_SECONDS: '0',
      // Ten digits, so a match in the log cannot be a coincidence.
      MFA_TOKEN_LENGTH: '10',
    });
    runtime = await createRuntime(config, { logger: { level: 'trace', stream: { write: (line: string) => void written.push(line) } } });
    baseUrl = await runtime.app.listen({ host: '127.0.0.1', port: 0 });

    const client = await createClient(runtime.store, runtime.clock, runtime.randomBytes, 'logged client', ['idn:mfa:send', 'idn:mfa:verify']);
    const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    secrets.push(['the client secret', client.clientSecret], ['the Basic Authorization header', basic], ['the Basic credentials', basic.slice(6)], ['the master secret', MASTER_SECRET]);

    // The secret both in a Basic header and in a form body.
    const byHeader = await fetch(`${baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(byHeader.status, 200);
    const byForm = await fetch(`${baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }),
    });
    assert.equal(byForm.status, 200);
    const accessToken = ((await byForm.json()) as { access_token: string }).access_token;
    const otherAccessToken = ((await byHeader.json()) as { access_token: string }).access_token;
    secrets.push(['the access token', accessToken], ['another access token', otherAccessToken], ['the Bearer Authorization header', `Bearer ${accessToken}`]);

    await runtime.store.upsertIdentities([{ alias: 'log-subject', status: 'active', attributes: { email: EMAIL } }], () => generateId(runtime.randomBytes), runtime.clock.now());
    secrets.push(['the recipient address', EMAIL]);

    const post = (path: string, body: unknown, token = accessToken) =>
      fetch(`${baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const sent = await post('/v3/mfa/token/send', { userAlias: 'log-subject', deliveryType: 'EMAIL_WORK' });
    assert.equal(sent.status, 200);
    assert.equal(((await sent.json()) as { status: string }).status, 'SUCCESS');
    const [message] = await readOutbox(dataDir);
    oneTimeToken = /\b(\d{10})\b/.exec(message?.body ?? '')?.[1] ?? '';
    assert.match(oneTimeToken, /^\d{10}$/, `no token in ${message?.body}`);

    const wrong = await post('/v3/mfa/token/authenticate', { userAlias: 'log-subject', deliveryType: 'EMAIL_WORK', token: '0000000000' });
    assert.equal(wrong.status, 200);
    const right = await post('/v3/mfa/token/authenticate', { userAlias: 'log-subject', deliveryType: 'EMAIL_WORK', token: oneTimeToken });
    assert.equal(((await right.json()) as { status: string }).status, 'SUCCESS');

    // A forged bearer token is refused; it must not be logged either.
    const forged = `${accessToken.slice(0, -4)}AAAA`;
    secrets.push(['a refused bearer token', forged]);
    assert.equal((await post('/v3/mfa/token/send', { userAlias: 'log-subject', deliveryType: 'EMAIL_WORK' }, forged)).status, 401);

    const store = runtime.store as { findIdentity: unknown };
    const original = store.findIdentity;
    store.findIdentity = async () => {
      throw new Error('database on fire');
    };
    try {
      const broken = await post('/v3/mfa/token/send', { userAlias: 'log-subject', deliveryType: 'EMAIL_WORK' });
      failure = { status: broken.status, body: (await broken.json()) as typeof failure.body };
    } finally {
      store.findIdentity = original;
    }
  });

  after(async () => {
    await runtime?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('captured the requests, so the checks below looked at something', () => {
    const urls = lines().map((l) => l.req?.url);
    assert.ok(urls.includes('/oauth/token'), 'no log line for /oauth/token');
    assert.ok(urls.includes('/v3/mfa/token/authenticate'), 'no log line for the authentication');
    assert.ok(lines().some((l) => l.msg === 'message delivered'), 'the delivery was not logged');
  });

  it('holds no secret', () => {
    const text = log();
    for (const [what, value] of secrets) {
      assert.ok(!text.includes(value), `${what} is in the log`);
    }
    assert.ok(!containsNumber(text, oneTimeToken), 'the one-time token is in the log');
  });

  it('logs a 500 with the tracking id the caller received, and the detail only there', () => {
    assert.equal(failure.status, 500);
    assert.match(failure.body.trackingId, /^[0-9a-f]{32}$/);
    assert.ok(!JSON.stringify(failure.body).includes('database on fire'), 'the detail reached the caller');
    const logged = lines().filter((l) => l.trackingId === failure.body.trackingId);
    assert.equal(logged.length, 1, `lines with the tracking id: ${JSON.stringify(logged)}`);
    assert.equal(logged[0]!.level, 50);
    assert.equal(logged[0]!.err?.message, 'database on fire');
    assert.ok(logged[0]!.reqId, 'the 500 line does not carry the request id');
  });
});

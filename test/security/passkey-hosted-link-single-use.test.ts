// Defends the hosted verification URL (docs/passkeys.md): a link used a second time (replay after the
// person verified, or concurrent answers racing for it), a link used after it expired, a link guessed,
// and a link read from the database, the access log or a Referer to answer it in the person's place.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ERROR_LINK_UNUSABLE, ERROR_NOT_ACCEPTED } from '../../src/methods/passkey/core.js';
import { ERROR_EXPIRED } from '../../src/core/verification.js';
import { driverOf } from '../../src/store/index.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { FORGED_ASSERTION } from '../helpers/passkeys.js';

const TTL_SECONDS = 120;

describeEachDatabase('Hosted passkey link, single use', ({ postgres }) => {
  let server: TestServer;
  let token: string;
  let offsetMs = 0;
  const clock = { now: () => Date.now() + offsetMs };

  before(async () => {
    server = await startServer({ postgres, clock, env: { MFA_PASSKEY_TTL_SECONDS: String(TTL_SECONDS) } });
    await server.addIdentity('carol', {});
    token = await server.accessToken(['idn:mfa:verify', 'idn:mfa:poll']);
  });
  after(async () => {
    await server.close();
  });

  async function start(): Promise<{ requestId: string; linkToken: string; verificationUrl: string }> {
    const started = await postJson(server, '/v3/mfa/passkey/start', token, { userAlias: 'carol' });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const { requestId, verificationUrl } = started.body;
    return { requestId, verificationUrl, linkToken: new URL(verificationUrl).hash.slice(1) };
  }
  const page = (call: 'options' | 'complete', body: unknown) =>
    fetch(`${server.baseUrl}/mfa/passkey/verify/${call}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const poll = async (requestId: string) => (await postJson(server, '/v3/mfa/passkey/poll', token, { requestId })).body;

  it('the link\'s token is in its fragment (never sent in a request line, so never logged) and stored only as a keyed hash', async () => {
    const { requestId, verificationUrl, linkToken } = await start();
    const url = new URL(verificationUrl);
    assert.match(linkToken, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
    assert.equal(url.search, '');
    assert.ok(!url.pathname.includes(linkToken));
    const db = driverOf(server.runtime.store);
    const rows = [
      ...(await db.all<Record<string, unknown>>('SELECT * FROM passkey_ceremonies WHERE request_id = ?', [requestId])),
      ...(await db.all<Record<string, unknown>>('SELECT * FROM verifications WHERE id = ?', [requestId])),
      ...(await db.all<Record<string, unknown>>('SELECT * FROM audit_events WHERE request_id = ?', [requestId])),
    ];
    assert.equal(rows.length, 3);
    assert.ok(!JSON.stringify(rows).includes(linkToken), 'the token itself is nowhere in the database');
    assert.match(String(rows[0]!['url_hash']), /^[A-Za-z0-9_-]{43}$/);
  });

  it('answers once: after an answer (whatever its outcome) the link is refused, and poll keeps the outcome', async () => {
    const { requestId, linkToken } = await start();
    assert.equal((await page('options', { token: linkToken })).status, 200);
    assert.equal((await page('options', { token: linkToken })).status, 200, 'opening it again before answering is fine (a closed prompt)');
    const answered = await page('complete', { token: linkToken, response: FORGED_ASSERTION });
    assert.equal(answered.status, 200);
    assert.deepEqual(await answered.json(), { status: 'FAILED' });
    for (const [call, body] of [['options', { token: linkToken }], ['complete', { token: linkToken, response: FORGED_ASSERTION }]] as const) {
      const again = await page(call, body);
      assert.equal(again.status, 404, call);
      assert.equal(((await again.json()) as { messages: Array<{ text: string }> }).messages[0]!.text, ERROR_LINK_UNUSABLE);
    }
    assert.deepEqual(await poll(requestId), { requestId, status: 'FAILED', error: ERROR_NOT_ACCEPTED });
    const trail = (await server.runtime.store.queryAudit({ alias: 'carol', order: 'oldest', limit: 100 })).filter((e) => e.requestId === requestId);
    assert.deepEqual(
      trail.map((e) => [e.method, e.operation, e.outcome, e.reason]),
      [
        ['passkey', 'send', 'SENT', null],
        ['passkey', 'verify', 'FAILED', ERROR_NOT_ACCEPTED],
      ],
      'the start and the one decision are in the audit trail; the refused second uses decided nothing',
    );
  });

  it('of concurrent answers to one link exactly one is taken', async () => {
    const { linkToken } = await start();
    const statuses = await Promise.all(Array.from({ length: 8 }, async () => (await page('complete', { token: linkToken, response: FORGED_ASSERTION })).status));
    assert.deepEqual(statuses.sort(), [200, 404, 404, 404, 404, 404, 404, 404]);
  });

  it('expires: past the time to live the link is refused and the verification has failed', async () => {
    const { requestId, linkToken } = await start();
    offsetMs += (TTL_SECONDS + 1) * 1000;
    assert.equal((await page('options', { token: linkToken })).status, 404);
    assert.equal((await page('complete', { token: linkToken, response: FORGED_ASSERTION })).status, 404);
    assert.deepEqual(await poll(requestId), { requestId, status: 'FAILED', error: ERROR_EXPIRED });
  });

  it('a link never issued reads exactly as a used one; a malformed one is a 400', async () => {
    const guessed = await page('options', { token: 'A'.repeat(43) });
    assert.equal(guessed.status, 404);
    assert.equal(((await guessed.json()) as { messages: Array<{ text: string }> }).messages[0]!.text, ERROR_LINK_UNUSABLE);
    for (const bad of ['short', 'A'.repeat(44), `${'A'.repeat(42)}=`]) assert.equal((await page('options', { token: bad })).status, 400, bad);
  });

  it('the page is strict: no caching, no referrer leaving the service, no framing, scripts only from the service', async () => {
    const response = await fetch(`${server.baseUrl}/mfa/passkey/verify`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('referrer-policy'), 'same-origin');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'.*frame-ancestors 'none'/);
    const html = await response.text();
    assert.doesNotMatch(html, /<script>/, 'no inline script');
    assert.match(html, /<button type="button" id="verify" disabled>Verify with a passkey<\/button>/);
  });
});

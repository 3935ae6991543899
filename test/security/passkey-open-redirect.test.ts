// Defends the hosted passkey page against becoming an open redirect: a caller giving a returnUrl that
// is not on the operator's allow-list (another host, a look-alike host, user-info tricks, a sibling path,
// another scheme) so that people verifying on our origin are sent on to a page of the attacker's.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ERROR_RETURN_URL } from '../../src/methods/passkey/core.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { FORGED_ASSERTION } from '../helpers/passkeys.js';

const ALLOWED = 'https://app.example.com/mfa/return';

describeEachDatabase('Hosted passkey return URL, allow-list', ({ postgres }) => {
  let server: TestServer;
  let unlisted: TestServer;
  let token: string;

  before(async () => {
    server = await startServer({ postgres, env: { MFA_PASSKEY_RETURN_URLS: ALLOWED } });
    unlisted = await startServer({ postgres });
    for (const s of [server, unlisted]) await s.addIdentity('dave', {});
    token = await server.accessToken(['idn:mfa:verify']);
  });
  after(async () => {
    await server.close();
    await unlisted.close();
  });

  it('refuses every returnUrl off the list with 400, and starts nothing', async () => {
    for (const returnUrl of [
      'https://evil.example.net/mfa/return',
      'https://app.example.com.evil.net/mfa/return',
      'https://app.example.com@evil.net/mfa/return',
      'https://app.example.com:8443/mfa/return',
      'http://app.example.com/mfa/return',
      'https://app.example.com/mfa/returnx',
      'https://app.example.com/mfa/',
      'https://app.example.com/mfa/return#@evil.net',
      '//evil.net/mfa/return',
      '/mfa/return',
      'javascript:alert(document.domain)',
      'data:text/html,<script>alert(1)</script>',
    ]) {
      const answer = await postJson(server, '/v3/mfa/passkey/start', token, { userAlias: 'dave', returnUrl });
      assert.equal(answer.status, 400, `${returnUrl}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.messages[0].text, ERROR_RETURN_URL, returnUrl);
    }
    assert.deepEqual(await server.runtime.store.queryAudit({ alias: 'dave', limit: 10 }), [], 'no verification was started');
  });

  it('returns to a listed address (at or below its path) with the request id the application polls', async () => {
    const started = await postJson(server, '/beta/mfa/passkey/start', token, { userAlias: 'dave', returnUrl: `${ALLOWED}/step?session=7&requestId=forged` });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const linkToken = new URL(started.body.verificationUrl).hash.slice(1);
    const answered = await fetch(`${server.baseUrl}/mfa/passkey/verify/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: linkToken, response: FORGED_ASSERTION }),
    });
    assert.deepEqual(await answered.json(), { status: 'FAILED', returnUrl: `${ALLOWED}/step?session=7&requestId=${started.body.requestId}` });
  });

  it('with no allow-list configured, every returnUrl is refused', async () => {
    const unlistedToken = await unlisted.accessToken(['idn:mfa:verify']);
    const answer = await postJson(unlisted, '/v3/mfa/passkey/start', unlistedToken, { userAlias: 'dave', returnUrl: ALLOWED });
    assert.equal(answer.status, 400);
    assert.equal((await postJson(unlisted, '/v3/mfa/passkey/start', unlistedToken, { userAlias: 'dave' })).status, 200, 'without a returnUrl it starts');
  });
});

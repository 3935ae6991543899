// Defends against Okta Verify push bombing through the names of one person: Okta resolves a login, its
// short name (the part before the @) and the Okta user id to the same user, so a cap counted per string
// sent would let a caller send three times the pushes to one phone by varying the name. The cap counts
// per resolved Okta user id, in the store's shared counter (on SQLite and PostgreSQL).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';
import { startFakeOkta, type FakeOkta } from '../providers/okta-fake.js';

const PUSHES = /\/verify$/;
const PUSHES_PER_WINDOW = 3;

describeEachDatabase('Okta push cap per resolved user', ({ postgres }) => {
  let server: TestServer;
  let okta: FakeOkta;
  let token: string;

  before(async () => {
    okta = await startFakeOkta();
    server = await startServer({
      postgres,
      env: { MFA_OKTA_PUSHES_PER_WINDOW: String(PUSHES_PER_WINDOW), MFA_OKTA_PUSH_WINDOW_SECONDS: '300', MFA_OKTA_POLL_CACHE_MS: '0' },
    });
    token = await server.accessToken(['sp:scopes:all']);
    const configured = await fetch(`${server.baseUrl}/v3/mfa/okta-verify/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mfaMethod: 'okta-verify', enabled: true, host: okta.url, accessKey: okta.token, identityAttribute: 'email' }),
    });
    assert.equal(configured.status, 200, await configured.text());
  });
  after(async () => {
    await server?.close();
    await okta?.close();
  });

  async function push(userId: string): Promise<{ status: number; retryAfter: string | null; body: any }> {
    const response = await fetch(`${server.baseUrl}/v3/mfa/okta-verify/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'slpt-forwarding': '203.0.113.9' },
      body: JSON.stringify({ userId }),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
  }

  it('the login, its short name and the user id share one cap', async () => {
    const user = okta.addUser('victim.one@example.com');
    const before = okta.count(PUSHES);
    // Each name once: under a cap per string, none of these would be near its limit.
    for (const name of ['victim.one@example.com', 'victim.one', user.id]) {
      const answer = await push(name);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.status, 'PENDING', `${name} was not pushed`);
    }
    const refused = await push('VICTIM.ONE');
    assert.equal(refused.status, 429, 'a fourth push to the same person, by a fresh name, was sent');
    assert.ok(Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= 300, `Retry-After ${refused.retryAfter}`);
    assert.equal(okta.count(PUSHES), before + PUSHES_PER_WINDOW, 'the refused push reached the phone');
  });

  it('another person keeps their own pushes', async () => {
    const first = okta.addUser('victim.two@example.com');
    okta.addUser('bystander@example.com');
    for (const name of ['victim.two', first.id, 'victim.two@example.com']) assert.equal((await push(name)).body.status, 'PENDING');
    assert.equal((await push(first.id)).status, 429);
    const other = await push('bystander');
    assert.equal(other.status, 200);
    assert.equal(other.body.status, 'PENDING', "one person's cap refused another's push");
  });
});

// Defends revocation (docs/security.md): a leaked client secret or signing key that goes on working after
// the operator acted. Threats: tokens of a deleted or disabled client still accepted (by this process or
// another one on the same database), and tokens signed with a compromised key still accepted after a
// rotation that retires the earlier keys.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

/** What the guide promises: revocation reaches every process within one second. */
const REVOCATION_DEADLINE_MS = 1000;

async function tokenOf(server: TestServer, clientId: string, clientSecret: string): Promise<{ status: number; token?: string }> {
  const response = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
  });
  const body = (await response.json()) as { access_token?: string };
  return { status: response.status, ...(body.access_token ? { token: body.access_token } : {}) };
}

async function admin(server: TestServer, method: string, path: string, body?: unknown): Promise<number> {
  const token = await server.accessToken(['mfa:admin']);
  const response = await fetch(`${server.baseUrl}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return response.status;
}

// A poll: a call with no side effect and no rate limit, so the test can repeat it freely.
const POLL_PATH = '/v3/mfa/token/poll';
const POLL = { requestId: 'no-such-request' };

describeEachDatabase('Revocation', ({ postgres }) => {
  let first: TestServer;
  let second: TestServer;

  before(async () => {
    first = await startServer({ postgres });
    second = await startServer({ shareWith: first });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  /** A client with a token that has already been used (and so is cached) in both processes. */
  async function usedClient(): Promise<{ clientId: string; clientSecret: string; token: string }> {
    const { clientId, clientSecret } = await first.client(['idn:mfa:poll']);
    const { token } = await tokenOf(first, clientId, clientSecret);
    assert.ok(token);
    for (const server of [first, second]) assert.equal((await postJson(server, POLL_PATH, token, POLL)).status, 200);
    return { clientId, clientSecret, token };
  }

  async function assertRefusedEverywhereWithin(token: string, deadlineMs: number): Promise<void> {
    const started = Date.now();
    for (const server of [first, second]) {
      for (;;) {
        const answer = await postJson(server, POLL_PATH, token, POLL);
        if (answer.status === 401) {
          assert.match(answer.body.error, /deleted or disabled|revoked/);
          break;
        }
        assert.equal(answer.status, 200);
        assert.ok(Date.now() - started < deadlineMs, `still accepted after ${Date.now() - started} ms`);
        await sleep(25);
      }
    }
  }

  it('deleting a client stops its tokens within one second in every process', async () => {
    const { clientId, token } = await usedClient();
    assert.equal(await admin(first, 'DELETE', `/clients/${clientId}`), 204);
    await assertRefusedEverywhereWithin(token, REVOCATION_DEADLINE_MS);
  });

  it('disabling a client stops its tokens within one second in every process, and it gets no new ones', async () => {
    const { clientId, clientSecret, token } = await usedClient();
    assert.equal(await admin(second, 'POST', `/clients/${clientId}/disable`), 204);
    await assertRefusedEverywhereWithin(token, REVOCATION_DEADLINE_MS);
    assert.equal((await tokenOf(first, clientId, clientSecret)).status, 401);
    assert.equal((await first.runtime.store.findClient(clientId))?.disabledAt !== null, true, 'the client stays on record');
    assert.equal(await admin(first, 'POST', '/clients/no-such-client/disable'), 404);
  });

  it('a client that is left alone keeps working', async () => {
    const { token } = await usedClient();
    await sleep(REVOCATION_DEADLINE_MS);
    for (const server of [first, second]) assert.equal((await postJson(server, POLL_PATH, token, POLL)).status, 200);
  });

  it('a plain rotation keeps earlier tokens valid; a rotation retiring the previous keys stops them at once in every process', async () => {
    const { clientId, clientSecret, token } = await usedClient();
    assert.equal(await admin(first, 'POST', '/keys/rotate'), 200);
    for (const server of [first, second]) assert.equal((await postJson(server, POLL_PATH, token, POLL)).status, 200, 'grace period');

    assert.equal(await admin(second, 'POST', '/keys/rotate', { retirePrevious: true }), 200);
    await assertRefusedEverywhereWithin(token, REVOCATION_DEADLINE_MS);
    // A token signed with the new key works, and the JWKS lists only that key.
    const fresh = await tokenOf(first, clientId, clientSecret);
    assert.ok(fresh.token);
    for (const server of [first, second]) assert.equal((await postJson(server, POLL_PATH, fresh.token, POLL)).status, 200);
    const jwks = (await (await fetch(`${first.baseUrl}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    assert.equal(jwks.keys.length, 1);
  });
});

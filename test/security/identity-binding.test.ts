// Defends identity binding (docs/security.md): a token acting for an identity (a personal client's, or one
// from token exchange) acting for another person. Threats: sending tokens to, guessing tokens of, or
// verifying Duo/Okta/RSA/passkeys for, or adding a passkey to, any other alias; enrolling or checking
// another's authenticator app (more in totp-identity-binding.test.ts); polling another identity's
// verification; rewriting the provider configuration or administering with sp:scopes:all; and reaching
// a later identity that was given the alias of a deleted one.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createClient } from '../../src/auth/clients.js';
import { ERROR_UNKNOWN_REQUEST } from '../../src/core/verification.js';
import { IDENTITY_ALIAS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/http/routes/oauth.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

const IDENTITY_SCOPES = ['idn:mfa:send', 'idn:mfa:poll', 'idn:mfa:verify', 'idn:mfa-kba:read', 'idn:mfa-kba:authenticate'];

/** Every call of the API that names a user in its body, with a body otherwise valid, for `user`. */
const USER_NAMING_CALLS: ReadonlyArray<{ path: string; body: (user: string) => Record<string, unknown> }> = [
  { path: '/mfa/token/send', body: (user) => ({ userAlias: user, deliveryType: 'EMAIL_WORK' }) },
  { path: '/mfa/token/authenticate', body: (user) => ({ userAlias: user, deliveryType: 'EMAIL_WORK', token: '123456' }) },
  { path: '/mfa/duo-web/verify', body: (user) => ({ userId: user, signedResponse: 'AUTH|x|y:APP|x|y' }) },
  { path: '/mfa/duo-web/sign-request', body: (user) => ({ userId: user }) },
  { path: '/mfa/okta-verify/verify', body: (user) => ({ userId: user }) },
  { path: '/mfa/rsa/verify', body: (user) => ({ userId: user, method: 'APPROVE' }) },
  { path: '/mfa/totp/enrol', body: (user) => ({ userAlias: user }) },
  { path: '/mfa/totp/confirm', body: (user) => ({ userAlias: user, totpCode: '123456' }) },
  { path: '/mfa/totp/authenticate', body: (user) => ({ userAlias: user, totpCode: '123456' }) },
  { path: '/mfa/passkey/registration/options', body: (user) => ({ userAlias: user }) },
  { path: '/mfa/passkey/authentication/options', body: (user) => ({ userAlias: user }) },
  { path: '/mfa/passkey/start', body: (user) => ({ userAlias: user }) },
];

async function tokenFor(server: TestServer, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function get(server: TestServer, path: string, token: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

function assertActsForItselfOnly(answer: { status: number; body: any }, what: string): void {
  assert.equal(answer.status, 403, `${what}: ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.detailCode, '403 Forbidden', what);
  assert.match(JSON.stringify(answer.body.causes), /acts for one identity/, what);
}

describeEachDatabase('Identity binding', ({ postgres }) => {
  let server: TestServer;
  let counter = 0;

  before(async () => {
    server = await startServer({ postgres });
  });
  after(async () => {
    await server.close();
  });

  /** A fresh identity, its personal client (sp:scopes:all, as docs/kba.md shows) and a token of it. */
  async function personal(): Promise<{ alias: string; clientId: string; clientSecret: string; token: string; scope: string }> {
    const alias = `bound.${++counter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    const { clientId, clientSecret } = await server.personalClient(alias);
    const answer = await tokenFor(server, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return { alias, clientId, clientSecret, token: answer.body['access_token'] as string, scope: answer.body['scope'] as string };
  }

  /** A token exchanged for `alias` by a service client (a new one holding `scopes`, unless given). */
  async function exchanged(
    alias: string,
    scopes = ['sp:scopes:all', 'idn:mfa-configuration:manage', 'mfa:impersonate'],
    given?: { clientId: string; clientSecret: string },
  ): Promise<string> {
    const service = given ?? (await server.client(scopes, 'exchanging service'));
    const answer = await tokenFor(server, {
      grant_type: TOKEN_EXCHANGE_GRANT,
      client_id: service.clientId,
      client_secret: service.clientSecret,
      subject_token: alias,
      subject_token_type: IDENTITY_ALIAS_TOKEN_TYPE,
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body['access_token'] as string;
  }

  it('a personal token naming another user gets 403 on every call, v3 and beta; naming itself passes the check', async () => {
    const alice = await personal();
    const bob = await personal();
    for (const prefix of ['/v3', '/beta']) {
      for (const call of USER_NAMING_CALLS) {
        const other = await postJson(server, `${prefix}${call.path}`, alice.token, call.body(bob.alias));
        assertActsForItselfOnly(other, `${prefix}${call.path} naming another identity`);
        const unknown = await postJson(server, `${prefix}${call.path}`, alice.token, call.body('nobody.at.all'));
        assertActsForItselfOnly(unknown, `${prefix}${call.path} naming an unknown alias`);
        const own = await postJson(server, `${prefix}${call.path}`, alice.token, call.body(alice.alias));
        assert.ok(!(own.status === 403 && /acts for one identity/.test(JSON.stringify(own.body))), `${prefix}${call.path} refused the token's own identity`);
      }
    }
    // Nothing was sent to bob: his outbox count is unchanged by alice's attempts.
    const sentToBob = await server.runtime.store.queryAudit({ alias: bob.alias, order: 'newest', limit: 10 });
    assert.deepEqual(sentToBob, []);
  });

  it('a personal token may name its identity by id as well as by alias (Duo userId)', async () => {
    const alice = await personal();
    const identity = await server.runtime.store.findIdentity(alice.alias);
    assert.ok(identity);
    const byId = await postJson(server, '/v3/mfa/duo-web/sign-request', alice.token, { userId: identity.id });
    assert.ok(!(byId.status === 403 && /acts for one identity/.test(JSON.stringify(byId.body))), JSON.stringify(byId.body));
  });

  it('Okta names its user by the configured attribute: the identity\'s own login passes, another login does not', async () => {
    const alice = await personal();
    const admin = await server.accessToken(['idn:mfa-configuration:manage']);
    const configured = await fetch(`${server.baseUrl}/v3/mfa/okta-verify/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mfaMethod: 'okta-verify', enabled: false, host: 'https://example.okta.com', accessKey: 'k'.repeat(40), identityAttribute: 'email' }),
    });
    assert.equal(configured.status, 200, await configured.text());
    const headers = { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json', 'slpt-forwarding': '203.0.113.7' };
    const verify = (userId: string) => fetch(`${server.baseUrl}/v3/mfa/okta-verify/verify`, { method: 'POST', headers, body: JSON.stringify({ userId }) });
    const own = await verify(`${alice.alias}@example.com`);
    assert.equal(own.status, 200, 'the login in the identity\'s own email attribute');
    const other = await verify('someone.else@example.com');
    assert.equal(other.status, 403);
  });

  it('sp:scopes:all on a personal client grants the identity-bound scopes only: no configuration, no administration', async () => {
    const alice = await personal();
    assert.deepEqual(alice.scope.split(' ').sort(), [...IDENTITY_SCOPES].sort());
    for (const path of ['/v3/mfa/duo-web/config', '/beta/mfa/okta-verify/config', '/v3/mfa/rsa/config', '/v3/mfa/duo-web/test', '/admin/v1/clients']) {
      const answer = await get(server, path, alice.token);
      assert.equal(answer.status, 403, `${path}: ${JSON.stringify(answer.body)}`);
    }
    const put = await fetch(`${server.baseUrl}/v3/mfa/duo-web/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mfaMethod: 'duo-web', enabled: true, host: 'api-attacker.example.com', accessKey: 'x', identityAttribute: 'email' }),
    });
    assert.equal(put.status, 403);
    // Asking for a configuration scope outright is refused.
    const asked = await tokenFor(server, { grant_type: 'client_credentials', client_id: alice.clientId, client_secret: alice.clientSecret, scope: 'idn:mfa-configuration:manage' });
    assert.equal(asked.status, 400);
    assert.equal(asked.body['error'], 'invalid_scope');
  });

  it('a personal client with a configuration, administration or exchange scope cannot be created, with a clear message', async () => {
    const alias = `bound.${++counter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    const { runtime } = server;
    for (const scope of ['idn:mfa-configuration:read', 'idn:mfa-configuration:manage', 'mfa:admin', 'mfa:impersonate']) {
      await assert.rejects(createClient(runtime.store, runtime.clock, runtime.randomBytes, 'app', ['idn:mfa:send', scope], alias), (err: Error) => {
        assert.match(err.message, new RegExp(`acts for its identity only and cannot hold ${scope}`));
        return true;
      });
    }
    // Through the operator API too.
    const admin = await server.accessToken(['mfa:admin']);
    const refused = await postJson(server, '/admin/v1/clients', admin, { name: 'app', scopes: ['idn:mfa-configuration:manage'], identityAlias: alias });
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(refused.body.messages), /cannot hold idn:mfa-configuration:manage/);
  });

  it('an exchanged token acts for its subject only, and holds no configuration scope whatever the service holds', async () => {
    const alice = await personal();
    const bob = await personal();
    const token = await exchanged(alice.alias);
    assertActsForItselfOnly(await postJson(server, '/v3/mfa/token/send', token, { userAlias: bob.alias, deliveryType: 'EMAIL_WORK' }), 'exchanged send');
    assert.equal((await postJson(server, '/v3/mfa/token/send', token, { userAlias: alice.alias, deliveryType: 'EMAIL_WORK' })).status, 200);
    assert.equal((await get(server, '/v3/mfa/duo-web/config', token)).status, 403);
    const service = await server.client(['idn:mfa-configuration:manage', 'mfa:impersonate'], 'service');
    const asked = await tokenFor(server, {
      grant_type: TOKEN_EXCHANGE_GRANT,
      client_id: service.clientId,
      client_secret: service.clientSecret,
      subject_token: alice.alias,
      subject_token_type: IDENTITY_ALIAS_TOKEN_TYPE,
      scope: 'idn:mfa-configuration:manage',
    });
    assert.equal(asked.status, 400);
    assert.equal(asked.body['error'], 'invalid_scope');
  });

  it('token exchange refuses a subject_token longer than an alias may be', async () => {
    const service = await server.client(['idn:mfa:send', 'mfa:impersonate'], 'service');
    const answer = await tokenFor(server, {
      grant_type: TOKEN_EXCHANGE_GRANT,
      client_id: service.clientId,
      client_secret: service.clientSecret,
      subject_token: 'a'.repeat(257),
      subject_token_type: IDENTITY_ALIAS_TOKEN_TYPE,
    });
    assert.equal(answer.status, 400);
    assert.equal(answer.body['error_description'], 'subject_token is longer than 256 characters');
  });

  it('a token acting for one identity cannot poll another identity\'s verification started by the same service', async () => {
    const alice = await personal();
    const bob = await personal();
    const service = await server.client(['idn:mfa:send', 'idn:mfa:poll', 'mfa:impersonate'], 'one service');
    const forAlice = await exchanged(alice.alias, [], service);
    const sent = await postJson(server, '/v3/mfa/token/send', forAlice, { userAlias: alice.alias, deliveryType: 'EMAIL_WORK' });
    assert.equal(sent.status, 200);
    const requestId = sent.body.requestId as string;
    const own = await postJson(server, '/v3/mfa/token/poll', forAlice, { requestId });
    assert.equal(own.body.status, 'PENDING');
    // A token of the same kind acting for bob: alice's request is not visible to it.
    const forBob = await exchanged(bob.alias, [], service);
    const other = await postJson(server, '/v3/mfa/token/poll', forBob, { requestId });
    assert.equal(other.status, 200);
    assert.deepEqual([other.body.status, other.body.error], ['FAILED', ERROR_UNKNOWN_REQUEST], 'another identity\'s request reads as unknown');
  });

  it('deleting the identity deletes its personal clients; a later identity with the same alias is not reachable through old tokens', async () => {
    const alice = await personal();
    const forAlice = await exchanged(alice.alias);
    const admin = await server.accessToken(['mfa:admin']);
    const deleted = await fetch(`${server.baseUrl}/admin/v1/identities/${alice.alias}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(deleted.status, 204);
    assert.equal(await server.runtime.store.findClient(alice.clientId), undefined, 'the personal client went with its identity');

    // A new person is given the same alias.
    await server.addIdentity(alice.alias, { email: `new.${alice.alias}@example.com` });
    const send = { userAlias: alice.alias, deliveryType: 'EMAIL_WORK' };
    const viaPersonal = await postJson(server, '/v3/mfa/token/send', alice.token, send);
    assert.equal(viaPersonal.status, 401, JSON.stringify(viaPersonal.body));
    const viaExchanged = await postJson(server, '/v3/mfa/token/send', forAlice, send);
    assert.equal(viaExchanged.status, 403, JSON.stringify(viaExchanged.body));
    assert.match(JSON.stringify(viaExchanged.body.causes), /identity this token acts for is not active/);
    const again = await tokenFor(server, { grant_type: 'client_credentials', client_id: alice.clientId, client_secret: alice.clientSecret });
    assert.equal(again.status, 401);
  });

  it('a disabled identity: its personal client gets no token and its tokens stop working', async () => {
    const alice = await personal();
    await server.runtime.store.upsertIdentities([{ alias: alice.alias, status: 'disabled', attributes: {} }], () => 'unused', server.runtime.clock.now());
    assert.equal((await postJson(server, '/v3/mfa/token/send', alice.token, { userAlias: alice.alias, deliveryType: 'EMAIL_WORK' })).status, 403);
    const refused = await tokenFor(server, { grant_type: 'client_credentials', client_id: alice.clientId, client_secret: alice.clientSecret });
    assert.equal(refused.status, 400);
    assert.equal(refused.body['error'], 'unauthorized_client');
  });
});

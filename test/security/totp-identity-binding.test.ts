// Defends identity binding for authenticator apps (docs/security.md, docs/totp.md): a token acting for one
// identity (a personal client's, or an exchanged one) enrolling an authenticator for, checking codes of,
// reading the registration status of, or polling the checks of another person; resetting a registration
// (an operator's act) with sp:scopes:all; and a client without the method's scope enrolling at all.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ERROR_UNKNOWN_REQUEST } from '../../src/core/verification.js';
import { IDENTITY_ALIAS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/http/routes/oauth.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { appCode, steppedClock, totpCalls } from '../helpers/totp.js';

function refusedAsOtherIdentity(answer: { status: number; body: any }, what: string): void {
  assert.equal(answer.status, 403, `${what}: ${JSON.stringify(answer.body)}`);
  assert.match(JSON.stringify(answer.body.causes), /acts for one identity/, what);
}

describeEachDatabase('TOTP identity binding', ({ postgres }) => {
  let server: TestServer;
  let counter = 0;
  const clock = steppedClock();

  before(async () => {
    server = await startServer({ postgres, clock });
  });
  after(async () => {
    await server.close();
  });

  /** A fresh identity and a token of its personal client (sp:scopes:all). */
  async function personal(): Promise<{ alias: string; token: string }> {
    const alias = `totp.bound.${++counter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    const client = await server.personalClient(alias);
    return { alias, token: await client.token() };
  }

  it('a personal client enrols, confirms, checks, reads the status and polls for its own identity', async () => {
    const alice = await personal();
    const api = totpCalls(server, alice.token);
    const secret = await api.register(alice.alias, clock.now());
    assert.equal((await api.status(alice.alias)).body.registered, true);
    clock.advance(30_000);
    const checked = await api.authenticate(alice.alias, appCode(secret, clock.now()));
    assert.equal(checked.body.status, 'SUCCESS');
    assert.equal((await api.poll(checked.body.requestId)).body.status, 'SUCCESS');
  });

  it('naming another identity, or an unknown alias, is refused on every call, in the body and in the query, v3 and beta', async () => {
    const alice = await personal();
    const bob = await personal();
    await totpCalls(server, await server.accessToken(['sp:scopes:all'])).register(bob.alias, clock.now());
    for (const prefix of ['/v3', '/beta']) {
      const api = totpCalls(server, alice.token, prefix);
      for (const other of [bob.alias, 'nobody.at.all']) {
        refusedAsOtherIdentity(await api.enrol(other), `${prefix} enrol ${other}`);
        refusedAsOtherIdentity(await api.confirm(other, '123456'), `${prefix} confirm ${other}`);
        refusedAsOtherIdentity(await api.authenticate(other, '123456'), `${prefix} authenticate ${other}`);
        refusedAsOtherIdentity(await api.status(other), `${prefix} status ${other}`);
      }
    }
    // Bob's registration is untouched and nothing was checked or recorded for him.
    assert.equal((await server.runtime.store.queryAudit({ alias: bob.alias, limit: 10 })).length, 0);
    const bobApi = totpCalls(server, bob.token);
    assert.equal((await bobApi.status(bob.alias)).body.registered, true);
  });

  it('an exchanged token is bound the same way', async () => {
    const alice = await personal();
    const bob = await personal();
    const service = await server.client(['sp:scopes:all', 'mfa:impersonate'], 'exchanging service');
    const exchanged = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT,
        client_id: service.clientId,
        client_secret: service.clientSecret,
        subject_token: alice.alias,
        subject_token_type: IDENTITY_ALIAS_TOKEN_TYPE,
      }),
    });
    assert.equal(exchanged.status, 200, await exchanged.clone().text());
    const token = ((await exchanged.json()) as { access_token: string }).access_token;
    const api = totpCalls(server, token);
    refusedAsOtherIdentity(await api.enrol(bob.alias), 'exchanged enrol');
    assert.equal((await api.enrol(alice.alias)).status, 200);
  });

  it('another identity\'s check reads as an unknown request when polled', async () => {
    const alice = await personal();
    const bob = await personal();
    const service = totpCalls(server, await server.accessToken(['sp:scopes:all']));
    const checked = await service.authenticate(bob.alias, '123456');
    assert.equal(checked.body.status, 'NOT_ENOUGH_DATA');
    // Alice's own client cannot see it (another client's, and another identity's).
    const polled = await totpCalls(server, alice.token).poll(checked.body.requestId);
    assert.deepEqual([polled.body.status, polled.body.error], ['FAILED', ERROR_UNKNOWN_REQUEST]);
  });

  it('a personal client cannot reset a registration, not even its own: that is an operator\'s', async () => {
    const alice = await personal();
    const api = totpCalls(server, alice.token);
    await api.register(alice.alias, clock.now());
    const refused = await api.reset(alice.alias);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal((await api.status(alice.alias)).body.registered, true);
  });

  it('enrolment needs idn:mfa:verify (which sp:scopes:all grants): send-only and KBA-only clients are refused', async () => {
    const alias = (await personal()).alias;
    for (const scopes of [['idn:mfa:send'], ['idn:mfa-kba:read', 'idn:mfa-kba:authenticate'], ['idn:mfa:poll']]) {
      const api = totpCalls(server, await server.accessToken(scopes));
      assert.equal((await api.enrol(alias)).status, 403, scopes.join(' '));
      assert.equal((await api.confirm(alias, '123456')).status, 403, scopes.join(' '));
    }
    assert.equal((await totpCalls(server, await server.accessToken(['idn:mfa:verify'])).enrol(alias)).status, 200);
    assert.equal((await totpCalls(server, await server.accessToken(['sp:scopes:all'])).enrol(alias)).status, 200);
    assert.equal((await postJson(server, '/v3/mfa/totp/poll', await server.accessToken(['idn:mfa:verify']), { requestId: 'x' })).status, 403, 'poll needs idn:mfa:poll');
  });
});

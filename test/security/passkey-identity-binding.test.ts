// Defends identity binding (docs/security.md) on the passkey calls that name a request or a passkey
// rather than a user: a token acting for one identity answering another identity's verification,
// completing another identity's registration with its own authenticator, or listing, renaming or
// removing another identity's passkeys; and a service token enrolling passkeys for anyone.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ERROR_NOT_ACCEPTED, ERROR_REGISTRATION_UNKNOWN } from '../../src/methods/passkey/core.js';
import { ERROR_UNKNOWN_REQUEST } from '../../src/core/verification.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { FORGED_ASSERTION, FORGED_ATTESTATION, actingToken, givePasskey } from '../helpers/passkeys.js';

describeEachDatabase('Passkey identity binding', ({ postgres }) => {
  let server: TestServer;
  let app: { clientId: string; clientSecret: string };
  let appToken: string;
  let counter = 0;

  before(async () => {
    server = await startServer({ postgres });
    app = await server.client(['sp:scopes:all', 'mfa:impersonate'], 'application');
    appToken = await server.tokenOf(app.clientId, app.clientSecret);
  });
  after(async () => {
    await server.close();
  });

  async function two(): Promise<{ alice: string; bob: string; aliceToken: string; bobToken: string }> {
    const alice = `alice.${++counter}`;
    const bob = `bob.${counter}`;
    await server.addIdentity(alice, {});
    await server.addIdentity(bob, {});
    return { alice, bob, aliceToken: await actingToken(server, app, alice), bobToken: await actingToken(server, app, bob) };
  }
  const api = (path: string, token: string, body: unknown) => postJson(server, `/v3/mfa/passkey/${path}`, token, body);

  it('a token acting for alice cannot answer a verification of bob, even one its own client started; bob\'s stays open', async () => {
    const { bob, aliceToken } = await two();
    const started = await api('authentication/options', appToken, { userAlias: bob });
    const { requestId } = started.body;
    const answered = await api('authenticate', aliceToken, { requestId, response: FORGED_ASSERTION });
    assert.deepEqual(answered.body, { requestId, status: 'FAILED', error: ERROR_UNKNOWN_REQUEST });
    const otherClient = await server.accessToken(['idn:mfa:verify']);
    assert.deepEqual((await api('authenticate', otherClient, { requestId, response: FORGED_ASSERTION })).body, { requestId, status: 'FAILED', error: ERROR_UNKNOWN_REQUEST });
    assert.equal((await api('poll', appToken, { requestId })).body.status, 'PENDING', 'nothing consumed the challenge');
    // The client that started it can still answer it (here with a forged assertion, refused on its merits).
    assert.deepEqual((await api('authenticate', appToken, { requestId, response: FORGED_ASSERTION })).body, { requestId, status: 'FAILED', error: ERROR_NOT_ACCEPTED });
  });

  it('a token acting for alice cannot complete bob\'s registration; bob\'s ceremony stays his', async () => {
    const { bob, aliceToken, bobToken } = await two();
    const options = await api('registration/options', bobToken, { userAlias: bob });
    assert.equal(options.status, 200, JSON.stringify(options.body));
    const hijack = await api('registration/verify', aliceToken, { requestId: options.body.requestId, response: FORGED_ATTESTATION });
    assert.deepEqual(hijack.body, { registered: false, credentialId: null, error: ERROR_REGISTRATION_UNKNOWN });
    // Still waiting for bob: his answer is checked (and this forged one refused), not "unknown".
    const own = await api('registration/verify', bobToken, { requestId: options.body.requestId, response: FORGED_ATTESTATION });
    assert.deepEqual(own.body, { registered: false, credentialId: null, error: ERROR_NOT_ACCEPTED });
  });

  it('a service token acts for nobody: it cannot enrol, list or remove passkeys', async () => {
    const { alice } = await two();
    const refused = (answer: { status: number; body: any }, what: string) => {
      assert.equal(answer.status, 403, `${what}: ${JSON.stringify(answer.body)}`);
      assert.match(JSON.stringify(answer.body), /acts for an identity/, what);
    };
    refused(await api('registration/options', appToken, { userAlias: alice }), 'registration options');
    refused(await api('registration/verify', appToken, { requestId: 'x', response: FORGED_ATTESTATION }), 'registration verify');
    refused(await api('credentials/remove', appToken, { credentialId: 'AAAA' }), 'remove');
    refused(await api('credentials/rename', appToken, { credentialId: 'AAAA', name: 'x' }), 'rename');
    const list = await fetch(`${server.baseUrl}/v3/mfa/passkey/credentials`, { headers: { authorization: `Bearer ${appToken}` } });
    assert.equal(list.status, 403);
  });

  it('a token acting for alice sees, renames and removes only alice\'s passkeys', async () => {
    const { alice, bob, aliceToken, bobToken } = await two();
    const bobs = await givePasskey(server, bob);
    await server.recordSuccess(alice); // so the factor-change rule is not what refuses the removal
    const list = await fetch(`${server.baseUrl}/beta/mfa/passkey/credentials`, { headers: { authorization: `Bearer ${aliceToken}` } });
    assert.deepEqual(await list.json(), []);
    assert.equal((await api('credentials/rename', aliceToken, { credentialId: bobs, name: 'Mine now' })).status, 404);
    assert.equal((await api('credentials/remove', aliceToken, { credentialId: bobs })).status, 404);
    const bobList = await fetch(`${server.baseUrl}/v3/mfa/passkey/credentials`, { headers: { authorization: `Bearer ${bobToken}` } });
    assert.deepEqual(((await bobList.json()) as Array<{ credentialId: string; name: string }>).map((p) => [p.credentialId, p.name]), [[bobs, 'Laptop']]);
  });
});

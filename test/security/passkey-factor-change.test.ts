// Defends the factor-change rule (docs/security.md) for passkeys: someone holding a token for an
// identity (a stolen personal client secret, a service acting for the person) adding their own passkey
// beside the person's factors, or removing the person's passkey, without proving a current factor, or
// during a lockout, to take the account over for good.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ERROR_CHANGE_LOCKED, ERROR_CHANGE_NEEDS_PROOF } from '../../src/methods/passkey/core.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { FORGED_ATTESTATION, givePasskey } from '../helpers/passkeys.js';

const WINDOW_SECONDS = 120;

describeEachDatabase('Passkey factor change', ({ postgres }) => {
  let server: TestServer;
  let offsetMs = 0;
  let counter = 0;
  const clock = { now: () => Date.now() + offsetMs };

  before(async () => {
    server = await startServer({ postgres, clock, env: { MFA_FACTOR_CHANGE_WINDOW_SECONDS: String(WINDOW_SECONDS), MFA_PASSKEY_TTL_SECONDS: '3600' } });
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: Date.now() });
  });
  after(async () => {
    await server.close();
  });

  async function person(): Promise<{ alias: string; token: () => Promise<string> }> {
    const alias = `factor.${++counter}`;
    await server.addIdentity(alias, {});
    const { token } = await server.personalClient(alias);
    return { alias, token };
  }
  const options = async (alias: string, token: string) => postJson(server, '/v3/mfa/passkey/registration/options', token, { userAlias: alias });
  const refusedWith = (answer: { status: number; body: any }, text: string) => {
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.messages[0].text, text);
  };

  it('a first passkey, with no other factor, needs no proof', async () => {
    const { alias, token } = await person();
    const answer = await options(alias, await token());
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(answer.body.requestId);
  });

  it('adding a passkey beside security answers, or beside a passkey, needs a recent verification; then it is allowed', async () => {
    const withAnswers = await person();
    const identity = await server.runtime.store.findIdentity(withAnswers.alias);
    await server.runtime.store.replaceAnswers(identity!.id, [{ questionId: 'pet', answerHash: '$argon2id$stand-in' }], clock.now());
    refusedWith(await options(withAnswers.alias, await withAnswers.token()), ERROR_CHANGE_NEEDS_PROOF);

    const withPasskey = await person();
    await givePasskey(server, withPasskey.alias);
    refusedWith(await options(withPasskey.alias, await withPasskey.token()), ERROR_CHANGE_NEEDS_PROOF);
    await server.recordSuccess(withPasskey.alias);
    assert.equal((await options(withPasskey.alias, await withPasskey.token())).status, 200);
  });

  it('the proof is checked again at the answer: one that aged out meanwhile refuses the registration', async () => {
    const { alias, token } = await person();
    await givePasskey(server, alias);
    await server.recordSuccess(alias);
    const started = await options(alias, await token());
    assert.equal(started.status, 200);
    offsetMs += (WINDOW_SECONDS + 5) * 1000;
    const answer = await postJson(server, '/v3/mfa/passkey/registration/verify', await token(), { requestId: started.body.requestId, response: FORGED_ATTESTATION });
    refusedWith(answer, ERROR_CHANGE_NEEDS_PROOF);
  });

  it('removing a passkey needs a recent verification, and is never allowed during a lockout', async () => {
    const { alias, token } = await person();
    const credentialId = await givePasskey(server, alias);
    const remove = async () => postJson(server, '/v3/mfa/passkey/credentials/remove', await token(), { credentialId });
    refusedWith(await remove(), ERROR_CHANGE_NEEDS_PROOF);
    await server.recordSuccess(alias);
    await server.runtime.store.lock(alias, 'token', clock.now() + 60_000);
    refusedWith(await remove(), ERROR_CHANGE_LOCKED);
    refusedWith(await options(alias, await token()), ERROR_CHANGE_LOCKED);
    offsetMs += 61_000;
    await server.recordSuccess(alias);
    assert.equal((await remove()).status, 204);
    const list = await fetch(`${server.baseUrl}/v3/mfa/passkey/credentials`, { headers: { authorization: `Bearer ${await token()}` } });
    assert.deepEqual(await list.json(), []);
  });

  it('renaming is no factor change: allowed without proof', async () => {
    const { alias, token } = await person();
    const credentialId = await givePasskey(server, alias);
    const renamed = await postJson(server, '/v3/mfa/passkey/credentials/rename', await token(), { credentialId, name: '  Old   laptop ' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, 'Old laptop');
    assert.equal((await postJson(server, '/v3/mfa/passkey/credentials/rename', await token(), { credentialId, name: 'evil\u202Etxt.exe' })).status, 400);
  });
});

// Defends the factor-change rule across kinds of factor (docs/security.md, "Changing a factor"): someone
// holding a token for an identity (a stolen personal client secret) enrolling a FIRST factor of another
// kind beside the person's own (an authenticator app beside security answers), verifying with it, and
// with that fresh success replacing the person's answers: the account taken over for good. Enrolling a
// first factor of a kind when the identity has any factor needs a recent verification, like a change.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ERROR_CHANGE_NEEDS_PROOF as PASSKEY_NEEDS_PROOF } from '../../src/methods/passkey/core.js';
import { ERROR_TOTP_CHANGE_NEEDS_PROOF } from '../../src/methods/totp/service.js';
import { ERROR_CHANGE_NEEDS_PROOF as KBA_NEEDS_PROOF } from '../../src/methods/kba/service.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { givePasskey } from '../helpers/passkeys.js';
import { appCode, steppedClock, totpCalls } from '../helpers/totp.js';

const WINDOW_SECONDS = 120;

describeEachDatabase('Factor enrolment takeover chain', ({ postgres }) => {
  let server: TestServer;
  let counter = 0;
  const clock = steppedClock();

  before(async () => {
    server = await startServer({
      postgres,
      clock,
      env: { MFA_FACTOR_CHANGE_WINDOW_SECONDS: String(WINDOW_SECONDS), MFA_KBA_ARGON2_MEMORY_KIB: '1024', MFA_KBA_ARGON2_TIME_COST: '1', MFA_KBA_MIN_ANSWERS: '1', MFA_PASSKEY_TTL_SECONDS: '3600' },
    });
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: clock.now() });
  });
  after(async () => {
    await server.close();
  });

  async function person(): Promise<{ alias: string; token: () => Promise<string> }> {
    const alias = `chain.${++counter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    const client = await server.personalClient(alias);
    return { alias, token: client.token };
  }
  const setAnswers = async (token: string, answer: string) => postJson(server, '/v3/mfa/kba/config/answers', token, [{ id: 'pet', answer }]);
  const passkeyOptions = async (alias: string, token: string) => postJson(server, '/v3/mfa/passkey/registration/options', token, { userAlias: alias });
  const refusedWith = (answer: { status: number; body: any }, text: string) => {
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.messages[0].text, text);
  };
  const afterTheWindow = () => clock.advance(WINDOW_SECONDS * 1000 + 1000);

  it('the chain is cut: a first authenticator app beside security answers is refused, so it cannot be the proof that replaces them', async () => {
    const { alias, token } = await person();
    assert.equal((await setAnswers(await token(), 'Rex')).status, 200, 'the person enrols answers, a first factor');
    afterTheWindow();

    const attacker = totpCalls(server, await token());
    refusedWith(await attacker.enrol(alias), ERROR_TOTP_CHANGE_NEEDS_PROOF);
    assert.equal((await attacker.status(alias)).body.registered, false);
    assert.equal((await attacker.authenticate(alias, '123456')).body.status, 'NOT_ENOUGH_DATA', 'no app to verify with');
    refusedWith(await setAnswers(await token(), 'Attacker'), KBA_NEEDS_PROOF);
    refusedWith(await passkeyOptions(alias, await token()), PASSKEY_NEEDS_PROOF);
  });

  it('an authenticator app makes first security answers and a first passkey a change', async () => {
    const { alias, token } = await person();
    await totpCalls(server, await token()).register(alias, clock.now());
    afterTheWindow();
    refusedWith(await setAnswers(await token(), 'Attacker'), KBA_NEEDS_PROOF);
    refusedWith(await passkeyOptions(alias, await token()), PASSKEY_NEEDS_PROOF);
  });

  it('a passkey makes first security answers and a first authenticator app a change', async () => {
    const { alias, token } = await person();
    await givePasskey(server, alias);
    refusedWith(await setAnswers(await token(), 'Attacker'), KBA_NEEDS_PROOF);
    refusedWith(await totpCalls(server, await token()).enrol(alias), ERROR_TOTP_CHANGE_NEEDS_PROOF);
  });

  it('with a recent verification of the identity, the person adds a factor of another kind', async () => {
    const { alias, token } = await person();
    assert.equal((await setAnswers(await token(), 'Rex')).status, 200);
    afterTheWindow();
    await server.recordSuccess(alias);
    const own = totpCalls(server, await token());
    await own.register(alias, clock.now());
    assert.equal((await passkeyOptions(alias, await token())).status, 200);
  });

  it('the rule is asked again at the confirmation: a factor added meanwhile, the proof gone, refuses the app', async () => {
    const { alias, token } = await person();
    const api = totpCalls(server, await token());
    const enrolled = await api.enrol(alias);
    assert.equal(enrolled.status, 200, 'a first factor of all: no proof needed');
    await givePasskey(server, alias);
    afterTheWindow();
    refusedWith(await totpCalls(server, await token()).confirm(alias, appCode(enrolled.body.secret, clock.now())), ERROR_TOTP_CHANGE_NEEDS_PROOF);
    assert.equal((await api.status(alias)).body.registered, false);
  });

  it('the first factor of all needs no proof, whatever its kind', async () => {
    const a = await person();
    assert.equal((await setAnswers(await a.token(), 'Rex')).status, 200);
    const b = await person();
    assert.equal((await totpCalls(server, await b.token()).enrol(b.alias)).status, 200);
    const c = await person();
    assert.equal((await passkeyOptions(c.alias, await c.token())).status, 200);
  });
});

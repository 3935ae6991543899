// Defends the factor-change rule for authenticator apps (docs/security.md, "Changing a factor"): someone
// holding a token for an identity (a stolen personal client secret) replacing the person's authenticator
// without proving a current factor, or during a lockout, to take the account over for good; and a first
// registration, which needs no proof, being used as the proof for changing another factor.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ERROR_CHANGE_NEEDS_PROOF } from '../../src/methods/kba/service.js';
import { ERROR_TOTP_CHANGE_LOCKED, ERROR_TOTP_CHANGE_NEEDS_PROOF } from '../../src/methods/totp/service.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { appCode, steppedClock, totpCalls } from '../helpers/totp.js';

const WINDOW_SECONDS = 120;

describeEachDatabase('TOTP factor change', ({ postgres }) => {
  let server: TestServer;
  let counter = 0;
  const clock = steppedClock();

  before(async () => {
    server = await startServer({
      postgres,
      clock,
      env: { MFA_FACTOR_CHANGE_WINDOW_SECONDS: String(WINDOW_SECONDS), MFA_KBA_ARGON2_MEMORY_KIB: '1024', MFA_KBA_ARGON2_TIME_COST: '1', MFA_KBA_MIN_ANSWERS: '1' },
    });
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: clock.now() });
  });
  after(async () => {
    await server.close();
  });

  /** A fresh identity and its personal client; `token()` issues one at the current (moved) clock. */
  async function person(): Promise<{ alias: string; api: () => Promise<ReturnType<typeof totpCalls>>; token: () => Promise<string> }> {
    const alias = `totp.change.${++counter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    const client = await server.personalClient(alias);
    return { alias, token: client.token, api: async () => totpCalls(server, await client.token()) };
  }

  const refusedWith = (answer: { status: number; body: any }, text: string) => {
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.messages[0].text, text);
  };

  it('the first registration needs no proof; replacing it without a recent verification is refused and changes nothing', async () => {
    const { alias, api } = await person();
    const own = await api();
    const secret = await own.register(alias, clock.now());
    clock.advance(WINDOW_SECONDS * 1000 + 1000);
    const later = await api();
    refusedWith(await later.enrol(alias), ERROR_TOTP_CHANGE_NEEDS_PROOF);
    refusedWith(await totpCalls(server, await server.accessToken(['sp:scopes:all'])).enrol(alias), ERROR_TOTP_CHANGE_NEEDS_PROOF);
    assert.equal((await later.authenticate(alias, appCode(secret, clock.now()))).body.status, 'SUCCESS', 'the registration still stands');
  });

  it('confirming a registration is not a verification of the identity: it proves nothing for another change', async () => {
    const { alias, api, token } = await person();
    const own = await api();
    const answers = [{ id: 'pet', answer: 'Rex' }];
    assert.equal((await postJson(server, '/v3/mfa/kba/config/answers', await token(), answers)).status, 200);
    // An app beside the answers needs a recent verification (factor-enrolment-takeover-chain.test.ts); once
    // that has aged, the app's confirmation does not renew it.
    await server.recordSuccess(alias);
    await own.register(alias, clock.now());
    clock.advance(WINDOW_SECONDS * 1000 + 1000);
    refusedWith(await postJson(server, '/v3/mfa/kba/config/answers', await token(), [{ id: 'pet', answer: 'Attacker' }]), ERROR_CHANGE_NEEDS_PROOF);
  });

  it('a recent successful verification (the app itself, or any method) allows a replacement for the window, not after', async () => {
    const { alias, api } = await person();
    const own = await api();
    const first = await own.register(alias, clock.now());
    clock.advance(30_000);
    assert.equal((await own.authenticate(alias, appCode(first, clock.now()))).body.status, 'SUCCESS');
    clock.advance((WINDOW_SECONDS - 35) * 1000);
    const inWindow = await api();
    const second = (await inWindow.enrol(alias)).body.secret as string;
    assert.deepEqual((await inWindow.status(alias)).body.registered, true, 'the first stays active until the second is confirmed');
    assert.deepEqual((await inWindow.confirm(alias, appCode(second, clock.now()))).body, { mfaVerified: true });
    clock.advance(30_000);
    assert.equal((await inWindow.authenticate(alias, appCode(first, clock.now()))).body.status, 'FAILED', 'the old secret no longer works');
    assert.equal((await inWindow.authenticate(alias, appCode(second, clock.now()))).body.status, 'SUCCESS');

    clock.advance(WINDOW_SECONDS * 1000 + 1000);
    refusedWith(await (await api()).enrol(alias), ERROR_TOTP_CHANGE_NEEDS_PROOF);
    await server.recordSuccess(alias);
    assert.equal((await (await api()).enrol(alias)).status, 200, 'another method\'s success counts too');
  });

  it('another identity\'s success proves nothing about this one', async () => {
    const alice = await person();
    const bob = await person();
    await (await alice.api()).register(alice.alias, clock.now());
    await server.recordSuccess(bob.alias);
    refusedWith(await (await alice.api()).enrol(alice.alias), ERROR_TOTP_CHANGE_NEEDS_PROOF);
  });

  it('a lockout of the identity (any method) refuses the replacement, even right after a success', async () => {
    const { alias, api } = await person();
    await (await api()).register(alias, clock.now());
    await server.recordSuccess(alias);
    await server.runtime.store.lock(alias, 'token', clock.now() + 60_000);
    refusedWith(await (await api()).enrol(alias), ERROR_TOTP_CHANGE_LOCKED);
  });

  it('an operator reset makes the next enrolment a first one again', async () => {
    const { alias, api } = await person();
    await (await api()).register(alias, clock.now());
    clock.advance(WINDOW_SECONDS * 1000 + 1000);
    refusedWith(await (await api()).enrol(alias), ERROR_TOTP_CHANGE_NEEDS_PROOF);
    const operator = totpCalls(server, await server.accessToken(['mfa:admin']));
    assert.equal((await operator.reset(alias)).status, 204);
    assert.equal((await (await api()).register(alias, clock.now())).length, 32);
  });
});

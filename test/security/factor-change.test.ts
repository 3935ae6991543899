// Defends the factor-change rule (docs/security.md): someone holding a token for an identity (a stolen
// personal client secret, a service acting for the person) replacing the person's security answers
// without proving a current factor, or during a lockout, to take the account over for good.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ERROR_CHANGE_LOCKED, ERROR_CHANGE_NEEDS_PROOF } from '../../src/methods/kba/service.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

const WINDOW_SECONDS = 120;
const ENV = {
  MFA_KBA_ARGON2_MEMORY_KIB: '1024',
  MFA_KBA_ARGON2_TIME_COST: '1',
  MFA_KBA_MIN_ANSWERS: '2',
  MFA_KBA_MAX_ATTEMPTS: '2',
  MFA_FACTOR_CHANGE_WINDOW_SECONDS: String(WINDOW_SECONDS),
};
const FIRST = [
  { id: 'pet', answer: 'Rex' },
  { id: 'city', answer: 'Lisbon' },
];
const SECOND = [
  { id: 'pet', answer: 'Attacker' },
  { id: 'city', answer: 'Elsewhere' },
];
const WRONG = [
  { id: 'pet', answer: 'Rex' },
  { id: 'city', answer: 'Porto' },
];

describeEachDatabase('Factor change', ({ postgres }) => {
  let server: TestServer;
  let offsetMs = 0;
  let counter = 0;
  const clock = { now: () => Date.now() + offsetMs };

  before(async () => {
    server = await startServer({ postgres, env: ENV, clock });
    const now = Date.now();
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: now });
    await server.runtime.store.putQuestion({ id: 'city', texts: { '': 'City of birth?' }, createdAt: now + 1 });
  });
  after(async () => {
    await server.close();
  });

  /** A fresh identity with a personal client's token; `token()` issues one at the current (moved) clock. */
  async function person(): Promise<{ alias: string; token: () => Promise<string> }> {
    const alias = `change.${++counter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    const { token } = await server.personalClient(alias);
    return { alias, token };
  }

  const enrol = async (token: string, answers: typeof FIRST) => postJson(server, '/v3/mfa/kba/config/answers', token, answers);
  const check = async (token: string, answers: typeof FIRST) => (await postJson(server, '/v3/mfa/kba/authenticate', token, answers)).body.status as string;
  const refusedWith = (answer: { status: number; body: any }, text: string) => {
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.messages[0].text, text);
  };

  it('the first enrolment needs no proof; replacing the answers without a recent verification is refused and changes nothing', async () => {
    const { token } = await person();
    const t = await token();
    assert.equal((await enrol(t, FIRST)).status, 200);
    refusedWith(await enrol(t, SECOND), ERROR_CHANGE_NEEDS_PROOF);
    refusedWith(await postJson(server, '/mfa/v1/kba/config/answers', t, SECOND), ERROR_CHANGE_NEEDS_PROOF);
    assert.equal(await check(t, FIRST), 'SUCCESS', 'the first answers still stand');
  });

  it('a successful verification of the identity allows the change for the window, not after', async () => {
    const { token } = await person();
    const t = await token();
    assert.equal((await enrol(t, FIRST)).status, 200);
    assert.equal(await check(t, FIRST), 'SUCCESS');
    offsetMs += (WINDOW_SECONDS - 5) * 1000;
    const inWindow = await token();
    assert.equal((await enrol(inWindow, SECOND)).status, 200);
    offsetMs += 10 * 1000;
    const late = await token();
    refusedWith(await enrol(late, FIRST), ERROR_CHANGE_NEEDS_PROOF);
    assert.equal(await check(late, SECOND), 'SUCCESS');
  });

  it('another identity\'s success proves nothing about this one', async () => {
    const alice = await person();
    const bob = await person();
    const a = await alice.token();
    assert.equal((await enrol(a, FIRST)).status, 200);
    await server.recordSuccess(bob.alias);
    refusedWith(await enrol(a, SECOND), ERROR_CHANGE_NEEDS_PROOF);
  });

  it('during a KBA lockout the answers cannot be changed, even right after a success', async () => {
    const { token } = await person();
    const t = await token();
    assert.equal((await enrol(t, FIRST)).status, 200);
    assert.equal(await check(t, FIRST), 'SUCCESS');
    assert.equal(await check(t, WRONG), 'FAILED');
    assert.equal(await check(t, WRONG), 'LOCKOUT');
    refusedWith(await enrol(t, SECOND), ERROR_CHANGE_LOCKED);
  });

  it('a token lockout of the identity refuses the change too', async () => {
    const { alias, token } = await person();
    const t = await token();
    assert.equal((await enrol(t, FIRST)).status, 200);
    await server.recordSuccess(alias);
    await server.runtime.store.lock(alias, 'token', server.runtime.clock.now() + 60_000);
    refusedWith(await enrol(t, SECOND), ERROR_CHANGE_LOCKED);
  });

  it('an operator unlock through /admin/v1 ends the lockout, and the change then needs only the proof', async () => {
    const { alias, token } = await person();
    const t = await token();
    assert.equal((await enrol(t, FIRST)).status, 200);
    await server.recordSuccess(alias);
    await server.runtime.store.lock(alias, 'kba', server.runtime.clock.now() + 60_000);
    refusedWith(await enrol(t, SECOND), ERROR_CHANGE_LOCKED);
    const admin = await server.accessToken(['mfa:admin']);
    const unlocked = await postJson(server, `/admin/v1/identities/${alias}/unlock`, admin, {});
    assert.equal(unlocked.status, 200);
    assert.deepEqual(unlocked.body.wasLocked.map((l: { method: string }) => l.method), ['kba']);
    assert.equal((await enrol(t, SECOND)).status, 200);
  });

  it('an operator reset through /admin/v1 makes the next enrolment a first one again', async () => {
    const { alias, token } = await person();
    const t = await token();
    assert.equal((await enrol(t, FIRST)).status, 200);
    refusedWith(await enrol(t, SECOND), ERROR_CHANGE_NEEDS_PROOF);
    const admin = await server.accessToken(['mfa:admin']);
    const reset = await fetch(`${server.baseUrl}/admin/v1/identities/${alias}/kba-answers`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(reset.status, 204);
    const events = await server.runtime.store.queryAudit({ alias, order: 'newest', limit: 5 });
    assert.deepEqual(events.filter((e) => e.operation === 'reset').map((e) => [e.method, e.clientId]), [['kba', 'operator']], 'the reset is audited');
    assert.equal((await enrol(t, SECOND)).status, 200);
    assert.equal(await check(t, SECOND), 'SUCCESS');
  });
});

// Authenticator apps end to end over HTTP, on both databases: enrol, compute codes from the returned
// secret as an app would, confirm, authenticate, poll; status, expiry of a pending registration, the
// operator's reset; and the MFA_TOTP_* parameters reaching the URI and the codes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { URI, type TOTP } from 'otpauth';
import { ERROR_TOTP_NOT_REGISTERED, ERROR_TOTP_USED, ERROR_TOTP_WRONG } from '../../src/methods/totp/service.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { appCode, steppedClock, totpCalls, wrongCode } from '../helpers/totp.js';

const STEP_MS = 30_000;

describeEachDatabase('TOTP over HTTP', ({ postgres }) => {
  let server: TestServer;
  let token: string;
  let counter = 0;
  const clock = steppedClock();

  before(async () => {
    server = await startServer({ postgres, clock, env: { MFA_TOTP_ISSUER: 'Example Corp' } });
    token = await server.accessToken(['sp:scopes:all']);
  });
  after(async () => {
    await server.close();
  });

  async function person(): Promise<string> {
    const alias = `app.user.${++counter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    return alias;
  }

  for (const prefix of ['/v3', '/beta']) {
    it(`${prefix}: enrol, confirm with the app's code, authenticate, poll`, async () => {
      const api = totpCalls(server, token, prefix);
      const alias = await person();
      assert.deepEqual((await api.status(alias)).body, { registered: false, confirmedAt: null });

      const enrolled = await api.enrol(alias);
      assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
      const { requestId, username, secret, totpUrl } = enrolled.body;
      assert.match(requestId, /^[0-9a-f]{32}$/);
      assert.equal(username, alias);
      assert.match(secret, /^[A-Z2-7]{32}$/, '20 bytes in base32');
      assert.ok(totpUrl.startsWith(`otpauth://totp/Example%20Corp:${alias}?`), totpUrl);
      const app = URI.parse(totpUrl) as TOTP;
      assert.deepEqual([app.issuer, app.label, app.secret.base32, app.algorithm, app.digits, app.period], ['Example Corp', alias, secret, 'SHA1', 6, 30]);
      assert.deepEqual((await api.status(alias)).body, { registered: false, confirmedAt: null }, 'pending until confirmed');

      assert.deepEqual((await api.confirm(alias, wrongCode(secret, clock.now()))).body, { mfaVerified: false });
      assert.deepEqual((await api.confirm(alias, app.generate({ timestamp: clock.now() }))).body, { mfaVerified: true });
      assert.deepEqual((await api.confirm(alias, app.generate({ timestamp: clock.now() }))).body, { mfaVerified: false }, 'nothing pending any more');
      assert.deepEqual((await api.status(alias)).body, { registered: true, confirmedAt: new Date(clock.now()).toISOString() });

      // The confirming code was accepted once already.
      const reused = await api.authenticate(alias, appCode(secret, clock.now()));
      assert.deepEqual([reused.body.status, reused.body.error], ['FAILED', ERROR_TOTP_USED]);

      clock.advance(STEP_MS);
      const checked = await api.authenticate(alias, appCode(secret, clock.now()));
      assert.equal(checked.status, 200);
      assert.deepEqual({ ...checked.body, requestId: typeof checked.body.requestId }, { requestId: 'string', status: 'SUCCESS', error: null });
      const polled = await api.poll(checked.body.requestId);
      assert.deepEqual(polled.body, { requestId: checked.body.requestId, status: 'SUCCESS', error: null });
      // The same request id under another method's poll reads as unknown.
      assert.equal((await postJson(server, `${prefix}/mfa/token/poll`, token, { requestId: checked.body.requestId })).body.status, 'FAILED');
    });
  }

  it('a code is accepted once: its replay is refused, a code two steps old is refused, the next step\'s is accepted', async () => {
    const api = totpCalls(server, token);
    const alias = await person();
    const secret = await api.register(alias, clock.now());
    clock.advance(STEP_MS);
    const code = appCode(secret, clock.now());
    assert.equal((await api.authenticate(alias, code)).body.status, 'SUCCESS');
    const replay = await api.authenticate(alias, code);
    assert.deepEqual([replay.body.status, replay.body.error], ['FAILED', ERROR_TOTP_USED]);
    assert.deepEqual((await api.poll(replay.body.requestId)).body.status, 'FAILED');

    clock.advance(3 * STEP_MS);
    const old = await api.authenticate(alias, appCode(secret, clock.now(), -2));
    assert.deepEqual([old.body.status, old.body.error], ['FAILED', ERROR_TOTP_WRONG], 'two steps ago is outside the window');
    assert.equal((await api.authenticate(alias, appCode(secret, clock.now(), -1))).body.status, 'SUCCESS', 'one step ago is inside');
    assert.equal((await api.authenticate(alias, appCode(secret, clock.now(), 1))).body.status, 'SUCCESS', 'the next step, once');
    // Now the current step is behind the last accepted one: refused although in the window.
    assert.equal((await api.authenticate(alias, appCode(secret, clock.now()))).body.error, ERROR_TOTP_USED);
  });

  it('20 concurrent submissions of one valid code succeed once', async () => {
    const api = totpCalls(server, token);
    const alias = await person();
    const secret = await api.register(alias, clock.now());
    clock.advance(STEP_MS);
    const code = appCode(secret, clock.now());
    const answers = await Promise.all(Array.from({ length: 20 }, () => api.authenticate(alias, code)));
    assert.deepEqual(answers.map((a) => a.status), Array(20).fill(200));
    const statuses = answers.map((a) => a.body.status as string);
    assert.equal(statuses.filter((s) => s === 'SUCCESS').length, 1, statuses.join(' '));
    assert.ok(statuses.every((s) => s === 'SUCCESS' || s === 'FAILED' || s === 'LOCKOUT'), statuses.join(' '));
  });

  it('no active registration and an unknown alias answer NOT_ENOUGH_DATA alike', async () => {
    const api = totpCalls(server, token);
    const known = await person();
    const pending = await person();
    await api.enrol(pending);
    const answers = await Promise.all([known, pending, 'nobody.at.all'].map((alias) => api.authenticate(alias, '123456')));
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.deepEqual({ ...answer.body, requestId: typeof answer.body.requestId }, { requestId: 'string', status: 'NOT_ENOUGH_DATA', error: ERROR_TOTP_NOT_REGISTERED });
    }
    const enrolUnknown = await api.enrol('nobody.at.all');
    assert.equal(enrolUnknown.status, 200, 'an enrolment for an unknown alias looks like any other');
    assert.deepEqual(Object.keys(enrolUnknown.body).sort(), ['requestId', 'secret', 'totpUrl', 'username']);
    assert.deepEqual((await api.confirm('nobody.at.all', appCode(enrolUnknown.body.secret, clock.now()))).body, { mfaVerified: false }, 'but it never becomes a registration');
    assert.deepEqual((await api.status('nobody.at.all')).body, { registered: false, confirmedAt: null });
  });

  it('a pending registration expires after the enrolment time (10 minutes)', async () => {
    const api = totpCalls(server, token);
    const alias = await person();
    const { secret } = (await api.enrol(alias)).body;
    clock.advance(10 * 60_000);
    assert.deepEqual((await api.confirm(alias, appCode(secret, clock.now()))).body, { mfaVerified: false });
    assert.deepEqual((await api.status(alias)).body, { registered: false, confirmedAt: null });
    const again = (await api.enrol(alias)).body.secret;
    clock.advance(10 * 60_000 - 1000);
    assert.deepEqual((await api.confirm(alias, appCode(again, clock.now()))).body, { mfaVerified: true }, 'within the time it is confirmed');
  });

  it('a new enrolment replaces the pending one: only the latest secret confirms', async () => {
    const api = totpCalls(server, token);
    const alias = await person();
    const first = (await api.enrol(alias)).body.secret;
    const second = (await api.enrol(alias)).body.secret;
    assert.notEqual(first, second);
    assert.deepEqual((await api.confirm(alias, appCode(first, clock.now()))).body, { mfaVerified: false });
    assert.deepEqual((await api.confirm(alias, appCode(second, clock.now()))).body, { mfaVerified: true });
  });

  it('an operator resets a registration with the configuration scope or mfa:admin, audited; a verify-only client cannot', async () => {
    const alias = await person();
    const secret = await totpCalls(server, token).register(alias, clock.now());
    const verifier = totpCalls(server, await server.accessToken(['idn:mfa:verify']));
    assert.equal((await verifier.reset(alias)).status, 403);
    const manager = totpCalls(server, await server.accessToken(['idn:mfa-configuration:manage']));
    assert.equal((await manager.reset(alias)).status, 204);
    assert.equal((await manager.reset(alias)).status, 404, 'nothing left');
    assert.equal((await manager.reset('nobody.at.all')).status, 404, 'an unknown alias alike');
    assert.deepEqual((await verifier.status(alias)).body, { registered: false, confirmedAt: null });
    clock.advance(STEP_MS);
    assert.equal((await verifier.authenticate(alias, appCode(secret, clock.now()))).body.status, 'NOT_ENOUGH_DATA', 'the old secret is gone');
    const events = await server.runtime.store.queryAudit({ alias, method: 'totp', limit: 10 });
    assert.deepEqual(events.filter((e) => e.operation === 'reset').map((e) => [e.outcome, e.requestId]), [['SUCCESS', null]]);

    await totpCalls(server, token).register(alias, clock.now());
    const admin = totpCalls(server, await server.accessToken(['mfa:admin']));
    assert.equal((await admin.reset(alias)).status, 204);
  });

  it('every check is in the audit trail under the totp method, never with the code', async () => {
    const api = totpCalls(server, token);
    const alias = await person();
    const secret = await api.register(alias, clock.now());
    clock.advance(STEP_MS);
    const wrong = wrongCode(secret, clock.now());
    const right = appCode(secret, clock.now());
    await api.authenticate(alias, wrong);
    const success = await api.authenticate(alias, right);
    const events = await server.runtime.store.queryAudit({ alias, limit: 10, order: 'oldest' });
    assert.deepEqual(events.map((e) => [e.method, e.operation, e.outcome]), [['totp', 'authenticate', 'FAILED'], ['totp', 'authenticate', 'SUCCESS']]);
    assert.equal(events[1]!.requestId, success.body.requestId);
    assert.ok(!JSON.stringify(events).includes(right) && !JSON.stringify(events).includes(wrong));
  });

  it('/openapi.json describes the TOTP operations under /v3 and /beta', async () => {
    const document = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId: string }>> };
    for (const [path, method, id] of [
      ['/mfa/totp/enrol', 'post', 'enrolTotp'],
      ['/mfa/totp/confirm', 'post', 'confirmTotp'],
      ['/mfa/totp/authenticate', 'post', 'authenticateTotp'],
      ['/mfa/totp/status', 'get', 'getTotpStatus'],
      ['/mfa/totp/registration', 'delete', 'resetTotp'],
    ] as const) {
      assert.equal(document.paths[`/v3${path}`]?.[method]?.operationId, id);
      assert.equal(document.paths[`/beta${path}`]?.[method]?.operationId, `${id}Beta`);
    }
  });
});

describe('TOTP parameters from the settings', () => {
  let server: TestServer;
  const clock = steppedClock();
  before(async () => {
    server = await startServer({ clock, env: { MFA_TOTP_ALGORITHM: 'SHA512', MFA_TOTP_DIGITS: '8', MFA_TOTP_PERIOD_SECONDS: '60', MFA_TOTP_WINDOW_STEPS: '0' } });
  });
  after(() => server.close());

  it('SHA-512, 8 digits and 60 s reach the URI and the codes; a window of 0 takes the current step only', async () => {
    const api = totpCalls(server, await server.accessToken(['sp:scopes:all']));
    await server.addIdentity('eight', {});
    const { secret, totpUrl } = (await api.enrol('eight')).body;
    const app = URI.parse(totpUrl) as TOTP;
    assert.deepEqual([app.algorithm, app.digits, app.period], ['SHA512', 8, 60]);
    const options = { algorithm: 'SHA512', digits: 8, period: 60 };
    assert.deepEqual((await api.confirm('eight', appCode(secret, clock.now(), 0, options).slice(0, 6))).body, { mfaVerified: false }, 'six digits of eight');
    assert.deepEqual((await api.confirm('eight', appCode(secret, clock.now(), 0, options))).body, { mfaVerified: true });
    clock.advance(60_000);
    assert.equal((await api.authenticate('eight', appCode(secret, clock.now(), 1, options))).body.status, 'FAILED', 'the next step is outside a window of 0');
    assert.equal((await api.authenticate('eight', appCode(secret, clock.now(), 0, options))).body.status, 'SUCCESS');
  });
});

// Defends the RSA SecurID method end to end, against a local server speaking RSA's Authentication API:
// the client key and message chain RSA requires, push approval through poll, tokencodes decided at
// once and never stored, no 500 and no enumeration when RSA or the person fails, and one upstream poll
// for many concurrent pollers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ERROR_RSA_FAILED as RSA_ERROR_FAILED } from '../../src/core/rsa.js';
import { ProviderGateway } from '../../src/providers/gateway.js';
import { providerFetch } from '../../src/providers/http.js';
import { sealerFor } from '../../src/runtime.js';
import { ProviderConfigs } from '../../src/services/provider-configs.js';
import { RsaService } from '../../src/methods/rsa/service.js';
import { postJson, startServer, type TestServer } from '../helpers/server.js';

const CLIENT_KEY = 'rsa-client-key-0123456789';

interface FakeUser {
  readonly tokencode: string;
  /** What the push ends as, after `pendingPolls` IN_PROCESS answers to polls. */
  readonly push: 'SUCCESS' | 'FAIL' | 'ERROR' | 'NONE';
  readonly pendingPolls: number;
}

interface Attempt {
  readonly subject: string;
  lastMessageId: string;
  referenceId: string | null;
  pollsLeft: number;
}

/** A small RSA Authentication API: enforces client-key, fresh messageIds and the inResponseTo chain. */
class FakeRsa {
  server!: Server;
  url = '';
  users = new Map<string, FakeUser>();
  attempts = new Map<string, Attempt>();
  seenMessageIds = new Set<string>();
  /** Every broken rule of the protocol the service committed; must stay empty. */
  violations: string[] = [];
  calls: Array<{ path: string; body: any }> = [];
  failWith: number | undefined;
  delayMs = 0;
  pollDelayMs = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/mfa/v1_1`;
  }

  reset(): void {
    this.users = new Map([
      ['ann@corp', { tokencode: '12345678', push: 'SUCCESS', pendingPolls: 1 }],
      ['bob', { tokencode: '87654321', push: 'FAIL', pendingPolls: 0 }],
      ['eve', { tokencode: '11112222', push: 'ERROR', pendingPolls: 0 }],
      ['tok', { tokencode: '22223333', push: 'NONE', pendingPolls: 0 }],
    ]);
    this.attempts.clear();
    this.violations = [];
    this.calls = [];
    this.failWith = undefined;
    this.delayMs = 0;
    this.pollDelayMs = 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  count(path: string, filter: (body: any) => boolean = () => true): number {
    return this.calls.filter((c) => c.path === path && filter(c.body)).length;
  }

  private newId = () => randomBytes(8).toString('hex');

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? '').replace(/^\/mfa\/v1_1/, '');
    const send = (status: number, body: unknown) => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    let body: any;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, { message: 'bad json' });
    }
    this.calls.push({ path, body });
    const isPoll = path === '/authn/verify' && Boolean(body.subjectCredentials?.[0]?.referenceId);
    const delay = this.delayMs + (isPoll ? this.pollDelayMs : 0);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (req.headers['client-key'] !== CLIENT_KEY) return send(401, { message: 'bad client key' });
    if (this.failWith) return send(this.failWith, { message: 'upstream trouble' });
    if (!req.url?.startsWith('/mfa/v1_1/')) return send(404, {});

    if (path === '/authn/cancel') return send(200, { context: {}, attemptResponseCode: 'SUCCESS', attemptReasonCode: 'USER_CANCEL' });

    const messageId = body.context?.messageId;
    if (typeof messageId !== 'string' || messageId.length < 16 || this.seenMessageIds.has(messageId)) {
      this.violations.push(`${path}: messageId missing, short or reused`);
      return send(400, { message: 'bad messageId' });
    }
    this.seenMessageIds.add(messageId);
    const reply = (attemptId: string, attempt: Attempt | undefined, code: string, extra: object = {}) => {
      const serverMessageId = this.newId();
      if (attempt) attempt.lastMessageId = serverMessageId;
      send(200, { context: { authnAttemptId: attemptId, messageId: serverMessageId, inResponseTo: messageId }, attemptResponseCode: code, attemptReasonCode: extra && 'reason' in extra ? (extra as any).reason : 'NONE', ...extra });
    };

    if (path === '/authn/initialize') {
      if (body.clientId !== 'mfa-controller') this.violations.push('initialize: wrong clientId');
      const user = this.users.get(body.subjectName);
      if (!user) return reply('', undefined, 'FAIL', { reason: 'USER_NOT_FOUND' });
      const attemptId = this.newId();
      const attempt: Attempt = { subject: body.subjectName, lastMessageId: '', referenceId: null, pollsLeft: user.pendingPolls };
      this.attempts.set(attemptId, attempt);
      return reply(attemptId, attempt, 'CHALLENGE', {
        reason: 'AUTHENTICATION_REQUIRED',
        challengeMethods: {
          challenges: [
            {
              methodSetId: 'm1',
              requiredMethods: [
                { methodId: 'SECURID', versions: [{ versionId: '1', methodAttributes: [], prompt: { promptResourceId: 'p', defaultText: 'Passcode' } }] },
                { methodId: 'APPROVE', versions: [{ versionId: '1', methodAttributes: user.push === 'NONE' ? [{ name: 'METHOD_NOT_APPLICABLE' }] : [] }] },
              ],
            },
          ],
        },
      });
    }

    if (path === '/authn/verify') {
      const attemptId = body.context?.authnAttemptId;
      const attempt = this.attempts.get(attemptId);
      if (!attempt) {
        this.violations.push('verify: unknown attempt');
        return reply(attemptId, undefined, 'ERROR', { reason: 'ATTEMPT_NOT_FOUND' });
      }
      if (body.context.inResponseTo !== attempt.lastMessageId) {
        this.violations.push('verify: inResponseTo is not the last server messageId');
        return reply(attemptId, attempt, 'ERROR', { reason: 'INVALID_MESSAGE' });
      }
      const user = this.users.get(attempt.subject)!;
      const credential = body.subjectCredentials?.[0];
      if (credential?.methodId === 'SECURID') {
        const value = credential.collectedInputs?.find((i: any) => i.name === 'SECURID')?.value;
        return reply(attemptId, attempt, value === user.tokencode ? 'SUCCESS' : 'FAIL', {
          credentialValidationResults: [{ methodId: 'SECURID', methodResponseCode: value === user.tokencode ? 'SUCCESS' : 'FAIL', methodReasonCode: 'NONE' }],
        });
      }
      if (credential?.methodId === 'APPROVE') {
        if (attempt.referenceId === null) {
          attempt.referenceId = this.newId();
          return reply(attemptId, attempt, 'IN_PROCESS', {
            credentialValidationResults: [{ methodId: 'APPROVE', methodResponseCode: 'IN_PROCESS' }],
            challengeMethods: { challenges: [{ requiredMethods: [{ methodId: 'APPROVE', versions: [{ versionId: '1', referenceId: attempt.referenceId }] }] }] },
          });
        }
        if (credential.referenceId !== attempt.referenceId) this.violations.push('poll: wrong referenceId');
        if (attempt.pollsLeft > 0) {
          attempt.pollsLeft--;
          return reply(attemptId, attempt, 'IN_PROCESS', { credentialValidationResults: [{ methodId: 'APPROVE', methodResponseCode: 'IN_PROCESS' }] });
        }
        return reply(attemptId, attempt, user.push, { reason: user.push === 'ERROR' ? 'PUSH_DELIVERY_FAILED' : 'NONE' });
      }
      return reply(attemptId, attempt, 'FAIL');
    }
    send(404, {});
  }
}

describe('RSA SecurID method', () => {
  const rsa = new FakeRsa();
  let server: TestServer;
  let token: string;
  const now = { value: Date.now() };

  const config = (overrides: Record<string, unknown> = {}) => ({
    enabled: true,
    host: rsa.url,
    accessKey: CLIENT_KEY,
    identityAttribute: 'rsaUser',
    configProperties: { clientId: 'mfa-controller' },
    ...overrides,
  });
  const putConfig = async (body: unknown) => {
    const response = await fetch(`${server.baseUrl}/v3/mfa/rsa/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const get = async (path: string) => {
    const response = await fetch(`${server.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as any };
  };
  const start = (body: unknown, prefix = '/v3') => postJson(server, `${prefix}/mfa/rsa/verify`, token, body);
  const poll = (requestId: string) => postJson(server, '/v3/mfa/rsa/poll', token, { requestId });

  before(async () => {
    await rsa.start();
    server = await startServer({ clock: { now: () => now.value } });
    token = await server.accessToken(['idn:mfa:verify', 'idn:mfa:poll', 'idn:mfa-configuration:manage']);
    await server.addIdentity('ann', { rsaUser: 'ann@corp' });
    await server.addIdentity('bob', { rsaUser: 'bob' });
    await server.addIdentity('eve', { rsaUser: 'eve' });
    await server.addIdentity('tok', { rsaUser: 'tok' });
    await server.addIdentity('ghost', { rsaUser: 'ghost@corp' });
    await server.addIdentity('noattr', {});
  });
  after(async () => {
    await server?.close();
    await rsa.close();
  });
  beforeEach(async () => {
    rsa.reset();
    now.value = Date.now();
    await putConfig(config());
  });

  it('answers an unconfigured or disabled method with 200 FAILED and says why', async () => {
    await fetch(`${server.baseUrl}/v3/mfa/rsa/delete`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    const unconfigured = await start({ userId: 'ann', method: 'APPROVE' });
    assert.equal(unconfigured.status, 200);
    assert.equal(unconfigured.body.status, 'FAILED');
    assert.match(unconfigured.body.error, /not configured/);
    await putConfig(config({ enabled: false }));
    const disabled = await start({ userId: 'ann', method: 'APPROVE' });
    assert.equal(disabled.body.status, 'FAILED');
    assert.equal(disabled.body.error, 'MFA Method is disabled.');
    assert.equal(rsa.calls.length, 0);
  });

  it('stores the configuration sealed and shows the client key masked', async () => {
    const saved = await putConfig(config({ configProperties: { clientId: 'mfa-controller', assurancePolicyId: 'pol-1' } }));
    assert.equal(saved.status, 200);
    assert.equal(saved.body.accessKey, 'r******9');
    const shown = await get('/v3/mfa/rsa/config');
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body, {
      mfaMethod: 'rsa',
      enabled: true,
      host: rsa.url,
      accessKey: 'r******9',
      identityAttribute: 'rsaUser',
      configProperties: { clientId: 'mfa-controller', assurancePolicyId: 'pol-1' },
    });
    // Echoing the masked key keeps the stored one.
    await putConfig({ ...shown.body });
    const started = await start({ userId: 'ann', method: 'APPROVE' });
    assert.equal(started.body.status, 'PENDING');
    assert.equal(rsa.calls[0]?.body.assurancePolicyId, 'pol-1');
    const refused = await putConfig(config({ configProperties: {} }));
    assert.equal(refused.status, 400);
    assert.ok(refused.body.causes.some((c: any) => /clientId/.test(c.text)));
  });

  it('runs a push approval: start PENDING, poll PENDING, poll SUCCESS, with the message chain kept', async () => {
    const started = await start({ userId: 'ann', method: 'APPROVE' });
    assert.equal(started.status, 200);
    assert.equal(started.body.status, 'PENDING');
    assert.ok(started.body.requestId);
    assert.equal(rsa.calls[0]?.body.subjectName, 'ann@corp', 'the subject comes from identityAttribute');
    const state = JSON.parse((await server.runtime.store.providerState(started.body.requestId))!);
    assert.deepEqual(Object.keys(state).sort(), ['authnAttemptId', 'messageId', 'referenceId']);

    const first = await poll(started.body.requestId);
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'PENDING');
    const second = await poll(started.body.requestId);
    assert.equal(second.body.status, 'SUCCESS');
    // Decided: later polls answer from the store without asking RSA.
    const calls = rsa.calls.length;
    const third = await poll(started.body.requestId);
    assert.equal(third.body.status, 'SUCCESS');
    assert.equal(rsa.calls.length, calls);
    assert.deepEqual(rsa.violations, []);
    assert.ok(rsa.calls.every((c) => c.path !== '/authn/initialize' || c.body.authnAttemptTimeout === 180));
  });

  it('works under /beta as well and uses the alias when no identity attribute is configured', async () => {
    await putConfig(config({ identityAttribute: null }));
    const started = await start({ userId: 'bob', method: 'APPROVE' }, '/beta');
    assert.equal(started.body.status, 'PENDING');
    assert.equal(rsa.calls[0]?.body.subjectName, 'bob');
  });

  it('reports a refused push as FAILED and an RSA error as FAILED with its reason', async () => {
    const refused = await start({ userId: 'bob', method: 'APPROVE' });
    const refusedPoll = await poll(refused.body.requestId);
    assert.equal(refusedPoll.body.status, 'FAILED');
    assert.equal(refusedPoll.body.error, RSA_ERROR_FAILED);
    const errored = await start({ userId: 'eve', method: 'APPROVE' });
    const erroredPoll = await poll(errored.body.requestId);
    assert.equal(erroredPoll.body.status, 'FAILED');
    assert.match(erroredPoll.body.error, /PUSH_DELIVERY_FAILED/);
    assert.deepEqual(rsa.violations, []);
  });

  it('fails a push start at once when RSA says APPROVE is not applicable for the user', async () => {
    const started = await start({ userId: 'tok', method: 'APPROVE' });
    assert.equal(started.body.status, 'FAILED');
    assert.match(started.body.error, /not available/);
    assert.equal(rsa.count('/authn/verify'), 0, 'no push was attempted');
  });

  it('decides a tokencode at once, records it for poll, and never stores or echoes it', async () => {
    const right = await start({ userId: 'ann', method: 'SECURID', tokencode: '12345678' });
    assert.equal(right.status, 200);
    assert.equal(right.body.status, 'SUCCESS');
    assert.equal((await poll(right.body.requestId)).body.status, 'SUCCESS');
    assert.equal(await server.runtime.store.providerState(right.body.requestId), undefined);
    const stored = await server.runtime.store.findVerification(right.body.requestId);
    assert.ok(stored && !JSON.stringify(stored).includes('12345678'));

    const wrong = await start({ userId: 'ann', method: 'SECURID', tokencode: '00000000' });
    assert.equal(wrong.body.status, 'FAILED');
    assert.equal(wrong.body.error, RSA_ERROR_FAILED);
    assert.ok(!JSON.stringify(wrong.body).includes('00000000'));
    assert.equal((await poll(wrong.body.requestId)).body.status, 'FAILED');
    assert.deepEqual(rsa.violations, []);
  });

  it('answers an unknown alias exactly as a person RSA does not know (no enumeration)', async () => {
    const unknownHere = await start({ userId: 'nobody', method: 'SECURID', tokencode: '12345678' });
    const unknownAtRsa = await start({ userId: 'ghost', method: 'SECURID', tokencode: '12345678' });
    const noAttribute = await start({ userId: 'noattr', method: 'APPROVE' });
    for (const answer of [unknownHere, unknownAtRsa, noAttribute]) {
      assert.equal(answer.status, 200);
      assert.deepEqual(Object.keys(answer.body).sort(), ['error', 'requestId', 'status']);
      assert.equal(answer.body.status, 'FAILED');
      assert.equal(answer.body.error, RSA_ERROR_FAILED);
    }
  });

  it('refuses bad input with 400 ErrorResponseDto', async () => {
    for (const body of [
      {},
      { userId: 'ann' },
      { userId: 'ann', method: 'PUSH' },
      { userId: '', method: 'APPROVE' },
      { userId: 'ann', method: 'SECURID' },
      { userId: 'ann', method: 'SECURID', tokencode: '12 34' },
      { userId: 'ann', method: 'APPROVE', tokencode: '12345678' },
      { userId: 'ann', method: 'APPROVE', extra: 1 },
      { userId: 5, method: 'APPROVE' },
    ]) {
      const answer = await start(body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.detailCode, '400.1 Bad Request Content');
      assert.ok(answer.body.trackingId);
    }
    assert.equal((await start('not json')).status, 400);
    assert.equal(rsa.calls.length, 0);
  });

  it('requires the idn:mfa:verify scope', async () => {
    const pollOnly = await server.accessToken(['idn:mfa:poll']);
    const answer = await postJson(server, '/v3/mfa/rsa/verify', pollOnly, { userId: 'ann', method: 'APPROVE' });
    assert.equal(answer.status, 403);
  });

  it('never answers 500 when RSA fails: 5xx, a refused key, or nobody listening', async () => {
    rsa.failWith = 500;
    const down = await start({ userId: 'ann', method: 'APPROVE' });
    assert.equal(down.status, 200);
    assert.equal(down.body.status, 'FAILED');
    assert.match(down.body.error, /HTTP 500/);
    assert.equal(rsa.count('/authn/initialize'), 1, 'initialize is not retried');
    rsa.failWith = undefined;

    await putConfig(config({ accessKey: 'wrong-key-0000000000' }));
    const badKey = await start({ userId: 'ann', method: 'SECURID', tokencode: '12345678' });
    assert.equal(badKey.status, 200);
    assert.match(badKey.body.error, /client key/);

    await putConfig(config({ host: 'http://127.0.0.1:1/mfa/v1_1' }));
    const unreachable = await start({ userId: 'ann', method: 'APPROVE' });
    assert.equal(unreachable.status, 200);
    assert.equal(unreachable.body.status, 'FAILED');
  });

  it('keeps a push PENDING through an RSA outage during poll, and fails it when RSA refuses the poll', async () => {
    const started = await start({ userId: 'ann', method: 'APPROVE' });
    rsa.failWith = 503;
    const during = await poll(started.body.requestId);
    assert.equal(during.status, 200);
    assert.equal(during.body.status, 'PENDING');
    assert.match(during.body.error, /HTTP 503/);
    rsa.failWith = undefined;
    // The answer to the failed poll never came, so the chain still holds.
    assert.equal((await poll(started.body.requestId)).body.status, 'PENDING');
    assert.equal((await poll(started.body.requestId)).body.status, 'SUCCESS');

    const other = await start({ userId: 'ann', method: 'APPROVE' });
    rsa.failWith = 400;
    const refused = await poll(other.body.requestId);
    assert.equal(refused.body.status, 'FAILED');
    rsa.failWith = undefined;
    assert.equal((await poll(other.body.requestId)).body.status, 'FAILED');
  });

  it('expires a push that nobody answered within the attempt timeout, without asking RSA', async () => {
    const started = await start({ userId: 'ann', method: 'APPROVE' });
    now.value += 181_000;
    const calls = rsa.calls.length;
    const answer = await poll(started.body.requestId);
    assert.equal(answer.body.status, 'FAILED');
    assert.equal(rsa.calls.length, calls);
  });

  it('shares one upstream poll among concurrent pollers of the same verification', async () => {
    rsa.users.set('ann@corp', { tokencode: '12345678', push: 'SUCCESS', pendingPolls: 0 });
    const started = await start({ userId: 'ann', method: 'APPROVE' });
    rsa.pollDelayMs = 300;
    const answers = await Promise.all(Array.from({ length: 6 }, () => poll(started.body.requestId)));
    assert.ok(answers.every((a) => a.status === 200 && a.body.status === 'SUCCESS'), JSON.stringify(answers.map((a) => a.body)));
    assert.equal(rsa.count('/authn/verify', (b) => Boolean(b.subjectCredentials?.[0]?.referenceId)), 1);
    assert.deepEqual(rsa.violations, []);
  });

  it('tests the configuration: any AuthNResponse is SUCCESS, a refused key or an outage is FAILED', async () => {
    const ok = await get('/v3/mfa/rsa/test');
    assert.deepEqual(ok.body, { state: 'SUCCESS' });
    assert.equal(rsa.calls[0]?.body.subjectName, 'mfa-controller-connection-test');

    await putConfig(config({ configProperties: { clientId: 'mfa-controller', testSubject: 'ann@corp' } }));
    rsa.calls = [];
    assert.deepEqual((await get('/v3/mfa/rsa/test')).body, { state: 'SUCCESS' });
    assert.equal(rsa.calls[0]?.body.subjectName, 'ann@corp');
    assert.equal(rsa.count('/authn/cancel'), 1, 'the probe attempt is cancelled');

    await putConfig(config({ accessKey: 'wrong-key-0000000000' }));
    const badKey = await get('/v3/mfa/rsa/test');
    assert.equal(badKey.body.state, 'FAILED');
    assert.match(badKey.body.error, /401/);

    await putConfig(config());
    rsa.failWith = 502;
    const down = await get('/v3/mfa/rsa/test');
    assert.equal(down.status, 200);
    assert.equal(down.body.state, 'FAILED');

    await putConfig(config({ host: 'http://127.0.0.1:1/mfa/v1_1' }));
    const unreachable = await get('/v3/mfa/rsa/test');
    assert.equal(unreachable.body.state, 'FAILED');
    assert.match(unreachable.body.error, /could not be reached/);
  });

  it('gives up on a slow RSA at the timeout and does not retry initialize or verify', async () => {
    const clock = { now: () => Date.now() };
    const service = new RsaService({
      store: server.runtime.store,
      clock,
      randomBytes: server.runtime.randomBytes,
      configs: new ProviderConfigs(server.runtime.store, sealerFor(server.runtime.config), clock),
      gateway: new ProviderGateway('RSA SecurID', clock, { timeoutMs: 150, retries: 2, retryDelayMs: 1, circuit: { failureThreshold: 50, coolDownMs: 1000 } }),
      fetch: providerFetch({ allowPrivateHosts: true }),
    });
    rsa.delayMs = 600;
    const started = Date.now();
    const answer = await service.start('some-client', { userId: 'ann', method: 'APPROVE' });
    assert.equal(answer.status, 'FAILED');
    assert.match(answer.error ?? '', /did not answer in time/);
    assert.ok(Date.now() - started < 1500);
    const tested = await service.test((await new ProviderConfigs(server.runtime.store, sealerFor(server.runtime.config), clock).get('rsa'))!);
    assert.deepEqual(tested.ok, false);
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(rsa.count('/authn/initialize'), 2, 'one initialize per start and per test, no retries');

    // A slow poll keeps the push pending rather than failing it.
    rsa.delayMs = 0;
    const pending = await service.start('some-client', { userId: 'ann', method: 'APPROVE' });
    assert.equal(pending.status, 'PENDING');
    rsa.pollDelayMs = 600;
    const v = (await server.runtime.store.findVerification(pending.requestId))!;
    const polled = await service.poll(v);
    assert.equal(polled.status, 'PENDING');
    assert.match(polled.error ?? '', /did not answer in time/);
  });
});

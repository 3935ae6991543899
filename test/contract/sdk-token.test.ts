// Defends drop-in compatibility: SailPoint's own TypeScript SDK, unchanged, runs the one-time token flow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Configuration, MFAControllerApi, MFAControllerBetaApi } from 'sailpoint-api-client';
import { readOutbox } from '../../src/delivery/outbox.js';
import { startServer, type TestServer } from '../helpers/server.js';

function lastTokenSentTo(entries: Array<{ to: string; body: string }>, to: string): string {
  const entry = entries.filter((e) => e.to === to).at(-1);
  const match = entry && /\b(\d{6})\b/.exec(entry.body);
  assert.ok(match?.[1], `no token in the outbox for ${to}`);
  return match[1];
}

describe('official SDK: token send, authenticate, poll', () => {
  let server: TestServer;
  let configuration: Configuration;

  before(async () => {
    server = await startServer();
    await server.addIdentity('will.albin', { email: 'will.albin@example.com' });
    const { clientId, clientSecret } = await server.client(['sp:scopes:all']);
    configuration = new Configuration({ baseurl: server.baseUrl, clientId, clientSecret, tokenUrl: `${server.baseUrl}/oauth/token` });
  });
  after(() => server.close());

  it('v3: sends by email, authenticates the token from the outbox, polls SUCCESS', async () => {
    const api = new MFAControllerApi(configuration);
    const sent = await api.createSendToken({ sendTokenRequest: { userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' } });
    assert.equal(sent.status, 200);
    assert.equal(sent.data.status, 'SUCCESS');
    assert.match(sent.data.requestId ?? '', /^[0-9a-f]{32}$/);

    const pending = await api.pingVerificationStatus({ method: 'token', verificationPollRequest: { requestId: sent.data.requestId! } });
    assert.equal(pending.data.status, 'PENDING');

    const token = lastTokenSentTo(await readOutbox(server.dataDir), 'will.albin@example.com');
    const auth = await api.sendTokenAuthRequest({ tokenAuthRequest: { token, userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' } });
    assert.deepEqual(auth.data, { status: 'SUCCESS' });

    const done = await api.pingVerificationStatus({ method: 'token', verificationPollRequest: { requestId: sent.data.requestId! } });
    assert.equal(done.data.status, 'SUCCESS');
    assert.equal(done.data.requestId, sent.data.requestId);

    const again = await api.sendTokenAuthRequest({ tokenAuthRequest: { token, userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' } });
    assert.equal(again.data.status, 'FAILED', 'a token succeeds only once');
  });

  it('beta: the same flow through MFAControllerBetaApi', async () => {
    const api = new MFAControllerBetaApi(configuration);
    const sent = await api.createSendToken({ sendTokenRequestBeta: { userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' } });
    assert.equal(sent.data.status, 'SUCCESS');
    const token = lastTokenSentTo(await readOutbox(server.dataDir), 'will.albin@example.com');
    const auth = await api.sendTokenAuthRequest({ tokenAuthRequestBeta: { token, userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' } });
    assert.equal(auth.data.status, 'SUCCESS');
    const done = await api.pingVerificationStatus({ method: 'token', verificationPollRequestBeta: { requestId: sent.data.requestId! } });
    assert.equal(done.data.status, 'SUCCESS');
  });

  it('answers a wrong token FAILED and keeps the verification PENDING', async () => {
    const api = new MFAControllerApi(configuration);
    const sent = await api.createSendToken({ sendTokenRequest: { userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' } });
    const token = lastTokenSentTo(await readOutbox(server.dataDir), 'will.albin@example.com');
    const wrong = token === '000000' ? '000001' : '000000';
    const auth = await api.sendTokenAuthRequest({ tokenAuthRequest: { token: wrong, userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' } });
    assert.equal(auth.data.status, 'FAILED');
    const poll = await api.pingVerificationStatus({ method: 'token', verificationPollRequest: { requestId: sent.data.requestId! } });
    assert.equal(poll.data.status, 'PENDING');
  });

  it('rejects a call without a token with the spec 401 body', async () => {
    const api = new MFAControllerApi(new Configuration({ baseurl: server.baseUrl, accessToken: 'not-a-jwt' }));
    await assert.rejects(
      api.createSendToken({ sendTokenRequest: { userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' } }),
      (err: any) => err.response?.status === 401 && typeof err.response.data.error === 'string' && err.response.data.error.startsWith('JWT validation failed'),
    );
  });
});

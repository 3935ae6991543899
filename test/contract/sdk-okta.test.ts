// Defends drop-in compatibility: SailPoint's own TypeScript SDK, unchanged, configures, tests and uses
// the Okta Verify method against a local server speaking Okta's API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Configuration, MFAConfigurationApi, MFAControllerApi, MFAControllerBetaApi } from 'sailpoint-api-client';
import { startServer, type TestServer } from '../helpers/server.js';
import { startFakeOkta, type FakeOkta } from '../providers/okta-fake.js';

describe('official SDK: Okta Verify configuration, push and poll', () => {
  let server: TestServer;
  let okta: FakeOkta;
  let configuration: Configuration;

  before(async () => {
    okta = await startFakeOkta();
    server = await startServer({ env: { MFA_OKTA_POLL_CACHE_MS: '0' } });
    const { clientId, clientSecret } = await server.client(['sp:scopes:all']);
    configuration = new Configuration({ baseurl: server.baseUrl, clientId, clientSecret, tokenUrl: `${server.baseUrl}/oauth/token` });
  });
  after(async () => {
    await server.close();
    await okta.close();
  });

  it('sets, reads (masked), tests and deletes the Okta configuration', async () => {
    const config = new MFAConfigurationApi(configuration);
    const saved = await config.setMFAOktaConfig({
      mfaOktaConfig: { mfaMethod: 'okta-verify', enabled: true, host: okta.url, accessKey: okta.token, identityAttribute: 'email' },
    });
    assert.equal(saved.status, 200);
    const read = await config.getMFAOktaConfig();
    assert.equal(read.data.host, okta.url);
    assert.equal(read.data.identityAttribute, 'email');
    assert.notEqual(read.data.accessKey, okta.token);
    assert.equal(read.data.accessKey, `${okta.token[0]}******${okta.token.at(-1)}`);

    const tested = await config.testMFAConfig({ method: 'okta-verify' });
    assert.deepEqual(tested.data, { state: 'SUCCESS' });

    const removed = await config.deleteMFAConfig({ method: 'okta-verify' });
    assert.equal(removed.data.mfaMethod, 'okta-verify');
    assert.equal((await config.getMFAOktaConfig()).data.enabled, false);
    assert.equal((await config.testMFAConfig({ method: 'okta-verify' })).data.state, 'FAILED');
  });

  it('v3 and beta: sendOktaVerifyRequest with slpt-forwarding, then pingVerificationStatus to SUCCESS', async () => {
    const config = new MFAConfigurationApi(configuration);
    // Round-trips the masked accessKey: the stored token is kept.
    await config.setMFAOktaConfig({ mfaOktaConfig: { mfaMethod: 'okta-verify', enabled: true, host: okta.url, accessKey: okta.token, identityAttribute: 'email' } });
    const masked = (await config.getMFAOktaConfig()).data;
    await config.setMFAOktaConfig({ mfaOktaConfig: masked });

    okta.addUser('will.albin@example.com');
    okta.script('will.albin@example.com', ['WAITING', 'SUCCESS']);
    const headers = { headers: { 'slpt-forwarding': '198.51.100.23' } };

    const api = new MFAControllerApi(configuration);
    const sent = await api.sendOktaVerifyRequest({ oktaVerificationRequest: { userId: 'will.albin@example.com' } }, headers);
    assert.equal(sent.status, 200);
    assert.equal(sent.data.status, 'PENDING');
    assert.equal(okta.calls.at(-1)?.headers['x-forwarded-for'], '198.51.100.23');
    const requestId = sent.data.requestId!;
    assert.equal((await api.pingVerificationStatus({ method: 'okta-verify', verificationPollRequest: { requestId } })).data.status, 'PENDING');
    assert.equal((await api.pingVerificationStatus({ method: 'okta-verify', verificationPollRequest: { requestId } })).data.status, 'SUCCESS');

    const beta = new MFAControllerBetaApi(configuration);
    const betaSent = await beta.sendOktaVerifyRequest({ oktaVerificationRequestBeta: { userId: 'will.albin@example.com' } }, headers);
    assert.equal(betaSent.data.status, 'PENDING');
    const betaPoll = await beta.pingVerificationStatus({ method: 'okta-verify', verificationPollRequestBeta: { requestId: betaSent.data.requestId! } });
    assert.equal(betaPoll.data.status, 'PENDING');
  });

  it('without slpt-forwarding the SDK call is refused with 400', async () => {
    const api = new MFAControllerApi(configuration);
    await assert.rejects(
      api.sendOktaVerifyRequest({ oktaVerificationRequest: { userId: 'will.albin@example.com' } }),
      (err: any) => err.response?.status === 400 && /slpt-forwarding/.test(err.response.data.messages[0].text),
    );
  });
});

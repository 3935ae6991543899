// Defends drop-in compatibility: SailPoint's own TypeScript SDK, unchanged, configures Duo Web, tests the
// configuration against (a local stand-in for) Duo, verifies a Duo response, polls it and deletes the
// configuration, through the v3 and the beta classes.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Configuration, MFAConfigurationApi, MFAConfigurationBetaApi, MFAControllerApi, MFAControllerBetaApi } from 'sailpoint-api-client';
import { signRequest, signVals } from '../../src/core/duo-web.js';
import { startServer, type TestServer } from '../helpers/server.js';

const IKEY = 'DIXXXXXXXXXXXXXXXXXX';
const SKEY = 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef';
const AKEY = 'useacustomerprovidedapplicationsecretkey';

/** Duo's /auth/v2/check, checking the request signature (GET, no parameters). */
async function startDuoCheck(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const canon = [req.headers.date ?? '', 'GET', (req.headers.host ?? '').toLowerCase(), '/auth/v2/check', ''].join('\n');
    const expected = `Basic ${Buffer.from(`${IKEY}:${createHmac('sha1', SKEY).update(canon).digest('hex')}`).toString('base64')}`;
    const ok = req.method === 'GET' && req.url === '/auth/v2/check' && req.headers.authorization === expected;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { stat: 'OK', response: { time: Math.floor(Date.now() / 1000) } } : { stat: 'FAIL', code: 40103, message: 'Invalid signature in request credentials' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let second = 0;
/** A response as the Duo prompt returns it, each one signed a different second (see duo-verify.test.ts). */
function duoResponse(user: string): string {
  const at = Math.floor(Date.now() / 1000) - second++;
  return `${signVals(SKEY, user, IKEY, 'AUTH', 300, at)}:${signRequest(IKEY, SKEY, AKEY, user, at).split(':')[1]}`;
}

describe('official SDK: Duo Web configuration, test, verify, poll, delete', () => {
  let server: TestServer;
  let duo: { url: string; close(): Promise<void> };
  let configuration: Configuration;

  before(async () => {
    server = await startServer();
    duo = await startDuoCheck();
    await server.addIdentity('will.albin', { email: 'will.albin@example.com', duoUser: 'walbin' });
    const { clientId, clientSecret } = await server.client(['sp:scopes:all']);
    configuration = new Configuration({ baseurl: server.baseUrl, clientId, clientSecret, tokenUrl: `${server.baseUrl}/oauth/token` });
  });
  after(async () => {
    await duo.close();
    await server.close();
  });

  it('v3: setMFADuoConfig, getMFADuoConfig (masked), testMFAConfig, sendDuoVerifyRequest, pingVerificationStatus, deleteMFAConfig', async () => {
    const config = new MFAConfigurationApi(configuration);
    const controller = new MFAControllerApi(configuration);

    const set = await config.setMFADuoConfig({
      mfaDuoConfig: { mfaMethod: 'duo-web', enabled: true, host: duo.url, accessKey: AKEY, identityAttribute: 'duoUser', configProperties: { ikey: IKEY, skey: SKEY } },
    });
    assert.equal(set.status, 200);
    assert.equal(set.data.accessKey, 'u******y');
    assert.deepEqual(set.data.configProperties, { ikey: IKEY, skey: 'd******f' });

    const read = await config.getMFADuoConfig();
    assert.deepEqual(read.data, set.data);

    const tested = await config.testMFAConfig({ method: 'duo-web' });
    assert.equal(tested.data.state, 'SUCCESS');

    const verified = await controller.sendDuoVerifyRequest({ duoVerificationRequest: { userId: 'will.albin', signedResponse: duoResponse('walbin') } });
    assert.equal(verified.status, 200);
    assert.equal(verified.data.status, 'SUCCESS');
    assert.match(verified.data.requestId ?? '', /^[0-9a-f]{32}$/);

    const polled = await controller.pingVerificationStatus({ method: 'duo-web', verificationPollRequest: { requestId: verified.data.requestId! } });
    assert.equal(polled.data.status, 'SUCCESS');
    assert.equal(polled.data.requestId, verified.data.requestId);

    const refused = await controller.sendDuoVerifyRequest({ duoVerificationRequest: { userId: 'will.albin', signedResponse: duoResponse('someoneelse') } });
    assert.equal(refused.data.status, 'FAILED');

    const deleted = await config.deleteMFAConfig({ method: 'duo-web' });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.data.accessKey, 'u******y');
    const after = await config.getMFADuoConfig();
    assert.equal(after.data.enabled, false);
  });

  it('beta: the same calls through MFAConfigurationBetaApi and MFAControllerBetaApi', async () => {
    const config = new MFAConfigurationBetaApi(configuration);
    const controller = new MFAControllerBetaApi(configuration);

    await config.setMFADuoConfig({
      mfaDuoConfigBeta: { mfaMethod: 'duo-web', enabled: true, host: duo.url, accessKey: AKEY, identityAttribute: 'duoUser', configProperties: { ikey: IKEY, skey: SKEY } },
    });
    assert.equal((await config.getMFADuoConfig()).data.configProperties?.['skey'], 'd******f');
    assert.equal((await config.testMFAConfig({ method: 'duo-web' })).data.state, 'SUCCESS');

    const verified = await controller.sendDuoVerifyRequest({ duoVerificationRequestBeta: { userId: 'will.albin', signedResponse: duoResponse('walbin') } });
    assert.equal(verified.data.status, 'SUCCESS');
    const polled = await controller.pingVerificationStatus({ method: 'duo-web', verificationPollRequestBeta: { requestId: verified.data.requestId! } });
    assert.equal(polled.data.status, 'SUCCESS');

    assert.equal((await config.deleteMFAConfig({ method: 'duo-web' })).status, 200);
    const unconfigured = await controller.sendDuoVerifyRequest({ duoVerificationRequestBeta: { userId: 'will.albin', signedResponse: duoResponse('walbin') } });
    assert.deepEqual([unconfigured.data.status, unconfigured.data.error], ['FAILED', 'MFA method duo-web is not configured.']);
  });
});

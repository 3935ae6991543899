// Defends TOTP's fit with SailPoint's own TypeScript SDK, unchanged: the SDK has no authenticator-app calls
// (they are this service's extension), but its poll reaches TOTP checks like any method's, and its own
// access tokens work on the TOTP calls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Configuration, MFAControllerApi, MFAControllerBetaApi, type PingVerificationStatusMethodBeta, type PingVerificationStatusMethodV3 } from 'sailpoint-api-client';
import { startServer, type TestServer } from '../helpers/server.js';
import { appCode, steppedClock, totpCalls } from '../helpers/totp.js';

/** The SDK's type lists the spec's five methods; the value is sent as given in the path. */
const TOTP = 'totp' as PingVerificationStatusMethodV3;

describe('official SDK: poll of TOTP checks', () => {
  let server: TestServer;
  let configuration: Configuration;
  let token: string;
  const clock = steppedClock();

  before(async () => {
    server = await startServer({ clock });
    await server.addIdentity('will.albin', { email: 'will.albin@example.com' });
    const { clientId, clientSecret } = await server.client(['sp:scopes:all']);
    configuration = new Configuration({ baseurl: server.baseUrl, clientId, clientSecret, tokenUrl: `${server.baseUrl}/oauth/token` });
    token = await server.tokenOf(clientId, clientSecret);
  });
  after(() => server.close());

  it('v3 and beta: a TOTP check made over HTTP is reported by the SDK\'s pingVerificationStatus', async () => {
    const api = totpCalls(server, token);
    const secret = await api.register('will.albin', clock.now());
    clock.advance(30_000);
    const checked = await api.authenticate('will.albin', appCode(secret, clock.now()));
    assert.equal(checked.body.status, 'SUCCESS');

    const v3 = await new MFAControllerApi(configuration).pingVerificationStatus({ method: TOTP, verificationPollRequest: { requestId: checked.body.requestId } });
    assert.deepEqual(v3.data, { requestId: checked.body.requestId, status: 'SUCCESS', error: null });
    const beta = await new MFAControllerBetaApi(configuration).pingVerificationStatus({ method: TOTP as PingVerificationStatusMethodBeta, verificationPollRequestBeta: { requestId: checked.body.requestId } });
    assert.equal(beta.data.status, 'SUCCESS');

    const replay = await api.authenticate('will.albin', appCode(secret, clock.now()));
    const polled = await new MFAControllerApi(configuration).pingVerificationStatus({ method: TOTP, verificationPollRequest: { requestId: replay.body.requestId } });
    assert.equal(polled.data.status, 'FAILED', 'the replay is on record as refused');
  });
});

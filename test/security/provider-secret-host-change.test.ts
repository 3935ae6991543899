// Defends provider secrets against being redirected: someone who may change the provider configuration
// but does not know its secrets changes only the host and echoes the masked secrets, so that the next
// test or verification sends the stored API token / secret key / client key to a host they control.
// A PUT that changes the host must carry every secret in full; a masked echo is a 400 naming the fields.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { sealerFor } from '../../src/runtime.js';
import { ProviderConfigs } from '../../src/services/provider-configs.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

const SKEY = 'S'.repeat(20) + 'k'.repeat(19) + 'Z';
const AKEY = 'A'.repeat(39) + 'x' + 'useacustomerprovided';
const OKTA_TOKEN = '00Okta-Api-Token-Very-Secret-Value-1234';
const RSA_KEY = 'rsa-client-key-very-secret-0001';

/** A host that records every request it receives (headers carry the secrets). */
async function listener(): Promise<{ url: string; seen: IncomingHttpHeaders[]; close(): Promise<void> }> {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('[]');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function call(server: TestServer, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const causes = (body: { causes: Array<{ text: string }> }) => body.causes.map((c) => c.text).join('\n');

describeEachDatabase('a stored provider secret never follows a host change', ({ postgres }) => {
  let server: TestServer;
  let manage: string;
  let owner: Awaited<ReturnType<typeof listener>>;
  let attacker: Awaited<ReturnType<typeof listener>>;
  before(async () => {
    server = await startServer({ postgres });
    manage = await server.accessToken(['idn:mfa-configuration:manage']);
    owner = await listener();
    attacker = await listener();
  });
  after(async () => {
    await owner.close();
    await attacker.close();
    await server.close();
  });

  it('Okta: a masked API token with a new host is refused, and the token keeps going only to its own host', async () => {
    const put = await call(server, 'PUT', '/v3/mfa/okta-verify/config', manage, { enabled: true, host: owner.url, accessKey: OKTA_TOKEN, identityAttribute: 'email' });
    assert.equal(put.status, 200);
    const read = await call(server, 'GET', '/v3/mfa/okta-verify/config', manage);

    const moved = await call(server, 'PUT', '/v3/mfa/okta-verify/config', manage, { ...read.body, host: attacker.url });
    assert.equal(moved.status, 400);
    assert.equal(moved.body.detailCode, '400.1 Bad Request Content');
    assert.match(causes(moved.body), /^accessKey: the host changed, so the secret must be sent in full/m);
    assert.equal((await server.runtime.store.findProviderConfig('okta-verify'))?.host, owner.url, 'nothing was saved');

    const test = await call(server, 'GET', '/v3/mfa/okta-verify/test', manage);
    assert.equal(test.body.state, 'SUCCESS');
    assert.equal(attacker.seen.length, 0, 'the attacker host was never called');
    assert.equal(owner.seen.at(-1)?.authorization, `SSWS ${OKTA_TOKEN}`);
  });

  it('Duo: both the application key and the secret key are named when echoed masked to a new host', async () => {
    const duo = { enabled: true, host: 'api-123456.duosecurity.com', accessKey: AKEY, identityAttribute: 'email', configProperties: { ikey: 'DIXXXXXXXXXXXXXXXXXX', skey: SKEY } };
    assert.equal((await call(server, 'PUT', '/v3/mfa/duo-web/config', manage, duo)).status, 200);
    const read = await call(server, 'GET', '/beta/mfa/duo-web/config', manage);
    const moved = await call(server, 'PUT', '/beta/mfa/duo-web/config', manage, { ...read.body, host: 'api-evil.example.com' });
    assert.equal(moved.status, 400);
    assert.match(causes(moved.body), /^accessKey: the host changed/m);
    assert.match(causes(moved.body), /^configProperties\.skey: the host changed/m);

    // Only the secret sent masked is named; sending the other in full is not enough.
    const half = await call(server, 'PUT', '/v3/mfa/duo-web/config', manage, { ...read.body, host: 'api-evil.example.com', accessKey: AKEY });
    assert.equal(half.status, 400);
    assert.doesNotMatch(causes(half.body), /^accessKey/m);
    assert.match(causes(half.body), /^configProperties\.skey/m);

    // Whoever knows every secret may move the configuration.
    const full = await call(server, 'PUT', '/v3/mfa/duo-web/config', manage, { ...duo, host: 'api-654321.duosecurity.com' });
    assert.equal(full.status, 200);
  });

  it('RSA: a new port or path on the API URL is a new destination too', async () => {
    const rsa = { enabled: true, host: 'https://rsa.example.com/mfa/v1_1', accessKey: RSA_KEY, identityAttribute: null, configProperties: { clientId: 'mfa-controller' } };
    assert.equal((await call(server, 'PUT', '/v3/mfa/rsa/config', manage, rsa)).status, 200);
    const read = await call(server, 'GET', '/v3/mfa/rsa/config', manage);
    for (const host of ['https://rsa.example.com:8443/mfa/v1_1', 'https://rsa.example.com.evil.example/mfa/v1_1', 'rsa.example.com']) {
      const moved = await call(server, 'PUT', '/v3/mfa/rsa/config', manage, { ...read.body, host });
      assert.equal(moved.status, 400, host);
      assert.match(causes(moved.body), /^accessKey: the host changed/m);
    }
  });

  it('a masked echo to the same host (case and a trailing slash aside) still keeps the secret', async () => {
    const read = await call(server, 'GET', '/v3/mfa/rsa/config', manage);
    const same = await call(server, 'PUT', '/v3/mfa/rsa/config', manage, { ...read.body, host: 'HTTPS://RSA.example.com/mfa/v1_1/', enabled: false });
    assert.equal(same.status, 200);
    const configs = new ProviderConfigs(server.runtime.store, sealerFor(server.runtime.config), server.runtime.clock);
    assert.equal((await configs.get('rsa'))?.accessKey, RSA_KEY, 'the stored key, not its mask');
  });
});

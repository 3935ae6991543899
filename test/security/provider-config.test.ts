// Defends provider secrets: sealed at rest, never returned in clear, kept when a client echoes the
// masked value, openable after the master secret rotates, and a clear answer for unconfigured methods.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { rm } from 'node:fs/promises';
import { createRuntime, sealerFor } from '../../src/runtime.js';
import { ProviderConfigs } from '../../src/services/provider-configs.js';
import { loadConfig } from '../../src/config.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

const SKEY = 'S'.repeat(20) + 'k'.repeat(19) + 'Z';
const AKEY = 'A'.repeat(39) + 'x' + 'useacustomerprovided';
const OKTA_TOKEN = '00Okta-Api-Token-Very-Secret-Value-1234';

async function call(server: TestServer, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
}

const duoConfig = {
  mfaMethod: 'duo-web',
  enabled: true,
  host: 'api-123456.duosecurity.com',
  accessKey: AKEY,
  identityAttribute: 'email',
  configProperties: { ikey: 'DIXXXXXXXXXXXXXXXXXX', skey: SKEY },
};

describeEachDatabase('provider configuration', ({ postgres }) => {
  let server: TestServer;
  let manage: string;
  before(async () => {
    server = await startServer({ postgres });
    manage = await server.accessToken(['idn:mfa-configuration:manage']);
  });
  after(() => server.close());

  it('an unconfigured method reads as disabled, tests FAILED, and deletes with 404', async () => {
    const read = await call(server, 'GET', '/v3/mfa/okta-verify/config', manage);
    assert.deepEqual(read.body, { mfaMethod: 'okta-verify', enabled: false, host: null, accessKey: null, identityAttribute: null });
    const test = await call(server, 'GET', '/v3/mfa/okta-verify/test', manage);
    assert.deepEqual(test.body, { state: 'FAILED', error: 'MFA method okta-verify is not configured.' });
    const removed = await call(server, 'DELETE', '/v3/mfa/okta-verify/delete', manage);
    assert.equal(removed.status, 404);
    assert.equal(removed.body.detailCode, '404 Not found');
  });

  it('secrets come back masked as the spec shows them, and a masked echo keeps them', async () => {
    const put = await call(server, 'PUT', '/v3/mfa/duo-web/config', manage, duoConfig);
    assert.equal(put.status, 200);
    assert.equal(put.body.accessKey, `${AKEY[0]}******${AKEY.at(-1)}`);
    assert.deepEqual(put.body.configProperties, { ikey: 'DIXXXXXXXXXXXXXXXXXX', skey: 'S******Z' });
    assert.ok(!put.text.includes(SKEY) && !put.text.includes(AKEY));

    const read = await call(server, 'GET', '/beta/mfa/duo-web/config', manage);
    const echoed = await call(server, 'PUT', '/v3/mfa/duo-web/config', manage, { ...read.body, identityAttribute: 'duoUser' });
    assert.equal(echoed.status, 200);
    const stored = await server.runtime.store.findProviderConfig('duo-web');
    assert.equal(stored?.identityAttribute, 'duoUser');
    assert.ok(!JSON.stringify(stored).includes(SKEY), 'the stored row holds the secrets sealed');
    const opened = await server.runtime.app.inject({ method: 'GET', url: '/v3/mfa/duo-web/config', headers: { authorization: `Bearer ${manage}` } });
    assert.equal(JSON.parse(opened.body).configProperties.skey, 'S******Z', 'the echoed mask did not replace the secret');
  });

  it('an enabled method missing what it needs is refused with every reason', async () => {
    const answer = await call(server, 'PUT', '/v3/mfa/okta-verify/config', manage, { enabled: true, host: 'example.okta.com' });
    assert.equal(answer.status, 400);
    assert.ok(answer.body.causes.some((c: { text: string }) => /accessKey/.test(c.text)));
    assert.ok(answer.body.causes.some((c: { text: string }) => /identityAttribute/.test(c.text)));
    const wrongMethod = await call(server, 'PUT', '/v3/mfa/okta-verify/config', manage, { mfaMethod: 'duo-web' });
    assert.equal(wrongMethod.status, 400);
  });

  it('delete answers the removed configuration, masked, in the MfaOktaConfig shape', async () => {
    await call(server, 'PUT', '/v3/mfa/okta-verify/config', manage, { enabled: true, host: 'example.okta.com', accessKey: OKTA_TOKEN, identityAttribute: 'email' });
    const removed = await call(server, 'DELETE', '/v3/mfa/okta-verify/delete', manage);
    assert.deepEqual(removed.body, { mfaMethod: 'okta-verify', enabled: true, host: 'example.okta.com', accessKey: '0******4', identityAttribute: 'email' });
    assert.equal((await call(server, 'GET', '/v3/mfa/okta-verify/config', manage)).body.enabled, false);
  });

  it('reading needs a configuration scope; writing needs manage', async () => {
    const read = await server.accessToken(['idn:mfa-configuration:read']);
    assert.equal((await call(server, 'GET', '/v3/mfa/duo-web/config', read)).status, 200);
    assert.equal((await call(server, 'PUT', '/v3/mfa/duo-web/config', read, duoConfig)).status, 403);
    const other = await server.accessToken(['idn:mfa:send']);
    assert.equal((await call(server, 'GET', '/v3/mfa/duo-web/config', other)).status, 403);
  });
});

it('provider secrets survive a rotation of the master secret listed in MFA_PREVIOUS_SECRETS, and never sit in the file in clear', async () => {
  const server = await startServer();
  const manage = await server.accessToken(['idn:mfa-configuration:manage']);
  await call(server, 'PUT', '/v3/mfa/duo-web/config', manage, duoConfig);
  await server.runtime.close();
  for (const file of readdirSync(server.dataDir)) {
    const bytes = readFileSync(join(server.dataDir, file));
    assert.ok(!bytes.includes(SKEY) && !bytes.includes(AKEY), `${file} holds a provider secret in clear`);
  }
  const rotated = await createRuntime(
    loadConfig({ MFA_DATA_DIR: server.dataDir, MFA_PORT: '0', MFA_SECRET: 'b'.repeat(64), MFA_PREVIOUS_SECRETS: 'a'.repeat(64) }),
    { logger: false },
  );
  try {
    const config = await rotated.store.findProviderConfig('duo-web');
    assert.ok(config);
    const configs = new ProviderConfigs(rotated.store, sealerFor(rotated.config), rotated.clock);
    assert.equal((await configs.get('duo-web'))?.configProperties['skey'], SKEY);
  } finally {
    await rotated.close();
    await rm(server.dataDir, { recursive: true, force: true });
  }
});

// Defends compatibility with SailPoint's versioned MFA Configuration API v1 (api-specs
// idn/apis/mfa-configuration): its seven operations answer at /mfa/v1/... with the controller's handlers
// and scopes, and /openapi.json describes them with the v1 operationIds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONFIGURATION_V1_OPERATIONS, configurationV1Path } from '../../src/http/openapi.js';
import { officialOperation } from '../../src/http/spec.js';
import { postJson, startServer, type TestServer } from '../helpers/server.js';

const OKTA = { mfaMethod: 'okta-verify', enabled: true, host: 'https://example.okta.com', accessKey: '00abcdefghijklmnopqrstuvwxyz0123456789ABCD', identityAttribute: 'email' };
const DUO = {
  mfaMethod: 'duo-web',
  enabled: false,
  host: 'api-1234abcd.duosecurity.com',
  accessKey: 'useacustomerprovidedapplicationsecretkey-42',
  identityAttribute: 'duoUser',
  configProperties: { ikey: 'DIXXXXXXXXXXXXXXXXXX', skey: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef' },
};

describe('MFA Configuration API v1', () => {
  let server: TestServer;
  let manage: string;
  let read: string;
  let verifyOnly: string;

  async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  async function personalToken(alias: string): Promise<string> {
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    return (await server.personalClient(alias)).token();
  }

  before(async () => {
    server = await startServer({ env: { MFA_KBA_ARGON2_MEMORY_KIB: '1024', MFA_KBA_ARGON2_TIME_COST: '1', MFA_KBA_MIN_ANSWERS: '2' } });
    manage = await server.accessToken(['idn:mfa-configuration:manage']);
    read = await server.accessToken(['idn:mfa-configuration:read']);
    verifyOnly = await server.accessToken(['idn:mfa:verify']);
    const now = Date.now();
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?', fr: 'Premier animal ?' }, createdAt: now });
    await server.runtime.store.putQuestion({ id: 'city', texts: { '': 'City of birth?' }, createdAt: now + 1 });
  });
  after(() => server.close());

  it('/openapi.json describes the seven operations at /mfa/v1 with the V1 operationIds', async () => {
    const document = (await call('GET', '/openapi.json', undefined)).body;
    const ids: string[] = [];
    for (const [path, method] of CONFIGURATION_V1_OPERATIONS) {
      const served = document.paths[configurationV1Path(path)]?.[method];
      assert.ok(served, `${method} ${configurationV1Path(path)} is not described`);
      const official = officialOperation(path, method);
      assert.deepEqual(served, { ...official, operationId: `${String(official['operationId'])}V1` });
      ids.push(served.operationId);
    }
    assert.deepEqual(ids.sort(), ['getMFADuoConfigV1', 'getMFAKbaConfigV1', 'getMFAOktaConfigV1', 'setMFADuoConfigV1', 'setMFAKBAConfigV1', 'setMFAOktaConfigV1', 'testMFAConfigV1']);
    assert.equal(document.paths['/mfa/v1/{method}/delete'], undefined, 'v1 has no delete');
  });

  it('provider configuration: what v1 writes, v3 reads, and the other way round', async () => {
    const putV1 = await call('PUT', '/mfa/v1/okta-verify/config', manage, OKTA);
    assert.equal(putV1.status, 200, JSON.stringify(putV1.body));
    assert.notEqual(putV1.body.accessKey, OKTA.accessKey, 'the secret is masked');
    assert.deepEqual((await call('GET', '/v3/mfa/okta-verify/config', read)).body, putV1.body);
    assert.deepEqual((await call('GET', '/mfa/v1/okta-verify/config', read)).body, putV1.body);

    const putV3 = await call('PUT', '/v3/mfa/duo-web/config', manage, DUO);
    assert.equal(putV3.status, 200, JSON.stringify(putV3.body));
    assert.deepEqual((await call('GET', '/mfa/v1/duo-web/config', manage)).body, putV3.body);
  });

  it('the same scopes: no token 401, a token without the scope 403, read cannot write', async () => {
    assert.equal((await call('GET', '/mfa/v1/okta-verify/config', undefined)).status, 401);
    const wrongScope = await call('GET', '/mfa/v1/duo-web/config', verifyOnly);
    assert.equal(wrongScope.status, 403);
    assert.equal(wrongScope.body.detailCode, '403 Forbidden');
    assert.equal((await call('PUT', '/mfa/v1/duo-web/config', read, DUO)).status, 403);
    assert.equal((await call('GET', '/mfa/v1/okta-verify/test', verifyOnly)).status, 403);
  });

  it('test answers for okta-verify and duo-web, and refuses other methods with 400', async () => {
    const duo = await call('GET', '/mfa/v1/duo-web/test', read);
    assert.deepEqual([duo.status, duo.body.state], [200, 'FAILED']);
    assert.match(duo.body.error, /disabled/i);
    const rsa = await call('GET', '/mfa/v1/rsa/test', read);
    assert.equal(rsa.status, 400);
    assert.equal(rsa.body.detailCode, '400.1 Bad Request Content');
  });

  it('KBA: an identity reads the catalog and enrols through v1; its answers then verify', async () => {
    const token = await personalToken('v1.kba.user');
    const catalog = await call('GET', '/mfa/v1/kba/config?allLanguages=true', token);
    assert.equal(catalog.status, 200);
    assert.deepEqual(
      catalog.body.map((q: { id: string; hasAnswer: boolean }) => [q.id, q.hasAnswer]),
      [['pet', false], ['city', false]],
    );
    const enrolled = await call('POST', '/mfa/v1/kba/config/answers', token, [{ id: 'pet', answer: 'Rex' }, { id: 'city', answer: 'Lisbon' }]);
    assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
    assert.deepEqual(enrolled.body.map((q: { id: string; hasAnswer: boolean }) => [q.id, q.hasAnswer]), [['pet', true], ['city', true]]);
    const check = await postJson(server, '/v3/mfa/kba/authenticate', token, [{ id: 'pet', answer: 'rex' }, { id: 'city', answer: 'lisbon' }]);
    assert.equal(check.body.status, 'SUCCESS');
    // A service token acts for no identity, as under /v3.
    assert.equal((await call('GET', '/mfa/v1/kba/config', await server.accessToken(['idn:mfa-kba:read']))).status, 403);
  });

  it('serves only the configuration API under /mfa/v1', async () => {
    const bearer = await server.accessToken(['sp:scopes:all']);
    for (const [method, path] of [['POST', '/mfa/v1/token/send'], ['DELETE', '/mfa/v1/okta-verify/delete'], ['GET', '/mfa/v1/rsa/config'], ['POST', '/mfa/v1/kba/authenticate']] as const) {
      const answer = await call(method, path, bearer, method === 'POST' ? {} : undefined);
      assert.equal(answer.status, 404, `${method} ${path}`);
    }
  });
});

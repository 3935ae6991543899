// Defends against server-side request forgery through provider hosts: someone who may set a provider's
// host points it at this service's loopback, the private network or the cloud metadata address (by an
// IP literal, a name that resolves there, or a redirect from a host they control) and reads what
// answers through the provider test's error text. Hosts must be https to a public address unless
// MFA_ALLOW_PRIVATE_PROVIDER_HOSTS opts in, the address is checked where the connection is made,
// redirects are not followed, and a provider's own text never reaches the caller (only the log).
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DuoAuthApi } from '../../src/providers/duo/auth-api.js';
import { ProviderGateway } from '../../src/providers/gateway.js';
import { ProviderTransportError, providerFetch } from '../../src/providers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const AKEY = 'A'.repeat(40);
const SKEY = 'S'.repeat(40);
const IKEY = 'DIXXXXXXXXXXXXXXXXXX';
const MARKER = 'secret-internal-page-7f3a9c';

/** A TCP listener on 127.0.0.1 that only counts connections: a refused connect never reaches it. */
async function connectionCounter(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let count = 0;
  const server = createTcpServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An HTTP server answering every request with what `answer` says, counting requests. */
async function scripted(): Promise<{ url: string; requests: () => number; answer: { status: number; body: string; headers?: Record<string, string> }; close(): Promise<void> }> {
  let requests = 0;
  const state = {
    url: '',
    requests: () => requests,
    answer: { status: 200, body: '{}' } as { status: number; body: string; headers?: Record<string, string> },
    close: async () => undefined,
  };
  const server: Server = createHttpServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(state.answer.status, { 'content-type': 'application/json', ...state.answer.headers });
    res.end(state.answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

async function call(server: TestServer, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

const oktaConfig = (host: string) => ({ enabled: true, host, accessKey: 'okta-token-000000000000', identityAttribute: 'email' });
const duoConfig = (host: string) => ({ enabled: true, host, accessKey: AKEY, identityAttribute: 'email', configProperties: { ikey: IKEY, skey: SKEY } });
const rsaConfig = (host: string) => ({ enabled: true, host, accessKey: 'rsa-client-key-000000', identityAttribute: null, configProperties: { clientId: 'mfa-controller' } });

describe('MFA_ALLOW_PRIVATE_PROVIDER_HOSTS', () => {
  it('is off unless set, and only true or false', () => {
    assert.equal(loadConfig({}).allowPrivateProviderHosts, false);
    assert.equal(loadConfig({ MFA_ALLOW_PRIVATE_PROVIDER_HOSTS: 'true' }).allowPrivateProviderHosts, true);
    assert.throws(() => loadConfig({ MFA_ALLOW_PRIVATE_PROVIDER_HOSTS: 'sometimes' }), (err: Error) => err instanceof ConfigError && err.message.startsWith('MFA_ALLOW_PRIVATE_PROVIDER_HOSTS'));
  });
});

describe('without the opt-in, providers are https on public addresses only', () => {
  let server: TestServer;
  let manage: string;
  let local: Awaited<ReturnType<typeof connectionCounter>>;
  before(async () => {
    server = await startServer({ env: { MFA_ALLOW_PRIVATE_PROVIDER_HOSTS: 'false' } });
    manage = await server.accessToken(['idn:mfa-configuration:manage', 'idn:mfa:verify']);
    local = await connectionCounter();
  });
  after(async () => {
    await local.close();
    await server.close();
  });

  it('a PUT naming plain http or a non-public IP literal answers 400 naming host', async () => {
    const hosts = [
      'http://example.okta.com',
      '127.0.0.1',
      'https://127.0.0.1:8443',
      '10.0.0.5',
      'https://169.254.169.254/latest/meta-data',
      '[::1]',
      'https://[fd00::1]',
      '0.0.0.0',
      'https://[::ffff:127.0.0.1]',
      'https://2130706433',
    ];
    for (const host of hosts) {
      const answer = await call(server, 'PUT', '/v3/mfa/okta-verify/config', manage, oktaConfig(host));
      assert.equal(answer.status, 400, host);
      assert.equal(answer.body.detailCode, '400.1 Bad Request Content');
      assert.match(answer.body.causes[0].text, /^host: .*(only https|not a public address).*MFA_ALLOW_PRIVATE_PROVIDER_HOSTS=true/, host);
    }
    assert.equal(await server.runtime.store.findProviderConfig('okta-verify'), undefined);
  });

  it('a name that resolves to loopback is refused when connecting: no connection is made, for every provider and call', async () => {
    const host = `localhost:${local.port}`;
    const refused = new RegExp(`could not be reached at localhost:${local.port}: the destination is not allowed \\(it resolves to a non-public address`);

    assert.equal((await call(server, 'PUT', '/v3/mfa/okta-verify/config', manage, oktaConfig(host))).status, 200);
    const okta = await call(server, 'GET', '/v3/mfa/okta-verify/test', manage);
    assert.equal(okta.body.state, 'FAILED');
    assert.match(okta.body.error, refused);
    assert.match(okta.body.error, /MFA_ALLOW_PRIVATE_PROVIDER_HOSTS=true/);
    const push = await call(server, 'POST', '/v3/mfa/okta-verify/verify', manage, { userId: 'someone@example.com' }, { 'slpt-forwarding': '203.0.113.9' });
    assert.equal(push.body.status, 'FAILED');
    assert.match(push.body.error, refused);

    assert.equal((await call(server, 'PUT', '/v3/mfa/duo-web/config', manage, duoConfig(host))).status, 200);
    assert.match((await call(server, 'GET', '/v3/mfa/duo-web/test', manage)).body.error, refused);

    assert.equal((await call(server, 'PUT', '/v3/mfa/rsa/config', manage, rsaConfig(`https://${host}/mfa/v1_1`))).status, 200);
    assert.match((await call(server, 'GET', '/v3/mfa/rsa/test', manage)).body.error, refused);

    assert.equal(local.connections(), 0, 'the loopback listener was never connected to');
  });

  it('the HTTP client itself refuses loopback by name and by literal before connecting', async () => {
    const strict = providerFetch({ allowPrivateHosts: false });
    try {
      for (const url of [`https://localhost:${local.port}/`, `https://[::1]:${local.port}/`, `https://[::ffff:7f00:1]:${local.port}/`, `http://localhost:${local.port}/`]) {
        await assert.rejects(
          strict(new URL(url), { method: 'GET', headers: {}, signal: AbortSignal.timeout(5000) }),
          (err: unknown) => err instanceof ProviderTransportError && err.failure === 'blocked',
          url,
        );
      }
    } finally {
      strict.close();
    }
    assert.equal(local.connections(), 0);
  });
});

describe('with the opt-in (local fakes): redirects and provider text', () => {
  let server: TestServer;
  let token: string;
  let provider: Awaited<ReturnType<typeof scripted>>;
  let elsewhere: Awaited<ReturnType<typeof scripted>>;
  before(async () => {
    server = await startServer({ env: { MFA_OKTA_PUSHES_PER_WINDOW: '1000' } });
    token = await server.accessToken(['idn:mfa-configuration:manage', 'idn:mfa:verify']);
    provider = await scripted();
    elsewhere = await scripted();
    await server.addIdentity('ann', {});
  });
  after(async () => {
    await provider.close();
    await elsewhere.close();
    await server.close();
  });

  it('a redirect from the provider is not followed', async () => {
    assert.equal((await call(server, 'PUT', '/v3/mfa/okta-verify/config', token, oktaConfig(provider.url))).status, 200);
    for (const status of [301, 302, 307, 308]) {
      provider.answer = { status, body: '', headers: { location: `${elsewhere.url}/api/v1/users?limit=1` } };
      const test = await call(server, 'GET', '/v3/mfa/okta-verify/test', token);
      assert.equal(test.body.state, 'FAILED');
      assert.match(test.body.error, /answered with a redirect, which is not followed \(HTTP 30\d\)/);
    }
    assert.equal(elsewhere.requests(), 0, 'the redirect target was never asked');
  });

  it("a provider's error text never reaches the caller, whatever the status and shape", async () => {
    await call(server, 'PUT', '/v3/mfa/okta-verify/config', token, oktaConfig(provider.url));
    await call(server, 'PUT', '/v3/mfa/duo-web/config', token, duoConfig(provider.url));
    await call(server, 'PUT', '/v3/mfa/rsa/config', token, rsaConfig(`${provider.url}/mfa/v1_1`));
    const answers = [
      { status: 401, body: JSON.stringify({ errorCode: 'E0000011', errorSummary: MARKER, stat: 'FAIL', code: 40103, message: MARKER, message_detail: MARKER }) },
      { status: 400, body: JSON.stringify({ errorCode: MARKER, code: MARKER, message: MARKER }) },
      { status: 500, body: `<html><body>${MARKER}</body></html>` },
      { status: 200, body: `<html><body>${MARKER}</body></html>` },
      { status: 200, body: JSON.stringify({ stat: 'FAIL', message: MARKER, factorResult: MARKER, attemptResponseCode: 'FAIL', attemptReasonCode: MARKER, context: {} }) },
      // Shapes nobody documented: a list where an object belongs, a string where a list belongs.
      { status: 200, body: JSON.stringify([{ id: MARKER, factorType: MARKER }]) },
      {
        status: 200,
        body: JSON.stringify({ id: 'u1', attemptResponseCode: 'CHALLENGE', context: { authnAttemptId: 'a1', messageId: 'm1' }, challengeMethods: MARKER, credentialValidationResults: MARKER }),
      },
    ];
    for (const answer of answers) {
      provider.answer = answer;
      const responses = [
        await call(server, 'GET', '/v3/mfa/okta-verify/test', token),
        await call(server, 'GET', '/v3/mfa/duo-web/test', token),
        await call(server, 'GET', '/v3/mfa/rsa/test', token),
        await call(server, 'POST', '/v3/mfa/okta-verify/verify', token, { userId: 'ann@example.com' }, { 'slpt-forwarding': '203.0.113.9' }),
        await call(server, 'POST', '/v3/mfa/rsa/verify', token, { userId: 'ann', method: 'APPROVE' }),
      ];
      for (const [index, response] of responses.entries()) {
        assert.equal(response.status, 200, `call ${index}, provider answering HTTP ${answer.status} ${answer.body.slice(0, 40)}: ${response.text}`);
        assert.ok(!response.text.includes(MARKER), `provider text echoed for HTTP ${answer.status}: ${response.text}`);
      }
    }
    assert.ok(provider.requests() >= answers.length * 5, 'every call reached the provider');
  });
});

it("the provider's own words go to the log, with the cause, and not to the caller", async () => {
  const provider = await scripted();
  provider.answer = { status: 401, body: JSON.stringify({ stat: 'FAIL', code: 40103, message: MARKER }) };
  const logged: object[] = [];
  const logger = { info: () => undefined, warn: (details: object) => void logged.push(details) };
  const clock = { now: () => Date.now() };
  const gateway = new ProviderGateway('duo', clock, { timeoutMs: 2000, retries: 0, retryDelayMs: 1, circuit: { failureThreshold: 5, coolDownMs: 1000 } }, logger);
  const local = providerFetch({ allowPrivateHosts: true });
  try {
    const result = await new DuoAuthApi(gateway, clock, local).check({ host: provider.url, ikey: IKEY, skey: SKEY });
    assert.equal(result.ok, false);
    assert.ok(!JSON.stringify(result).includes(MARKER));
    assert.ok(JSON.stringify(logged).includes(MARKER), 'the detail is in the log');
    assert.ok(!JSON.stringify(logged).includes(SKEY), 'never the secret key');
  } finally {
    local.close();
    await provider.close();
  }
});

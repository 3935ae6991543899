// Defends the diagnosis of provider failures: when a provider cannot be used, the `/test` answer names
// the host and the class of cause (DNS, refused, TLS, timeout, HTTP status), so an operator can fix a
// typo without reading logs or source, and never carries the provider's body or a secret.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { transportFailureOf } from '../../src/providers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const TOKEN = 'okta-api-token-that-is-secret-42';

describe('the /test answer names the host and the cause', () => {
  let server: TestServer;
  let token: string;
  let plain: Server;
  let plainPort: number;
  let hanging: Server;
  let hangingPort: number;
  before(async () => {
    server = await startServer({ env: { MFA_OKTA_TIMEOUT_MS: '300' } });
    token = await server.accessToken(['idn:mfa-configuration:manage']);
    plain = createServer((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errorCode: 'E0000011', errorSummary: 'Invalid token provided' }));
    });
    hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    plainPort = (plain.address() as AddressInfo).port;
    hangingPort = (hanging.address() as AddressInfo).port;
  });
  after(async () => {
    hanging.closeAllConnections();
    await new Promise((resolve) => plain.close(resolve));
    await new Promise((resolve) => hanging.close(resolve));
    await server.close();
  });

  async function testWith(host: string): Promise<string> {
    const put = await fetch(`${server.baseUrl}/v3/mfa/okta-verify/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, host, accessKey: TOKEN, identityAttribute: 'email' }),
    });
    assert.equal(put.status, 200);
    const answer = (await (await fetch(`${server.baseUrl}/v3/mfa/okta-verify/test`, { headers: { authorization: `Bearer ${token}` } })).json()) as { state: string; error: string };
    assert.equal(answer.state, 'FAILED');
    assert.ok(!answer.error.includes(TOKEN), 'never the token');
    return answer.error;
  }

  it('DNS: a name that does not resolve', async () => {
    assert.equal(await testWith('no-such-org.invalid'), 'okta could not be reached at no-such-org.invalid: the name does not resolve (DNS)');
  });

  it('refused: nothing listens at the port', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    assert.equal(await testWith(`http://127.0.0.1:${port}`), `okta could not be reached at 127.0.0.1:${port}: connection refused`);
  });

  it('TLS: https to a server that does not speak it', async () => {
    assert.equal(await testWith(`https://127.0.0.1:${plainPort}`), `okta could not be reached at 127.0.0.1:${plainPort}: TLS handshake failed (certificate or protocol)`);
  });

  it('timeout: a server that never answers', async () => {
    assert.equal(await testWith(`http://127.0.0.1:${hangingPort}`), `okta did not answer in time (127.0.0.1:${hangingPort})`);
  });

  it("HTTP status: the status and Okta's code, not Okta's summary", async () => {
    const error = await testWith(`http://127.0.0.1:${plainPort}`);
    assert.equal(error, `Okta at 127.0.0.1:${plainPort} refused the API token (accessKey) or its permissions (HTTP 401, E0000011)`);
  });
});

describe('transportFailureOf', () => {
  const of = (code: string) => transportFailureOf(Object.assign(new Error(code), { code }));
  it('classifies socket and TLS error codes', () => {
    assert.equal(of('ENOTFOUND'), 'dns');
    assert.equal(of('EAI_AGAIN'), 'dns');
    assert.equal(of('ECONNREFUSED'), 'refused');
    assert.equal(of('EHOSTUNREACH'), 'unreachable');
    assert.equal(of('ETIMEDOUT'), 'unreachable');
    assert.equal(of('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls');
    assert.equal(of('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls');
    assert.equal(of('EPROTO'), 'tls');
    assert.equal(of('ECONNRESET'), 'reset');
  });
});

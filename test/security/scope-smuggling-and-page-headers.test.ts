// Defends against two ways around what the service grants or serves: a repeated or array `scope`
// parameter at /oauth/token read as "no scope asked" and so granting every scope of the client, and the
// HTML docs page being framed by another site (clickjacking), sniffed into another type, or made to load
// anything from outside the service.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from '../helpers/server.js';

async function tokenRequest(server: TestServer, init: { headers?: Record<string, string>; body: BodyInit }): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.baseUrl}/oauth/token`, { method: 'POST', ...init });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('a duplicated or array scope parameter', () => {
  let server: TestServer;
  let credentials: { client_id: string; client_secret: string };
  before(async () => {
    server = await startServer();
    const client = await server.client(['idn:mfa:send', 'idn:mfa:poll', 'idn:mfa:verify']);
    credentials = { client_id: client.clientId, client_secret: client.clientSecret };
  });
  after(() => server.close());

  const assertInvalidScope = (answer: { status: number; body: Record<string, unknown> }, what: string): void => {
    assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body['error'], 'invalid_scope', what);
    assert.equal(answer.body['access_token'], undefined, what);
  };

  it('is refused in a url-encoded body', async () => {
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...credentials });
    body.append('scope', 'idn:mfa:send');
    body.append('scope', 'idn:mfa:poll');
    assertInvalidScope(await tokenRequest(server, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() }), 'form');
  });

  it('is refused in a multipart body', async () => {
    const body = new FormData();
    body.append('grant_type', 'client_credentials');
    body.append('client_id', credentials.client_id);
    body.append('client_secret', credentials.client_secret);
    body.append('scope', 'idn:mfa:send');
    body.append('scope', 'idn:mfa:send');
    assertInvalidScope(await tokenRequest(server, { body }), 'multipart');
  });

  it('is refused in a JSON body, as an array or any other non-string', async () => {
    for (const scope of [['idn:mfa:send'], [], null, 5, { scope: 'idn:mfa:send' }]) {
      const body = JSON.stringify({ grant_type: 'client_credentials', ...credentials, scope });
      assertInvalidScope(await tokenRequest(server, { headers: { 'content-type': 'application/json' }, body }), `JSON ${JSON.stringify(scope)}`);
    }
  });

  it('while one scope parameter still narrows the token (the control)', async () => {
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...credentials, scope: 'idn:mfa:send' });
    const answer = await tokenRequest(server, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
    assert.equal(answer.status, 200);
    assert.equal(decodeJwt(String(answer.body['access_token']))['scope'], 'idn:mfa:send');
  });
});

describe('security headers', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('the docs page forbids framing, sniffing, scripts and anything from outside', async () => {
    const response = await fetch(`${server.baseUrl}/docs`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    const policy = (response.headers.get('content-security-policy') ?? '').split(';').map((part) => part.trim());
    assert.ok(policy.includes("default-src 'none'"), policy.join('; '));
    assert.ok(policy.includes("frame-ancestors 'none'"), policy.join('; '));
    assert.ok(!policy.some((part) => /unsafe-|\*|https?:/.test(part)), `no wildcard, outside origin or unsafe source: ${policy.join('; ')}`);

    // The page works under its policy: no script, nothing loaded from elsewhere, and its one style allowed by hash.
    const html = await response.text();
    assert.ok(!/<script/i.test(html), 'the page has a script');
    assert.ok(!/\b(src|href)=["']?(https?:)?\/\//i.test(html), 'the page refers to another host');
    const styles = [...html.matchAll(/<style>([^<]*)<\/style>/g)].map((m) => m[1]!);
    assert.equal(styles.length, 1);
    const hash = createHash('sha256').update(styles[0]!).digest('base64');
    assert.ok(policy.includes(`style-src 'sha256-${hash}'`), `the inline style is not allowed by the policy: ${policy.join('; ')}`);
  });

  it('every other answer says nosniff too: JSON, errors, 404, OAuth errors, framework refusals', async () => {
    const answers = await Promise.all([
      fetch(`${server.baseUrl}/openapi.json`),
      fetch(`${server.baseUrl}/health/live`),
      fetch(`${server.baseUrl}/no/such/route`),
      fetch(`${server.baseUrl}/v3/mfa/token/send`, { method: 'POST' }),
      fetch(`${server.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' }),
      fetch(`${server.baseUrl}/v3/mfa/%E0%A4%A/poll`, { method: 'POST' }),
    ]);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 404, 401, 400, 400]);
    for (const answer of answers) assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', answer.url);
  });
});

// Defends the Duo configuration test: requests to Duo's Auth API are signed exactly as Duo documents
// (checked by a local server that recomputes the signature on its own), and every way Duo can fail
// (refusal, outage, garbage) is a FAILED answer with a reason, never an exception.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ProviderGateway } from '../../src/providers/gateway.js';
import { providerFetch } from '../../src/providers/http.js';
import { DuoAuthApi, canonicalParams, duoBaseUrl, rfc2822Date, signedHeaders } from '../../src/providers/duo/auth-api.js';
import { startServer, type TestServer } from '../helpers/server.js';

const IKEY = 'DIXXXXXXXXXXXXXXXXXX';
const SKEY = 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef';
const AKEY = 'useacustomerprovidedapplicationsecretkey';

/** A stand-in for Duo's Auth API: verifies the HMAC-SHA1 request signature the way Duo does. */
interface FakeDuo {
  readonly url: string;
  readonly seen: Array<{ method: string; path: string; date: string | undefined; authorization: string | undefined }>;
  /** Answer this instead of checking (status and body), for outage tests. */
  override: { status: number; body: string } | undefined;
  close(): Promise<void>;
}

function expectedSignature(req: IncomingMessage, skey: string): string {
  const url = new URL(req.url ?? '/', 'http://placeholder');
  const params = [...url.searchParams.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const canon = [req.headers.date ?? '', (req.method ?? '').toUpperCase(), (req.headers.host ?? '').toLowerCase(), url.pathname, params].join('\n');
  return createHmac('sha1', skey).update(canon).digest('hex');
}

async function startFakeDuo(ikey: string, skey: string): Promise<FakeDuo> {
  const fake: FakeDuo = {
    url: '',
    seen: [],
    override: undefined,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    fake.seen.push({ method: req.method ?? '', path: req.url ?? '', date: req.headers.date, authorization: req.headers.authorization });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (fake.override) return send(fake.override.status, fake.override.body);
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://x').pathname !== '/auth/v2/check') return send(404, { stat: 'FAIL', code: 40401, message: 'Resource not found' });
    const date = req.headers.date;
    // RFC 2822, as formatdate writes it, and fresh.
    if (!date || !/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [-+]\d{4}$/.test(date)) {
      return send(401, { stat: 'FAIL', code: 40102, message: 'Invalid request date' });
    }
    if (Math.abs(Date.parse(date) - Date.now()) > 300_000) return send(401, { stat: 'FAIL', code: 40105, message: 'Request has expired' });
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (!basic) return send(401, { stat: 'FAIL', code: 40101, message: 'Missing request credentials' });
    const [user, signature] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
    if (user !== ikey) return send(401, { stat: 'FAIL', code: 40101, message: 'Invalid integration key in request credentials' });
    if (signature !== expectedSignature(req, skey)) return send(401, { stat: 'FAIL', code: 40103, message: 'Invalid signature in request credentials' });
    return send(200, { stat: 'OK', response: { time: Math.floor(Date.now() / 1000) } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

const clock = { now: () => Date.now() };
/** The fake listens on 127.0.0.1 over http: allowed only with the opt-in. */
const localFetch = providerFetch({ allowPrivateHosts: true });
const fastGateway = () => new ProviderGateway('duo', clock, { timeoutMs: 1000, retries: 1, retryDelayMs: 10, circuit: { failureThreshold: 100, coolDownMs: 1000 } });

describe('Duo Auth API signing', () => {
  it('reproduces the example of Duo\'s API documentation', () => {
    // duo.com/docs/adminapi#authentication: POST /accounts/v1/account/list, realname=First Last, username=root.
    const headers = signedHeaders(
      { ikey: 'DIWJ8X6AEYOR5OMC6TQ1', skey: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep' },
      'POST',
      'api-XXXXXXXX.duosecurity.com',
      '/accounts/v1/account/list',
      { username: 'root', realname: 'First Last' },
      Date.UTC(2012, 7, 21, 17, 29, 18),
    );
    assert.equal(headers.date, 'Tue, 21 Aug 2012 17:29:18 -0000');
    assert.equal(Buffer.from(headers.authorization.replace('Basic ', ''), 'base64').toString(), 'DIWJ8X6AEYOR5OMC6TQ1:2d97d6166319781b5a3a07af39d366f491234edc');
  });

  it('canonical parameters: sorted, RFC 3986 encoded', () => {
    assert.equal(canonicalParams({ b: "x y!'()*~", a: 'é/' }), 'a=%C3%A9%2F&b=x%20y%21%27%28%29%2A~');
    assert.equal(canonicalParams({}), '');
  });

  it('dates pad single digits', () => {
    assert.equal(rfc2822Date(Date.UTC(2024, 0, 5, 3, 4, 5)), 'Fri, 05 Jan 2024 03:04:05 -0000');
  });

  it('a bare host name means https; a URL is used as given', () => {
    assert.equal(duoBaseUrl('api-1234abcd.duosecurity.com').href, 'https://api-1234abcd.duosecurity.com/');
    assert.equal(duoBaseUrl('http://127.0.0.1:8443').href, 'http://127.0.0.1:8443/');
  });
});

describe('DuoAuthApi.check against a local Duo', () => {
  let duo: FakeDuo;
  before(async () => {
    duo = await startFakeDuo(IKEY, SKEY);
  });
  after(() => duo.close());

  it('SUCCESS when Duo accepts the signed check', async () => {
    const api = new DuoAuthApi(fastGateway(), clock, localFetch);
    assert.deepEqual(await api.check({ host: duo.url, ikey: IKEY, skey: SKEY }), { ok: true });
    const last = duo.seen.at(-1)!;
    assert.equal(last.method, 'GET');
    assert.equal(last.path, '/auth/v2/check');
  });

  it('FAILED naming the keys and Duo\'s code when the secret key is wrong, never Duo\'s message', async () => {
    const api = new DuoAuthApi(fastGateway(), clock, localFetch);
    const result = await api.check({ host: duo.url, ikey: IKEY, skey: 'f'.repeat(40) });
    assert.equal(result.ok, false);
    assert.match((result as { reason: string }).reason, /refused the credentials: check the integration key \(ikey\) and secret key \(skey\) \(HTTP 401, code 40103\)/);
    assert.doesNotMatch((result as { reason: string }).reason, /Invalid signature/);
  });

  it('FAILED with Duo\'s code when the integration key is wrong', async () => {
    const api = new DuoAuthApi(fastGateway(), clock, localFetch);
    const result = await api.check({ host: duo.url, ikey: 'DIYYYYYYYYYYYYYYYYYY', skey: SKEY });
    assert.match((result as { reason: string }).reason, /refused the credentials.*code 40101/);
  });

  it('FAILED, after a retry, when Duo answers 5xx; FAILED on a body that is not JSON', async () => {
    const api = new DuoAuthApi(fastGateway(), clock, localFetch);
    duo.override = { status: 503, body: '{"stat":"FAIL","code":50301,"message":"Service unavailable"}' };
    const before = duo.seen.length;
    try {
      const outage = await api.check({ host: duo.url, ikey: IKEY, skey: SKEY });
      assert.match((outage as { reason: string }).reason, /^Duo at 127\.0\.0\.1:\d+ failed \(HTTP 503, code 50301\)$/);
      assert.equal(duo.seen.length - before, 2, 'the idempotent check is retried once');
      duo.override = { status: 200, body: '<html>proxy</html>' };
      const garbage = await api.check({ host: duo.url, ikey: IKEY, skey: SKEY });
      assert.match((garbage as { reason: string }).reason, /without a JSON body/);
      duo.override = { status: 200, body: '{"stat":"FAIL","message":"odd"}' };
      assert.equal((await api.check({ host: duo.url, ikey: IKEY, skey: SKEY })).ok, false);
    } finally {
      duo.override = undefined;
    }
  });

  it('FAILED when nothing listens at the host', async () => {
    const down = await startFakeDuo(IKEY, SKEY);
    const url = down.url;
    await down.close();
    const result = await new DuoAuthApi(fastGateway(), clock, localFetch).check({ host: url, ikey: IKEY, skey: SKEY });
    assert.deepEqual(result, { ok: false, reason: `duo could not be reached at ${new URL(url).host}: connection refused` });
  });
});

describe('GET /mfa/duo-web/test through the service', () => {
  let server: TestServer;
  let duo: FakeDuo;
  let manage: string;

  const put = (host: string, skey = SKEY) =>
    fetch(`${server.baseUrl}/v3/mfa/duo-web/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${manage}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, host, accessKey: AKEY, identityAttribute: 'duoUser', configProperties: { ikey: IKEY, skey } }),
    });
  const test = async (prefix = '/v3') =>
    (await (await fetch(`${server.baseUrl}${prefix}/mfa/duo-web/test`, { headers: { authorization: `Bearer ${manage}` } })).json()) as { state: string; error?: string };

  before(async () => {
    server = await startServer();
    duo = await startFakeDuo(IKEY, SKEY);
    manage = await server.accessToken(['idn:mfa-configuration:manage']);
  });
  after(async () => {
    await duo.close();
    await server.close();
  });

  it('unconfigured: FAILED with the not-configured message', async () => {
    assert.deepEqual(await test(), { state: 'FAILED', error: 'MFA method duo-web is not configured.' });
  });

  it('SUCCESS against the local Duo, under /v3 and /beta', async () => {
    assert.equal((await put(duo.url)).status, 200);
    assert.deepEqual(await test(), { state: 'SUCCESS' });
    assert.deepEqual(await test('/beta'), { state: 'SUCCESS' });
  });

  it('FAILED naming the keys when the stored secret key is wrong', async () => {
    await put(duo.url, 'e'.repeat(40));
    const answer = await test();
    assert.equal(answer.state, 'FAILED');
    assert.match(answer.error ?? '', /refused the credentials.*\(HTTP 401, code 40103\)/);
  });

  it('FAILED when Duo is down', async () => {
    const down = await startFakeDuo(IKEY, SKEY);
    await down.close();
    await put(down.url);
    const answer = await test();
    assert.equal(answer.state, 'FAILED');
    assert.match(answer.error ?? '', /could not be reached|unavailable/);
  });

  it('disabled: FAILED with the disabled message', async () => {
    await fetch(`${server.baseUrl}/v3/mfa/duo-web/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${manage}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false, host: duo.url, accessKey: AKEY, identityAttribute: 'duoUser', configProperties: { ikey: IKEY, skey: SKEY } }),
    });
    assert.deepEqual(await test(), { state: 'FAILED', error: 'MFA Method is disabled.' });
  });
});

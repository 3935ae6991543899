// Defends the metrics as an operator reads them: counters move by exactly what was done (requests by route pattern and status, decisions by method and outcome, deliveries by channel and result, provider calls by outcome), labels are route patterns and never a URL the caller chose (no ids, no aliases), runtimes in one process keep separate registries, and MFA_METRICS_ENABLED=false serves nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeliveryError, type Message, type Sender } from '../../src/core/ports.js';
import { Metrics } from '../../src/http/metrics.js';
import { ProviderError, ProviderGateway } from '../../src/providers/gateway.js';
import { postJson, startServer, type TestServer } from '../helpers/server.js';

class CapturingSender implements Sender {
  readonly sent: Message[] = [];
  readonly failFor = new Set<string>();
  async send(message: Message): Promise<void> {
    if (this.failFor.has(message.to)) throw new DeliveryError('relay refused');
    this.sent.push(message);
  }
  lastTokenTo(to: string): string {
    const token = this.sent.filter((m) => m.to === to).at(-1)?.body.match(/\b(\d{6})\b/)?.[1];
    assert.ok(token, `no token sent to ${to}`);
    return token;
  }
}

/** Every sample of a Prometheus text exposition, keyed by `name{labels}` as written. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const scrapers = new WeakMap<TestServer, string>();

/** GET /metrics as a scraper would: with a token holding mfa:metrics (one per server, fetched once). */
async function scrape(server: TestServer): Promise<{ text: string; samples: Map<string, number> }> {
  let bearer = scrapers.get(server);
  if (!bearer) scrapers.set(server, (bearer = await server.accessToken(['mfa:metrics'])));
  const response = await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: `Bearer ${bearer}` } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { text, samples: parse(text) };
}

describe('metrics', () => {
  let server: TestServer;
  let token: string;
  const sender = new CapturingSender();

  before(async () => {
    server = await startServer({ sender, env: { MFA_RATE_SENDS_PER_RECIPIENT: '1000' } });
    token = await server.accessToken(['sp:scopes:all']);
    await server.addIdentity('metered', { email: 'metered@example.com' });
    await server.addIdentity('bounced', { email: 'bounced@example.com' });
    sender.failFor.add('bounced@example.com');
  });
  after(() => server.close());

  it('counts requests, decisions and deliveries by exactly what was done', async () => {
    const before = (await scrape(server)).samples;
    const send = (alias: string) => postJson(server, '/v3/mfa/token/send', token, { userAlias: alias, deliveryType: 'EMAIL_WORK' });

    const first = await send('metered');
    assert.equal(first.body.status, 'SUCCESS');
    const code = sender.lastTokenTo('metered@example.com');
    const wrong = code === '000000' ? '000001' : '000000';
    assert.equal((await postJson(server, '/v3/mfa/token/authenticate', token, { userAlias: 'metered', deliveryType: 'EMAIL_WORK', token: wrong })).body.status, 'FAILED');
    assert.equal((await postJson(server, '/v3/mfa/token/authenticate', token, { userAlias: 'metered', deliveryType: 'EMAIL_WORK', token: code })).body.status, 'SUCCESS');
    assert.equal((await send('metered')).body.status, 'SUCCESS');
    assert.equal((await send('bounced')).body.status, 'FAILED');
    const polled = await postJson(server, '/beta/mfa/token/poll', token, { requestId: first.body.requestId });
    assert.equal(polled.body.status, 'SUCCESS');
    assert.equal((await fetch(`${server.baseUrl}/no/such/route/${first.body.requestId}`)).status, 404);
    assert.equal((await fetch(`${server.baseUrl}/admin/v1/identities/metered`)).status, 401);

    const { text, samples } = await scrape(server);
    const delta = (key: string): number => (samples.get(key) ?? 0) - (before.get(key) ?? 0);

    assert.equal(delta('mfa_http_requests_total{method="POST",route="/v3/mfa/token/send",status_code="200"}'), 3);
    assert.equal(delta('mfa_http_requests_total{method="POST",route="/v3/mfa/token/authenticate",status_code="200"}'), 2);
    assert.equal(delta('mfa_http_requests_total{method="POST",route="/beta/mfa/:method/poll",status_code="200"}'), 1);
    assert.equal(delta('mfa_http_requests_total{method="GET",route="unmatched",status_code="404"}'), 1);
    assert.equal(delta('mfa_http_requests_total{method="GET",route="/admin/v1/identities/:alias",status_code="401"}'), 1);

    assert.equal(delta('mfa_verifications_total{method="token",outcome="SENT"}'), 2);
    assert.equal(delta('mfa_verifications_total{method="token",outcome="FAILED"}'), 2, 'the wrong token and the failed delivery');
    assert.equal(delta('mfa_verifications_total{method="token",outcome="SUCCESS"}'), 1);
    assert.equal(delta('mfa_verifications_total{method="token",outcome="LOCKOUT"}'), 0);

    assert.equal(delta('mfa_deliveries_total{channel="email",result="sent"}'), 2);
    assert.equal(delta('mfa_deliveries_total{channel="email",result="failed"}'), 1);

    // The latency histogram: a count per route that moved with the requests, and cumulative buckets up to +Inf.
    assert.equal(delta('mfa_http_request_duration_seconds_count{method="POST",route="/v3/mfa/token/send"}'), 3);
    assert.equal(delta('mfa_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v3/mfa/token/send"}'), 3);
    assert.ok((samples.get('mfa_http_request_duration_seconds_sum{method="POST",route="/v3/mfa/token/send"}') ?? 0) > 0);
    assert.match(text, /# TYPE mfa_http_request_duration_seconds histogram/);

    // Labels never carry what the caller chose: no request id, alias or raw path.
    assert.ok(!text.includes(first.body.requestId), 'a request id is in a label');
    assert.ok(!text.includes('metered'), 'an alias is in a label');
    assert.ok(!text.includes('/no/such/route'), 'a raw URL is in a label');
    assert.ok(!text.includes('route="/v3/mfa/token/poll"') && !text.includes('route="/beta/mfa/token/poll"'), 'the poll route is labelled by its URL, not its pattern');
  });

  it('serves the default process metrics from the runtime\'s own registry', async () => {
    const { samples } = await scrape(server);
    assert.ok([...samples.keys()].some((key) => key.startsWith('process_cpu_user_seconds_total')));
  });

  it('keeps two runtimes in one process apart', async () => {
    const other = await startServer();
    try {
      const mine = (await scrape(server)).samples.get('mfa_http_requests_total{method="GET",route="/metrics",status_code="200"}') ?? 0;
      const theirs = (await scrape(other)).samples.get('mfa_http_requests_total{method="GET",route="/metrics",status_code="200"}');
      assert.ok(mine >= 3);
      assert.equal(theirs, undefined, 'the first scrape of a fresh runtime has counted nothing yet');
    } finally {
      await other.close();
    }
  });

  it('serves no /metrics when MFA_METRICS_ENABLED=false', async () => {
    const off = await startServer({ env: { MFA_METRICS_ENABLED: 'false' } });
    try {
      assert.equal((await fetch(`${off.baseUrl}/metrics`)).status, 404);
    } finally {
      await off.close();
    }
  });
});

describe('provider call metrics', () => {
  it('counts each try by provider, operation and outcome, and calls refused by the open circuit', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const clock = { now: () => Date.now() };
    const gateway = new ProviderGateway('okta', clock, {
      timeoutMs: 1000,
      retries: 1,
      retryDelayMs: 1,
      circuit: { failureThreshold: 2, coolDownMs: 60_000 },
      observer: metrics.onProviderCall,
    });
    assert.equal(await gateway.call('getUser', async () => 'ok', true), 'ok');
    // Retryable outage: two tries (both fail), which also opens the circuit.
    await assert.rejects(gateway.call('listFactors', async () => Promise.reject(new ProviderError('down', { retryable: true, outage: true })), true));
    await assert.rejects(gateway.call('getUser', async () => 'never called', true));

    const samples = parse(await metrics.registry.metrics());
    assert.equal(samples.get('mfa_provider_calls_total{provider="okta",operation="getUser",outcome="success"}'), 1);
    assert.equal(samples.get('mfa_provider_calls_total{provider="okta",operation="listFactors",outcome="failure"}'), 2);
    assert.equal(samples.get('mfa_provider_calls_total{provider="okta",operation="getUser",outcome="refused"}'), 1);
    assert.equal(samples.get('mfa_provider_call_duration_seconds_count{provider="okta",operation="listFactors"}'), 2);
  });
});

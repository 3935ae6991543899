// Defends against user enumeration through /metrics: a caller diffing the metrics around one send (or
// one check) to tell a real alias from an unknown one. /metrics is served only to a token holding
// mfa:metrics (not implied by sp:scopes:all, never held by a personal client or an exchanged token), and
// its counters move the same way for a known alias as for an unknown one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../src/auth/clients.js';
import { ServiceError } from '../../src/core/errors.js';
import { IDENTITY_ALIAS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/http/routes/oauth.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

const scrape = (server: TestServer, bearer?: string) =>
  fetch(`${server.baseUrl}/metrics`, bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {});

/** Every sample of a Prometheus text exposition, keyed by `name{labels}`. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

describe('who may read /metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    await server.addIdentity('someone', { email: 'someone@example.com' });
  });
  after(() => server.close());

  it('no token: 401; a token without mfa:metrics, even sp:scopes:all or mfa:admin: 403', async () => {
    assert.equal((await scrape(server)).status, 401);
    for (const scopes of [['sp:scopes:all'], ['mfa:admin'], ['idn:mfa:send', 'idn:mfa:verify', 'idn:mfa:poll']]) {
      const answer = await scrape(server, await server.accessToken(scopes));
      assert.equal(answer.status, 403, scopes.join(' '));
      const text = await answer.text();
      assert.ok(!text.includes('mfa_'), 'a refused answer carries metrics');
    }
  });

  it('a token with mfa:metrics reads them', async () => {
    const answer = await scrape(server, await server.accessToken(['mfa:metrics']));
    assert.equal(answer.status, 200);
    assert.match(await answer.text(), /^# HELP mfa_/m);
  });

  it('a personal client cannot hold mfa:metrics, nor can a token exchanged for an identity', async () => {
    const { store, clock, randomBytes } = server.runtime;
    await assert.rejects(createClient(store, clock, randomBytes, 'nosy', ['mfa:metrics'], 'someone'), (err: unknown) => err instanceof ServiceError && err.status === 400);

    const service = await server.client(['mfa:impersonate', 'mfa:metrics', 'idn:mfa-kba:read']);
    const exchange = (scope?: string) =>
      fetch(`${server.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT,
          client_id: service.clientId,
          client_secret: service.clientSecret,
          subject_token: 'someone',
          subject_token_type: IDENTITY_ALIAS_TOKEN_TYPE,
          ...(scope ? { scope } : {}),
        }),
      });
    const asked = await exchange('mfa:metrics');
    assert.equal(asked.status, 400);
    assert.equal(((await asked.json()) as { error: string }).error, 'invalid_scope');
    const plain = await exchange();
    assert.equal(plain.status, 200);
    const { access_token: exchanged, scope } = (await plain.json()) as { access_token: string; scope: string };
    assert.ok(!scope.split(' ').includes('mfa:metrics'), scope);
    assert.equal((await scrape(server, exchanged)).status, 403);
  });
});

describeEachDatabase('metrics after a known and an unknown alias', ({ postgres }) => {
  let known: TestServer;
  let unknown: TestServer;
  before(async () => {
    // Two fresh instances, same identities, same requests but for the alias; no process metrics (they drift on their own).
    const env = { MFA_METRICS_PROCESS: 'false' };
    known = await startServer({ postgres, env });
    unknown = await startServer({ postgres, env });
    for (const server of [known, unknown]) await server.addIdentity('real.person', { email: 'real.person@example.com', phone: '+15550001234' });
  });
  after(async () => {
    await known.close();
    await unknown.close();
  });

  async function exercise(server: TestServer, alias: string): Promise<Map<string, number>> {
    const bearer = await server.accessToken(['idn:mfa:send', 'idn:mfa:verify', 'idn:mfa:poll']);
    for (const deliveryType of ['EMAIL_WORK', 'SMS_PERSONAL']) {
      const sent = await postJson(server, '/v3/mfa/token/send', bearer, { userAlias: alias, deliveryType });
      assert.equal(sent.body.status, 'SUCCESS');
      const checked = await postJson(server, '/v3/mfa/token/authenticate', bearer, { userAlias: alias, deliveryType, token: '000000' });
      assert.equal(checked.status, 200);
      assert.equal((await postJson(server, '/beta/mfa/token/poll', bearer, { requestId: sent.body.requestId })).status, 200);
    }
    const answer = await scrape(server, await server.accessToken(['mfa:metrics']));
    assert.equal(answer.status, 200);
    return samples(await answer.text());
  }

  it('every counter is the same; only request durations may differ', async () => {
    const a = await exercise(known, 'real.person');
    const b = await exercise(unknown, 'nobody.at.all');
    // Durations are timings, not counts (and the unknown alias's send is paced like a real delivery).
    const comparable = (m: Map<string, number>) => new Map([...m].filter(([key]) => !key.startsWith('mfa_http_request_duration_seconds')));
    assert.deepEqual(comparable(b), comparable(a));
    // Not empty by accident: the series that would tell the aliases apart are there.
    assert.equal(a.get('mfa_verifications_total{method="token",outcome="SENT"}'), 2);
    assert.equal(a.get('mfa_deliveries_total{channel="email",result="sent"}'), 1);
    assert.equal(a.get('mfa_deliveries_total{channel="sms",result="sent"}'), 1);
    assert.equal(a.get('mfa_http_requests_total{method="POST",route="/v3/mfa/token/send",status_code="200"}'), 2);
  });
});

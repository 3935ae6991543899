// Defends against unbounded input and unbounded growth: user names longer than any alias (256
// characters) reaching counter keys, logs and the audit trail, and one client failing checks in a loop
// (wrong tokens, checks for aliases with no pending token, KBA, Duo) to grow the audit table or probe
// aliases without end. The failed-check budget is per client and holds across instances sharing a store.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../src/auth/clients.js';
import { ServiceError } from '../../src/core/errors.js';
import { toAuditEvent, type Decision } from '../../src/core/audit.js';
import type { AuditSink, Message, RateCounter, Sender } from '../../src/core/ports.js';
import { FailedCheckLimit } from '../../src/services/failed-checks.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

const RATE_BODY = { message: ' Rate Limit Exceeded ' };

function assertLimited(answer: { status: number; headers: Headers; body: unknown }, maxSeconds: number): void {
  assert.equal(answer.status, 429, JSON.stringify(answer.body));
  assert.deepEqual(answer.body, RATE_BODY);
  const retryAfter = Number(answer.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxSeconds, `Retry-After ${answer.headers.get('retry-after')}`);
}

/** Every route whose body names a user, with a body valid but for the name. */
const USER_ROUTES: ReadonlyArray<{ path: string; field: 'userAlias' | 'userId'; body: (name: string) => Record<string, unknown> }> = [
  { path: '/mfa/token/send', field: 'userAlias', body: (userAlias) => ({ userAlias, deliveryType: 'EMAIL_WORK' }) },
  { path: '/mfa/token/authenticate', field: 'userAlias', body: (userAlias) => ({ userAlias, deliveryType: 'EMAIL_WORK', token: '123456' }) },
  { path: '/mfa/duo-web/verify', field: 'userId', body: (userId) => ({ userId, signedResponse: 'AUTH|x|y:APP|x|y' }) },
  { path: '/mfa/duo-web/sign-request', field: 'userId', body: (userId) => ({ userId }) },
  { path: '/mfa/okta-verify/verify', field: 'userId', body: (userId) => ({ userId }) },
  { path: '/mfa/rsa/verify', field: 'userId', body: (userId) => ({ userId, method: 'SECURID', tokencode: '123456' }) },
  { path: '/mfa/totp/enrol', field: 'userAlias', body: (userAlias) => ({ userAlias }) },
  { path: '/mfa/totp/confirm', field: 'userAlias', body: (userAlias) => ({ userAlias, totpCode: '123456' }) },
  { path: '/mfa/totp/authenticate', field: 'userAlias', body: (userAlias) => ({ userAlias, totpCode: '123456' }) },
];

describe('user names are bounded on every route', () => {
  let server: TestServer;
  let bearer: string;
  before(async () => {
    server = await startServer();
    bearer = await server.accessToken(['sp:scopes:all']);
  });
  after(() => server.close());

  it('the list above holds every served operation whose body names a user', async () => {
    const document = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { $ref?: string; properties?: Record<string, unknown> } }> } }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const found = new Set<string>();
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const operation of Object.values(operations)) {
        const schema = operation.requestBody?.content?.['application/json']?.schema;
        const ref = schema?.$ref;
        // A schema of the official spec by reference, or one of the extensions' written inline.
        const properties = ref ? document.components.schemas[ref.split('/').at(-1)!]?.properties ?? {} : schema?.properties ?? {};
        if ('userAlias' in properties || 'userId' in properties) found.add(path.replace(/^\/(v3|beta)/, ''));
      }
    }
    assert.ok(found.size >= 3, [...found].join(', '));
    const listed = new Set(USER_ROUTES.map((r) => r.path));
    for (const path of found) assert.ok(listed.has(path), `${path} names a user but is not tested here`);
  });

  for (const prefix of ['/v3', '/beta']) {
    for (const route of USER_ROUTES) {
      it(`${prefix}${route.path}: 257 characters answer 400 naming ${route.field}; 256 are not refused for length`, async () => {
        const long = await postJson(server, `${prefix}${route.path}`, bearer, route.body('a'.repeat(257)));
        assert.equal(long.status, 400, JSON.stringify(long.body));
        assert.equal(long.body.detailCode, '400.1 Bad Request Content');
        assert.ok(long.body.causes.some((c: { text: string }) => c.text.includes(route.field) && c.text.includes('256')), JSON.stringify(long.body));

        const longest = await postJson(server, `${prefix}${route.path}`, bearer, route.body('a'.repeat(256)));
        // The causes, not the whole body: its random trackingId can hold "256" (regression: a flaky failure).
        const causes: Array<{ text: string }> = longest.status === 400 ? (longest.body.causes ?? []) : [];
        assert.ok(!causes.some((c) => c.text.includes('256')), JSON.stringify(longest.body));
      });
    }
  }
});

class CapturingSender implements Sender {
  readonly sent: Message[] = [];
  async send(message: Message): Promise<void> {
    this.sent.push(message);
  }
  lastTokenTo(to: string): string {
    const token = this.sent.filter((m) => m.to === to).at(-1)?.body.match(/\b(\d{6})\b/)?.[1];
    assert.ok(token, `no token sent to ${to}`);
    return token;
  }
}

const check = (server: TestServer, bearer: string, userAlias: string, token = '000000') =>
  postJson(server, '/v3/mfa/token/authenticate', bearer, { userAlias, deliveryType: 'EMAIL_WORK', token });

describeEachDatabase('failed checks per client', ({ postgres }) => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ postgres });
  });
  after(() => server.close());

  it('the 301st failed check in a minute gets 429 with Retry-After; another client is unaffected', async () => {
    const prober = await server.accessToken(['idn:mfa:verify']);
    // Checks for aliases that have no pending token: each fails and would add one audit row.
    for (let i = 0; i < 300; i++) {
      const answer = await check(server, prober, `nobody-${i}`);
      assert.equal(answer.status, 200, `check ${i + 1}`);
      assert.notEqual(answer.body.status, 'SUCCESS');
    }
    const audited = await server.runtime.store.queryAudit({ clientId: decodeClientId(prober), limit: 1000 });
    assertLimited(await check(server, prober, 'nobody-300'), 60);
    assertLimited(await check(server, prober, 'nobody-0'), 60);
    const after = await server.runtime.store.queryAudit({ clientId: decodeClientId(prober), limit: 1000 });
    assert.equal(after.length, audited.length, 'a refused check is not recorded');

    const other = await server.accessToken(['idn:mfa:verify']);
    const unaffected = await check(server, other, 'nobody-0');
    assert.equal(unaffected.status, 200);
    assert.notEqual(unaffected.body.status, 'SUCCESS');
  });
});

describeEachDatabase('what the failed-check budget counts', ({ postgres }) => {
  let server: TestServer;
  const sender = new CapturingSender();
  before(async () => {
    server = await startServer({ postgres, sender, env: { MFA_RATE_FAILED_CHECKS_PER_CLIENT: '3', MFA_RATE_SENDS_PER_RECIPIENT: '100' } });
    await server.addIdentity('checked', { email: 'checked@example.com' });
  });
  after(() => server.close());

  it('successful checks cost nothing; token and KBA failures share one budget', async () => {
    const bearer = await server.accessToken(['idn:mfa:send', 'idn:mfa:verify']);
    for (let i = 0; i < 5; i++) {
      assert.equal((await postJson(server, '/v3/mfa/token/send', bearer, { userAlias: 'checked', deliveryType: 'EMAIL_WORK' })).body.status, 'SUCCESS');
      assert.equal((await check(server, bearer, 'checked', sender.lastTokenTo('checked@example.com'))).body.status, 'SUCCESS', `success ${i + 1}`);
    }
    assert.equal((await check(server, bearer, 'checked')).body.status, 'FAILED');
    assert.equal((await check(server, bearer, 'checked')).body.status, 'FAILED');
    assert.equal((await check(server, bearer, 'checked')).body.status, 'FAILED');
    assertLimited(await check(server, bearer, 'checked'), 60);
    // Spent: even the right token is not checked now.
    await postJson(server, '/v3/mfa/token/send', bearer, { userAlias: 'checked', deliveryType: 'EMAIL_WORK' });
    assertLimited(await check(server, bearer, 'checked', sender.lastTokenTo('checked@example.com')), 60);

    // A personal client's KBA checks of an identity with no answers fail and count the same way.
    const personal = await createClient(server.runtime.store, server.runtime.clock, server.runtime.randomBytes, 'kba', ['idn:mfa-kba:authenticate'], 'checked');
    const kbaBearer = await tokenFor(server, personal.clientId, personal.clientSecret);
    const answers = [1, 2, 3].map((n) => ({ id: `q${n}`, answer: 'guess' }));
    for (let i = 0; i < 3; i++) {
      const kba = await postJson(server, '/v3/mfa/kba/authenticate', kbaBearer, answers);
      assert.equal(kba.status, 200, JSON.stringify(kba.body));
    }
    assertLimited(await postJson(server, '/beta/mfa/kba/authenticate', kbaBearer, answers), 60);
  });

  it('a Duo check that fails counts too', async () => {
    const bearer = await server.accessToken(['idn:mfa:verify']);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await postJson(server, '/v3/mfa/duo-web/verify', bearer, { userId: 'checked', signedResponse: 'AUTH|x|y:APP|x|y' })).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const recorded = await server.runtime.store.queryAudit({ clientId: decodeClientId(bearer), limit: 100 });
    assert.deepEqual(recorded.map((e) => `${e.method} ${e.outcome}`), Array(3).fill('duo-web FAILED'));
  });
});

describeEachDatabase('the failed-check budget across instances', ({ postgres }) => {
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    const env = { MFA_RATE_FAILED_CHECKS_PER_CLIENT: '10' };
    first = await startServer({ postgres, env });
    second = await startServer({ shareWith: first, env });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  it('is one budget for two instances sharing the store', async () => {
    const bearer = await first.accessToken(['idn:mfa:verify']);
    for (let i = 0; i < 10; i++) assert.equal((await check(i % 2 ? first : second, bearer, `gone-${i}`)).status, 200);
    assertLimited(await check(first, bearer, 'gone-x'), 60);
    assertLimited(await check(second, bearer, 'gone-x'), 60);
  });
});

/**
 * A counter whose reads are answered only when the test says: each read returns the count as it was when
 * the read began (a statement's snapshot), so the test decides what a read can have missed.
 */
class HeldCounter implements RateCounter {
  private readonly counts = new Map<string, number>();
  private readonly held: Array<() => void> = [];
  reads = 0;

  async hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return { count, resetAt: now + windowMs };
  }

  peek(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    this.reads++;
    const count = this.counts.get(key) ?? 0;
    return new Promise((resolve) => this.held.push(() => resolve({ count, resetAt: now + windowMs })));
  }

  /** Answers the oldest read still held; false when none is. */
  answer(): boolean {
    const next = this.held.shift();
    next?.();
    return next !== undefined;
  }

  async close(): Promise<void> {}
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const isRateLimited = (err: unknown): boolean => err instanceof ServiceError && err.status === 429;

describe('the failed-check budget read while checks are in flight', () => {
  const rule = { failedChecksPerClient: 1, failedChecksPerClientWindowSeconds: 60 };
  const key = 'failed-checks:client:prober';

  it('a check that arrives while a read is under way waits for a read begun after it, and sees a failure counted meanwhile', async () => {
    const counter = new HeldCounter();
    const limit = new FailedCheckLimit(counter, { now: () => 1_000 }, rule);
    const first = limit.admit('prober');
    await settle();
    // The failure of a check already in flight is counted after the first read began, before the second check arrives.
    await counter.hit(key, 60_000, 1_000);
    const second = limit.admit('prober');
    assert.ok(counter.answer());
    await first;
    await settle();
    assert.ok(counter.answer(), 'the second check was answered from the read begun before it arrived');
    await assert.rejects(second, isRateLimited);
    assert.equal(counter.reads, 2);
  });

  it('the checks that arrive during one read share the next one: one read per client at a time', async () => {
    const counter = new HeldCounter();
    const limit = new FailedCheckLimit(counter, { now: () => 1_000 }, rule);
    const first = limit.admit('prober');
    await settle();
    const waiting = Array.from({ length: 10 }, () => limit.admit('prober'));
    const otherClient = limit.admit('other');
    await settle();
    assert.equal(counter.reads, 2, 'the first read of each client');
    assert.ok(counter.answer());
    await first;
    await settle();
    assert.equal(counter.reads, 3, 'one read for the ten checks that waited');
    assert.ok(counter.answer());
    assert.ok(counter.answer());
    await Promise.all([...waiting, otherClient]);
    assert.equal(counter.answer(), false);
  });
});

describe('a failed check whose row is written with its change', () => {
  const rule = { failedChecksPerClient: 100, failedChecksPerClientWindowSeconds: 60 };
  const key = 'failed-checks:client:prober';
  const decision = (outcome: 'FAILED' | 'LOCKOUT' | 'SUCCESS'): Decision =>
    ({ method: 'token', operation: 'authenticate', alias: 'someone', clientId: 'prober', outcome, reason: null, requestId: 'r' });
  /** A sink that prepares rows and keeps what is recorded in place of one. */
  const trail = () => {
    const recorded: Decision[] = [];
    const sink: AuditSink = {
      record: async (d) => void recorded.push(d),
      prepare: (d) => ({
        event: toAuditEvent(d, 'id', 0),
        written: async () => undefined,
        instead: async (other) => void recorded.push(other),
        failed: () => undefined,
      }),
    };
    return { sink, recorded };
  };
  const count = async (counter: HeldCounter): Promise<number> => {
    const read = counter.peek(key, 60_000, 1_000);
    counter.answer();
    return (await read).count;
  };

  it('is counted once, when prepared, whether its row is written or another decision is recorded instead', async () => {
    const counter = new HeldCounter();
    const { sink, recorded } = trail();
    const counting = new FailedCheckLimit(counter, { now: () => 1_000 }, rule).counting(sink);
    const written = counting.prepare!(decision('FAILED'));
    assert.equal(await count(counter), 1, 'counted before the row is written');
    await written.written();
    assert.equal(await count(counter), 1);
    const replaced = counting.prepare!(decision('FAILED'));
    await replaced.instead(decision('LOCKOUT'));
    assert.equal(await count(counter), 2, 'the decision recorded instead is the same check, counted once');
    assert.deepEqual(recorded.map((d) => d.outcome), ['LOCKOUT']);
    const success = counting.prepare!(decision('SUCCESS'));
    await success.instead(decision('FAILED'));
    assert.equal(await count(counter), 3, 'a success is not counted; a failure recorded in its place is');
  });
});

const redisUrl = process.env['MFA_TEST_REDIS_URL'];
describe('the failed-check budget through Redis', { skip: redisUrl ? false : 'MFA_TEST_REDIS_URL not set: Redis tests skipped' }, () => {
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    // Separate databases: only Redis can make the two instances agree. Keys are per client id, fresh per run;
    // Redis windows are aligned to the clock, so a day-long one keeps the test off a window's edge.
    const env = { MFA_REDIS_URL: redisUrl!, MFA_RATE_FAILED_CHECKS_PER_CLIENT: '4', MFA_RATE_FAILED_CHECKS_PER_CLIENT_WINDOW_SECONDS: '86400' };
    first = await startServer({ env });
    second = await startServer({ env });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  it('failures on one instance spend the budget on the other', async () => {
    const client = await first.client(['idn:mfa:verify']);
    // The same client on both: created in the second database with the same id and secret.
    await second.runtime.store.createClient({ ...(await first.runtime.store.findClient(client.clientId))! });
    const a = await tokenFor(first, client.clientId, client.clientSecret);
    const b = await tokenFor(second, client.clientId, client.clientSecret);
    for (let i = 0; i < 4; i++) assert.equal((await check(i % 2 ? first : second, i % 2 ? a : b, `r-${i}`)).status, 200);
    assertLimited(await check(first, a, 'r-x'), 86_400);
  });
});

function tokenFor(server: TestServer, clientId: string, clientSecret: string): Promise<string> {
  return server.tokenOf(clientId, clientSecret);
}

function decodeClientId(bearer: string): string {
  const payload = JSON.parse(Buffer.from(bearer.split('.')[1]!, 'base64url').toString('utf8')) as { client_id: string };
  return payload.client_id;
}

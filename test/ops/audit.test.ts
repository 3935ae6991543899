// Defends the audit trail: every token, KBA and provider-push decision leaves one row, in order, with the delivery address masked and never a token or an answer (checked against a raw dump of the table); only mfa:admin reads it; a decision whose row cannot be written is not answered as a success (fail closed); events reach the webhook signed, and are retried after a 500.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createClient } from '../../src/auth/clients.js';
import { DeliveryError, type Message, type Sender } from '../../src/core/ports.js';
import { webhookSignature } from '../../src/delivery/webhook.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';
import { startFakeOkta, type FakeOkta } from '../providers/okta-fake.js';

class CapturingSender implements Sender {
  readonly sent: Message[] = [];
  readonly failFor = new Set<string>();
  async send(message: Message): Promise<void> {
    if (this.failFor.has(message.to)) throw new DeliveryError(`relay refused ${message.to}`);
    this.sent.push(message);
  }
  lastTokenTo(to: string): string {
    const message = this.sent.filter((m) => m.to === to).at(-1);
    const token = message && /\b(\d{10})\b/.exec(message.body)?.[1];
    assert.ok(token, `no token sent to ${to}`);
    return token;
  }
}

/** Every row of audit_events, every column, read from the database itself rather than through the store. */
async function dumpAuditTable(server: TestServer): Promise<Array<Record<string, unknown>>> {
  if (!server.postgres) {
    const db = new Database(join(server.dataDir, 'mfa.sqlite'), { readonly: true });
    try {
      return db.prepare('SELECT * FROM audit_events ORDER BY id').all() as Array<Record<string, unknown>>;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: process.env['MFA_TEST_DATABASE_URL'] });
  await client.connect();
  try {
    return (await client.query(`SELECT * FROM "${server.schema}".audit_events ORDER BY id`)).rows;
  } finally {
    await client.end();
  }
}

async function getJson(server: TestServer, path: string, token?: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: await response.json() };
}

const TOKEN_ENV = {
  // Ten digits, so finding one in the dump cannot be a coincidence.
  MFA_TOKEN_LENGTH: '10',
  MFA_TOKEN_MAX_ATTEMPTS: '3',
  MFA_RATE_SENDS_PER_RECIPIENT: '1000',
  MFA_KBA_ARGON2_MEMORY_KIB: '1024',
  MFA_KBA_ARGON2_TIME_COST: '1',
  MFA_KBA_MIN_ANSWERS: '2',
};

/** The token with its last digit changed: a different wrong guess for each n from 0 to 8. */
const wrongFor = (token: string, n: number): string => `${token.slice(0, -1)}${(Number(token.at(-1)) + 1 + n) % 10}`;

describeEachDatabase('audit trail', ({ postgres }) => {
  let server: TestServer;
  let token: string;
  let clientId: string;
  let admin: string;
  const sender = new CapturingSender();
  const tokensSeen: string[] = [];

  before(async () => {
    server = await startServer({ postgres, sender, env: TOKEN_ENV });
    const credentials = await server.client(['sp:scopes:all'], 'audited app');
    clientId = credentials.clientId;
    const response = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret }),
    });
    token = ((await response.json()) as { access_token: string }).access_token;
    admin = await server.accessToken(['mfa:admin']);
  });
  after(() => server.close());

  const send = (alias: string, deliveryType = 'EMAIL_WORK') => postJson(server, '/v3/mfa/token/send', token, { userAlias: alias, deliveryType });
  const authenticate = (alias: string, guess: string, deliveryType = 'EMAIL_WORK') =>
    postJson(server, '/v3/mfa/token/authenticate', token, { token: guess, userAlias: alias, deliveryType });
  const trailOf = async (alias: string) => (await getJson(server, `/admin/v1/audit?alias=${encodeURIComponent(alias)}&order=oldest&limit=1000`, admin)).body as any[];

  it('records send, wrong, right, lockout and a send refused by the lockout, in order, address masked', async () => {
    const alias = 'audit.user';
    await server.addIdentity(alias, { email: 'audit.user@example.com', phone: '+15551234567' });

    const first = await send(alias);
    const firstToken = sender.lastTokenTo('audit.user@example.com');
    tokensSeen.push(firstToken);
    assert.equal((await authenticate(alias, wrongFor(firstToken, 0))).body.status, 'FAILED');
    assert.equal((await authenticate(alias, firstToken)).body.status, 'SUCCESS');

    const second = await send(alias, 'SMS_PERSONAL');
    const secondToken = sender.lastTokenTo('+15551234567');
    tokensSeen.push(secondToken);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await authenticate(alias, wrongFor(secondToken, i), 'SMS_PERSONAL')).body.status);
    assert.deepEqual(answers, ['FAILED', 'FAILED', 'LOCKOUT']);
    const refused = await send(alias);
    assert.equal(refused.body.status, 'FAILED');

    const rows = (await trailOf(alias)).map((e) => [e.method, e.operation, e.outcome, e.address, e.deliveryType, e.requestId, e.clientId]);
    const r1 = first.body.requestId;
    const r2 = second.body.requestId;
    assert.deepEqual(rows, [
      ['token', 'send', 'SENT', 'a***@example.com', 'EMAIL_WORK', r1, clientId],
      ['token', 'authenticate', 'FAILED', null, 'EMAIL_WORK', r1, clientId],
      ['token', 'authenticate', 'SUCCESS', null, 'EMAIL_WORK', r1, clientId],
      ['token', 'send', 'SENT', '+1********67', 'SMS_PERSONAL', r2, clientId],
      ['token', 'authenticate', 'FAILED', null, 'SMS_PERSONAL', r2, clientId],
      ['token', 'authenticate', 'FAILED', null, 'SMS_PERSONAL', r2, clientId],
      ['token', 'authenticate', 'LOCKOUT', null, 'SMS_PERSONAL', r2, clientId],
      ['token', 'send', 'LOCKOUT', null, 'EMAIL_WORK', null, clientId],
    ]);
    const events = await trailOf(alias);
    assert.equal(events[1].reason, 'wrong token');
    assert.equal(events[2].reason, null);
    assert.match(events[6].reason, /locked/i);
    for (const e of events) assert.ok(!Number.isNaN(Date.parse(e.at)), 'at is a date-time');
  });

  it('records unknown aliases and failed deliveries truthfully, though the caller is told "sent"', async () => {
    assert.equal((await send('nobody.here')).body.status, 'SUCCESS');
    const [unknown] = await trailOf('nobody.here');
    assert.equal(unknown.outcome, 'NOT_ENOUGH_DATA');
    assert.match(unknown.reason, /unknown/);
    assert.equal(unknown.address, null);

    await server.addIdentity('bounced', { email: 'bounced@example.com' });
    sender.failFor.add('bounced@example.com');
    assert.equal((await send('bounced')).body.status, 'FAILED');
    const [bounced] = await trailOf('bounced');
    assert.deepEqual([bounced.outcome, bounced.address, bounced.reason], ['FAILED', 'b***@example.com', 'the delivery service did not accept the message']);

    assert.equal((await authenticate('never.sent', '1234567890')).body.status, 'NOT_ENOUGH_DATA');
    const [noToken] = await trailOf('never.sent');
    assert.deepEqual([noToken.operation, noToken.outcome, noToken.requestId], ['authenticate', 'NOT_ENOUGH_DATA', null]);
  });

  it('records KBA checks without any answer text', async () => {
    const now = Date.now();
    await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'First pet?' }, createdAt: now });
    await server.runtime.store.putQuestion({ id: 'city', texts: { '': 'City of birth?' }, createdAt: now + 1 });
    const alias = 'kba.audited';
    await server.addIdentity(alias, { email: 'kba.audited@example.com' });
    const { runtime } = server;
    const personal = await createClient(runtime.store, runtime.clock, runtime.randomBytes, 'kba app', ['sp:scopes:all'], alias);
    const response = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: personal.clientId, client_secret: personal.clientSecret }),
    });
    const kbaToken = ((await response.json()) as { access_token: string }).access_token;
    const check = (answers: Array<{ id: string; answer: string }>) => postJson(server, '/v3/mfa/kba/authenticate', kbaToken, answers);

    assert.equal((await check([{ id: 'pet', answer: 'Zanzibarius' }, { id: 'city', answer: 'Quixotania' }])).body.status, 'NOT_ENOUGH_DATA');
    const right = [{ id: 'pet', answer: 'Zanzibarius' }, { id: 'city', answer: 'Quixotania' }];
    assert.equal((await postJson(server, '/v3/mfa/kba/config/answers', kbaToken, right)).status, 200);
    const success = await check(right);
    assert.equal(success.body.status, 'SUCCESS');
    assert.equal((await check([{ id: 'pet', answer: 'Zanzibarius' }, { id: 'city', answer: 'Wrongopolis' }])).body.status, 'FAILED');

    const events = await trailOf(alias);
    assert.deepEqual(events.map((e) => [e.method, e.operation, e.outcome, e.clientId]), [
      ['kba', 'authenticate', 'NOT_ENOUGH_DATA', personal.clientId],
      ['kba', 'authenticate', 'SUCCESS', personal.clientId],
      ['kba', 'authenticate', 'FAILED', personal.clientId],
    ]);
    assert.equal(events[1].requestId, success.headers.get('x-mfa-request-id'));

    const dump = JSON.stringify(await dumpAuditTable(server)).toLowerCase();
    for (const answer of ['zanzibarius', 'quixotania', 'wrongopolis']) assert.ok(!dump.includes(answer), `answer "${answer}" found in the audit table`);
  });

  it('holds no token and no clear address anywhere in the table', async () => {
    const rows = await dumpAuditTable(server);
    assert.ok(rows.length >= 8);
    const dump = JSON.stringify(rows);
    assert.equal(tokensSeen.length, 2);
    for (const t of tokensSeen) assert.ok(!dump.includes(t), `token ${t} found in the audit table`);
    for (const clear of ['audit.user@example.com', 'bounced@example.com', '+15551234567', '5551234567']) {
      assert.ok(!dump.includes(clear), `address ${clear} found in the audit table`);
    }
  });

  it('filters by alias, method, outcome, client and time, and pages by id both ways', async () => {
    const all = (await getJson(server, '/admin/v1/audit?limit=1000', admin)).body as any[];
    assert.ok(all.length >= 14);
    const ids = all.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first by default');

    const lockouts = (await getJson(server, '/admin/v1/audit?outcome=LOCKOUT&method=token', admin)).body as any[];
    assert.deepEqual(lockouts.map((e) => e.alias), ['audit.user', 'audit.user']);
    const kba = (await getJson(server, '/admin/v1/audit?method=kba', admin)).body as any[];
    assert.equal(kba.length, 3);
    const byClient = (await getJson(server, `/admin/v1/audit?clientId=${clientId}&limit=1000`, admin)).body as any[];
    assert.ok(byClient.length > 0 && byClient.every((e) => e.clientId === clientId));
    assert.equal(byClient.length, all.filter((e) => e.clientId === clientId).length);

    const middle = all[Math.floor(all.length / 2)];
    const since = Date.parse(middle.at);
    const later = (await getJson(server, `/admin/v1/audit?since=${since}&limit=1000`, admin)).body as any[];
    assert.ok(later.every((e) => Date.parse(e.at) >= since));
    assert.equal(later.length, all.filter((e) => Date.parse(e.at) >= since).length);
    const earlier = (await getJson(server, `/admin/v1/audit?until=${encodeURIComponent(new Date(since).toISOString())}&limit=1000`, admin)).body as any[];
    assert.equal(earlier.length + later.length, all.length);

    for (const order of ['newest', 'oldest'] as const) {
      const paged: string[] = [];
      let after = '';
      for (let page = 0; page < 100; page++) {
        const { status, body } = await getJson(server, `/admin/v1/audit?order=${order}&limit=3${after ? `&after=${after}` : ''}`, admin);
        assert.equal(status, 200);
        if (body.length === 0) break;
        assert.ok(body.length <= 3);
        paged.push(...body.map((e: any) => e.id));
        after = body.at(-1).id;
      }
      assert.deepEqual(paged, order === 'newest' ? ids : [...ids].reverse(), `paging ${order} first`);
    }
  });

  it('refuses bad filters with 400', async () => {
    for (const query of ['limit=0', 'limit=abc', 'limit=1001', 'after=xyz', 'since=yesterday', 'outcome=MAYBE', 'method=sms', 'order=random', 'colour=blue']) {
      const { status, body } = await getJson(server, `/admin/v1/audit?${query}`, admin);
      assert.equal(status, 400, query);
      assert.equal(body.detailCode, '400.1 Bad Request Content', query);
    }
  });

  it('is read with mfa:admin only', async () => {
    assert.equal((await getJson(server, '/admin/v1/audit', token)).status, 403, 'sp:scopes:all does not include mfa:admin');
    assert.equal((await getJson(server, '/admin/v1/audit')).status, 401);
  });

  it('fails closed: a decision whose row cannot be written is answered 500, never SUCCESS', async () => {
    await server.addIdentity('unrecorded', { email: 'unrecorded@example.com' });
    await send('unrecorded');
    const code = sender.lastTokenTo('unrecorded@example.com');
    const failing = mock.method(server.runtime.store, 'appendAudit', async () => {
      throw new Error('disk full');
    });
    try {
      const answer = await authenticate('unrecorded', code);
      assert.equal(answer.status, 500);
      assert.notEqual(answer.body?.status, 'SUCCESS');
    } finally {
      failing.mock.restore();
    }
  });

  it('fails closed for a wrong token too, whose row is written with the guess: the database refusing the row fails the request', async () => {
    await server.addIdentity('unwritten', { email: 'unwritten@example.com' });
    await send('unwritten');
    const code = sender.lastTokenTo('unwritten@example.com');
    await refuseAuditRows(server, true);
    try {
      const answer = await authenticate('unwritten', wrongFor(code, 0));
      assert.equal(answer.status, 500);
      assert.equal(answer.body?.status, undefined);
    } finally {
      await refuseAuditRows(server, false);
    }
    assert.equal((await authenticate('unwritten', wrongFor(code, 1))).body.status, 'FAILED', 'rows are written again');
    assert.deepEqual((await trailOf('unwritten')).map((e) => [e.operation, e.outcome]), [['send', 'SENT'], ['authenticate', 'FAILED']]);
  });
});

/** A trigger on the database itself that refuses every new audit row (as a full disk would), or its removal. */
async function refuseAuditRows(server: TestServer, refuse: boolean): Promise<void> {
  if (!server.postgres) {
    const db = new Database(join(server.dataDir, 'mfa.sqlite'));
    try {
      db.exec(refuse ? "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit rows refused'); END" : 'DROP TRIGGER refuse_audit');
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: process.env['MFA_TEST_DATABASE_URL'] });
  await client.connect();
  try {
    await client.query(`SET search_path = "${server.schema}"`);
    await client.query(
      refuse
        ? `CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit rows refused'; END $$;
           CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()`
        : 'DROP TRIGGER refuse_audit ON audit_events; DROP FUNCTION refuse_audit()',
    );
  } finally {
    await client.end();
  }
}

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly raw: string;
  readonly status: number;
}

describe('events webhook', () => {
  const SECRET = 'events-secret-for-tests';
  const RECEIVER_DELAY_MS = 1000;
  let receiver: Server;
  let server: TestServer;
  const received: Received[] = [];
  const failedOnce = new Set<string>();
  const sender = new CapturingSender();

  before(async () => {
    // Answers 500 to the first POST of each event, a second late, and 200 to the next.
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const id = String(req.headers['x-mfa-event-id']);
        const status = failedOnce.has(id) ? 200 : 500;
        failedOnce.add(id);
        received.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8'), status });
        setTimeout(() => res.writeHead(status).end(), status === 500 ? RECEIVER_DELAY_MS : 0);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as { port: number };
    server = await startServer({
      sender,
      env: {
        ...TOKEN_ENV,
        MFA_EVENTS_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/mfa`,
        MFA_EVENTS_WEBHOOK_SECRET: SECRET,
        MFA_EVENTS_WEBHOOK_RETRY_BASE_MS: '20',
      },
    });
  });
  after(async () => {
    await server.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('POSTs each event signed, and retries it after a 500 without blocking the request', async () => {
    const token = await server.accessToken(['sp:scopes:all']);
    await server.addIdentity('hooked', { email: 'hooked@example.com' });
    const started = Date.now();
    const sent = await postJson(server, '/v3/mfa/token/send', token, { userAlias: 'hooked', deliveryType: 'EMAIL_WORK' });
    assert.equal(sent.body.status, 'SUCCESS');
    assert.ok(Date.now() - started < RECEIVER_DELAY_MS, 'the request did not wait for the webhook');

    const deadline = Date.now() + 5000;
    while (received.filter((r) => r.status === 200).length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received.length, 2, 'one failed POST, one retry');
    const [first, retry] = received as [Received, Received];
    assert.equal(first.status, 500);
    assert.equal(retry.status, 200);
    assert.equal(first.raw, retry.raw, 'the retry carries the same event');

    for (const r of received) {
      const timestamp = Number(r.headers['x-mfa-timestamp']);
      assert.ok(Math.abs(timestamp - Date.now() / 1000) < 60);
      assert.equal(r.headers['x-mfa-signature'], webhookSignature(SECRET, timestamp, r.raw));
      assert.equal(r.headers['content-type'], 'application/json');
    }
    const event = JSON.parse(retry.raw);
    const admin = await server.accessToken(['mfa:admin']);
    const [row] = (await getJson(server, '/admin/v1/audit?alias=hooked', admin)).body as any[];
    assert.deepEqual(event, row, 'the webhook event is the audit row');
    assert.equal(retry.headers['x-mfa-event-id'], row.id);
    assert.deepEqual([event.outcome, event.address, event.requestId], ['SENT', 'h***@example.com', sent.body.requestId]);
    assert.ok(!retry.raw.includes(sender.lastTokenTo('hooked@example.com')));
  });
});

describe('audit trail of a provider push (Okta Verify)', () => {
  let server: TestServer;
  let okta: FakeOkta;

  before(async () => {
    okta = await startFakeOkta();
    server = await startServer({ env: { MFA_OKTA_POLL_CACHE_MS: '0' } });
  });
  after(async () => {
    await server.close();
    await okta.close();
  });

  it('records the push as SENT and its outcome once, when a poll first sees it', async () => {
    const token = await server.accessToken(['sp:scopes:all']);
    const admin = await server.accessToken(['mfa:admin']);
    const configured = await fetch(`${server.baseUrl}/v3/mfa/okta-verify/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mfaMethod: 'okta-verify', enabled: true, identityAttribute: 'email', host: okta.url, accessKey: okta.token }),
    });
    assert.equal(configured.status, 200);
    okta.addUser('pushed@example.com');
    okta.script('pushed@example.com', ['WAITING', 'REJECTED']);
    const response = await fetch(`${server.baseUrl}/v3/mfa/okta-verify/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'slpt-forwarding': '203.0.113.7' },
      body: JSON.stringify({ userId: 'pushed@example.com' }),
    });
    const started = (await response.json()) as { requestId: string; status: string };
    assert.equal(started.status, 'PENDING');
    const poll = () => postJson(server, '/v3/mfa/okta-verify/poll', token, { requestId: started.requestId });
    assert.equal((await poll()).body.status, 'PENDING');
    assert.equal((await poll()).body.status, 'FAILED');
    assert.equal((await poll()).body.status, 'FAILED');

    const events = (await getJson(server, '/admin/v1/audit?method=okta-verify&order=oldest', admin)).body as any[];
    assert.deepEqual(events.map((e) => [e.alias, e.operation, e.outcome, e.requestId, e.address]), [
      ['pushed@example.com', 'verify', 'SENT', started.requestId, null],
      ['pushed@example.com', 'poll', 'FAILED', started.requestId, null],
    ]);
    assert.match(events[1].reason, /rejected/);
  });
});

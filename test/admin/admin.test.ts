// Defends the operator API (/admin/v1): only mfa:admin reaches it, imports are all or nothing with every bad line named, and client secrets are shown once and never listed.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { digest } from '../../src/core/secrets.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: any;
}

async function call(server: TestServer, token: string | undefined, method: string, path: string, body?: { type: string; text: string }): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (body) headers['content-type'] = body.type;
  const response = await fetch(`${server.baseUrl}/admin/v1${path}`, { method, headers, ...(body ? { body: body.text } : {}) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : undefined };
}

const json = (value: unknown) => ({ type: 'application/json', text: JSON.stringify(value) });

function assertErrorResponseDto(body: any, detailCode: string): void {
  assert.equal(body.detailCode, detailCode);
  assert.match(body.trackingId, /^[0-9a-f]{32}$/);
  assert.equal(body.messages.length, 1);
  assert.equal(typeof body.messages[0].text, 'string');
  assert.ok(Array.isArray(body.causes));
}

describeEachDatabase('admin API', ({ postgres }) => {
  let server: TestServer;
  let admin: string;

  before(async () => {
    server = await startServer({ postgres });
    admin = await server.accessToken(['mfa:admin']);
  });
  after(() => server?.close());

  const aliases = async (): Promise<string[]> => {
    const listed = await call(server, admin, 'GET', '/identities?limit=1000');
    assert.equal(listed.status, 200, listed.text);
    return (listed.body as Array<{ alias: string }>).map((i) => i.alias);
  };

  it('puts, gets and deletes one identity', async () => {
    const put = await call(server, admin, 'PUT', '/identities/alice', json({ email: 'alice@example.com', phone: '+1 (415) 555-0123', attributes: { department: 'R&D' } }));
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.alias, 'alice');
    assert.equal(put.body.status, 'active');
    assert.deepEqual(put.body.attributes, { email: 'alice@example.com', phone: '+14155550123', department: 'R&D' });
    assert.match(put.body.id, /\S/);

    const got = await call(server, admin, 'GET', '/identities/alice');
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.body, put.body);

    // A second PUT replaces the identity, keeping its id.
    const replaced = await call(server, admin, 'PUT', '/identities/alice', json({ status: 'disabled', email: 'alice@corp.example' }));
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal(replaced.body.id, put.body.id);
    assert.equal(replaced.body.status, 'disabled');
    assert.deepEqual(replaced.body.attributes, { email: 'alice@corp.example' });

    const bad = await call(server, admin, 'PUT', '/identities/alice', json({ email: 'not an address' }));
    assert.equal(bad.status, 400, bad.text);
    assertErrorResponseDto(bad.body, '400.1 Bad Request Content');
    assert.match(bad.body.causes[0].text, /email/);
    assert.equal((await call(server, admin, 'GET', '/identities/alice')).body.attributes.email, 'alice@corp.example');

    const deleted = await call(server, admin, 'DELETE', '/identities/alice');
    assert.equal(deleted.status, 204);
    const gone = await call(server, admin, 'GET', '/identities/alice');
    assert.equal(gone.status, 404, gone.text);
    assertErrorResponseDto(gone.body, '404 Not found');
    assert.equal((await call(server, admin, 'DELETE', '/identities/alice')).status, 404);
  });

  it('lists identities a page at a time with limit and after', async () => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    for (const alias of [...names].reverse()) {
      assert.equal((await call(server, admin, 'PUT', `/identities/${alias}`, json({ team: 'paging' }))).status, 200);
    }
    const seen: string[] = [];
    let cursor = 'page-';
    for (;;) {
      const page = await call(server, admin, 'GET', `/identities?limit=2&after=${encodeURIComponent(cursor)}`);
      assert.equal(page.status, 200, page.text);
      const got = (page.body as Array<{ alias: string }>).map((i) => i.alias).filter((a) => a.startsWith('page-'));
      assert.ok(page.body.length <= 2, `page of ${page.body.length} with limit=2`);
      seen.push(...got);
      if (page.body.length < 2 || got.length < page.body.length) break;
      cursor = got[got.length - 1]!;
    }
    assert.deepEqual(seen, names);

    const first = await call(server, admin, 'GET', '/identities?limit=1');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.length, 1);

    for (const limit of ['0', '1001', 'abc', '-1', '2.5']) {
      const refused = await call(server, admin, 'GET', `/identities?limit=${limit}`);
      assert.equal(refused.status, 400, `limit=${limit}: ${refused.text}`);
      assertErrorResponseDto(refused.body, '400.1 Bad Request Content');
    }
    for (const alias of names) assert.equal((await call(server, admin, 'DELETE', `/identities/${alias}`)).status, 204);
  });

  it('imports JSON and CSV and reports what was created and updated', async () => {
    const fromJson = await call(
      server,
      admin,
      'POST',
      '/identities/import',
      json([
        { alias: 'imp-json-1', email: 'one@example.com' },
        { alias: 'imp-json-2', attributes: { phone: '+44 20 7946 0958' } },
      ]),
    );
    assert.equal(fromJson.status, 200, fromJson.text);
    assert.deepEqual(fromJson.body, { created: 2, updated: 0 });

    const csv = 'alias,email,department\nimp-json-1,uno@example.com,"Sales, EMEA"\nimp-csv-1,csv@example.com,"R&D ""Labs"""\n';
    const fromCsv = await call(server, admin, 'POST', '/identities/import', { type: 'text/csv; charset=utf-8', text: csv });
    assert.equal(fromCsv.status, 200, fromCsv.text);
    assert.deepEqual(fromCsv.body, { created: 1, updated: 1 });

    const one = await call(server, admin, 'GET', '/identities/imp-json-1');
    assert.deepEqual(one.body.attributes, { email: 'uno@example.com', department: 'Sales, EMEA' });
    const quoted = await call(server, admin, 'GET', '/identities/imp-csv-1');
    assert.deepEqual(quoted.body.attributes, { email: 'csv@example.com', department: 'R&D "Labs"' });
    const phone = await call(server, admin, 'GET', '/identities/imp-json-2');
    assert.deepEqual(phone.body.attributes, { phone: '+442079460958' });
  });

  it('refuses an import with bad rows, naming each line, and writes none of it', async () => {
    const before = await aliases();
    const csv = ['alias,email', 'bad-import-1,one@example.com', 'bad-import-2,not-an-email', 'bad-import-3,three@example.com', ',five@example.com', ''].join('\n');
    const refused = await call(server, admin, 'POST', '/identities/import', { type: 'text/csv', text: csv });
    assert.equal(refused.status, 400, refused.text);
    assertErrorResponseDto(refused.body, '400.1 Bad Request Content');
    const causes: string[] = refused.body.causes.map((c: { text: string }) => c.text);
    assert.equal(causes.length, 2, JSON.stringify(causes));
    assert.match(causes[0]!, /^line 3: /);
    assert.match(causes[1]!, /^line 5: /);

    const jsonText = '[\n  {"alias": "bad-json-1"},\n  {"alias": 42},\n  {"alias": "bad-json-3", "phone": "12"}\n]';
    const refusedJson = await call(server, admin, 'POST', '/identities/import', { type: 'application/json', text: jsonText });
    assert.equal(refusedJson.status, 400, refusedJson.text);
    assert.deepEqual(
      refusedJson.body.causes.map((c: { text: string }) => /^line (\d+):/.exec(c.text)?.[1]),
      ['3', '4'],
    );

    const malformed = await call(server, admin, 'POST', '/identities/import', { type: 'application/json', text: '[{"alias": "x",}]' });
    assert.equal(malformed.status, 400, malformed.text);
    assertErrorResponseDto(malformed.body, '400.1 Bad Request Content');

    assert.deepEqual(await aliases(), before);
  });

  it('refuses an import in any other content type', async () => {
    const refused = await call(server, admin, 'POST', '/identities/import', { type: 'text/plain', text: 'alias\nx\n' });
    assert.equal(refused.status, 415, refused.text);
    assert.equal((await call(server, admin, 'GET', '/identities/x')).status, 404);
  });

  it('creates a client whose secret is shown once and works at /oauth/token', async () => {
    const created = await call(server, admin, 'POST', '/clients', json({ name: 'portal', scopes: ['idn:mfa:send', 'idn:mfa:poll'] }));
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string };
    assert.match(clientId, /^[0-9a-f]{32}$/);
    assert.ok(clientSecret.length >= 43, clientSecret);
    assert.deepEqual(created.body.scopes, ['idn:mfa:send', 'idn:mfa:poll']);

    const token = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    const grant = (await token.json()) as { access_token: string; scope: string };
    assert.equal(token.status, 200, JSON.stringify(grant));
    assert.equal(grant.scope, 'idn:mfa:send idn:mfa:poll');
    // Its scopes do not include mfa:admin.
    assert.equal((await call(server, grant.access_token, 'GET', '/clients')).status, 403);

    const wrongSecret = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: `${clientSecret}x` }),
    });
    assert.equal(wrongSecret.status, 401);

    const listed = await call(server, admin, 'GET', '/clients');
    assert.equal(listed.status, 200, listed.text);
    const entry = (listed.body as Array<Record<string, unknown>>).find((c) => c['clientId'] === clientId);
    assert.deepEqual(Object.keys(entry ?? {}).sort(), ['clientId', 'created', 'name', 'scopes']);
    assert.ok(!listed.text.includes(clientSecret), 'the client list holds a secret');
    assert.ok(!listed.text.includes(digest(clientSecret)), 'the client list holds a secret digest');
    assert.doesNotMatch(listed.text, /secret/i);

    assert.equal((await call(server, admin, 'DELETE', `/clients/${clientId}`)).status, 204);
    assert.equal((await call(server, admin, 'DELETE', `/clients/${clientId}`)).status, 404);
  });

  it('refuses a client with an unknown scope or no scopes', async () => {
    const unknown = await call(server, admin, 'POST', '/clients', json({ name: 'x', scopes: ['idn:mfa:send', 'root'] }));
    assert.equal(unknown.status, 400, unknown.text);
    assertErrorResponseDto(unknown.body, '400.1 Bad Request Content');
    assert.match(unknown.body.messages[0].text, /root/);
    const none = await call(server, admin, 'POST', '/clients', json({ name: 'x', scopes: [] }));
    assert.equal(none.status, 400, none.text);
    const listed = await call(server, admin, 'GET', '/clients');
    assert.ok(!(listed.body as Array<{ name: string }>).some((c) => c.name === 'x'));
  });

  it('answers 403 to a token without mfa:admin, even sp:scopes:all, and 401 to none', async () => {
    const before = await aliases();
    for (const scopes of [['idn:mfa:send', 'idn:mfa:poll', 'idn:mfa:verify'], ['sp:scopes:all']]) {
      const token = await server.accessToken(scopes);
      const attempts: Array<[string, string, { type: string; text: string } | undefined]> = [
        ['GET', '/identities', undefined],
        ['GET', '/identities/anyone', undefined],
        ['PUT', '/identities/intruder', json({ email: 'x@example.com' })],
        ['DELETE', '/identities/anyone', undefined],
        ['POST', '/identities/import', json([{ alias: 'intruder' }])],
        ['POST', '/identities/import', { type: 'text/csv', text: 'alias\nintruder\n' }],
        ['GET', '/clients', undefined],
        ['POST', '/clients', json({ name: 'backdoor', scopes: ['mfa:admin'] })],
        ['DELETE', '/clients/anything', undefined],
        ['POST', '/keys/rotate', undefined],
      ];
      for (const [method, path, body] of attempts) {
        const answer = await call(server, token, method, path, body);
        assert.equal(answer.status, 403, `${scopes.join(' ')} ${method} ${path}: ${answer.text}`);
        assertErrorResponseDto(answer.body, '403 Forbidden');
      }
      const anonymous = await call(server, undefined, 'GET', '/clients');
      assert.equal(anonymous.status, 401);
    }
    assert.deepEqual(await aliases(), before);
    const clients = await call(server, admin, 'GET', '/clients');
    assert.ok(!(clients.body as Array<{ name: string }>).some((c) => c.name === 'backdoor'));
  });
});

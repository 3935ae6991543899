// The console over HTTP, as a browser would drive it (no passkey: the session is made in storage):
// every page answers under the strict page headers, an admin's changes are audited with the operator's
// name, and the audit export holds them in CSV and JSON.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../../src/web/page.js';
import { auditCsv } from '../../src/web/console/index.js';
import { consoleBrowser } from '../helpers/console.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

const PAGES = ['/console', '/console/identities', '/console/identity?alias=ann', '/console/verifications', '/console/audit', '/console/providers', '/console/clients', '/console/questions', '/console/keys'];

describeEachDatabase('The console over HTTP', ({ postgres }) => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ postgres });
    await server.addIdentity('ann', { email: 'ann@example.com' });
  });
  after(() => server?.close());

  it('without a session every page sends the browser to sign in', async () => {
    for (const path of PAGES) {
      const answer = await fetch(`${server.baseUrl}${path}`, { redirect: 'manual' });
      assert.equal(answer.status, 303, path);
      assert.equal(answer.headers.get('location'), '/console/sign-in', path);
    }
    const signIn = await fetch(`${server.baseUrl}/console/sign-in`);
    assert.equal(signIn.status, 200);
    assert.equal(signIn.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  });

  it('a signed-in viewer reads every page, in the language asked for, under the page headers', async () => {
    const viewer = await consoleBrowser(server, 'viewer.pages@example.com', 'viewer');
    for (const path of PAGES) {
      const answer = await viewer.get(path);
      assert.equal(answer.status, 200, `${path}: ${answer.text.slice(0, 300)}`);
      assert.equal(answer.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, path);
      assert.equal(answer.headers.get('cache-control'), 'no-store', path);
      assert.match(answer.text, /Signed in as viewer\.pages@example\.com \(viewer\)/, path);
    }
    const de = await viewer.get('/console/identities?lang=de');
    assert.match(de.text, /<html lang="de">/);
    assert.match(de.text, /Identitäten/);
    const fr = await viewer.get('/console/keys?lang=fr');
    assert.match(fr.text, /Clés de signature/);
  });

  it('an admin creates a client (secret shown once), and the export names the admin for it', async () => {
    const admin = await consoleBrowser(server, 'admin.http@example.com', 'admin');
    await admin.get('/console/clients?lang=en');
    const created = await admin.post('/console/clients', { name: 'billing app', scopes: 'idn:mfa:send, idn:mfa:verify' });
    assert.equal(created.status, 201, created.text);
    const clientId = /id="client-id">([0-9a-f]+)</.exec(created.text)?.[1];
    const secret = /id="client-secret">([^<]+)</.exec(created.text)?.[1];
    assert.ok(clientId && secret);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    // The client works with that secret, and the list never shows it again.
    await server.tokenOf(clientId, secret);
    const list = await admin.get('/console/clients');
    assert.ok(list.text.includes(clientId));
    assert.ok(!list.text.includes(secret));

    const json = await admin.get('/console/audit/export?format=json');
    assert.equal(json.status, 200);
    assert.match(json.headers.get('content-disposition') ?? '', /attachment; filename="audit\.json"/);
    const events = JSON.parse(json.text) as Array<Record<string, unknown>>;
    const event = events.find((e) => e['alias'] === clientId);
    assert.deepEqual([event?.['method'], event?.['operation'], event?.['clientId']], ['console', 'change', 'operator:admin.http@example.com']);
    const csv = await admin.get(`/console/audit/export?format=csv&client=${encodeURIComponent('operator:admin.http@example.com')}`);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    assert.ok(csv.text.split('\r\n')[0]!.startsWith('id,at,method,operation,alias,clientId'));
    assert.ok(csv.text.includes(`"${clientId}"`));
  });

  it('a provider configuration saved from the console keeps a masked secret, never shows it, and refuses it on a new host', async () => {
    const admin = await consoleBrowser(server, 'admin.providers@example.com', 'admin');
    await admin.get('/console/providers');
    const save = (fields: Record<string, string>) => admin.post('/console/providers/save', { method: 'rsa', identityAttribute: 'email', configProperties: '{"clientId":"agent-1"}', ...fields });
    assert.equal((await save({ host: 'rsa.example.com', accessKey: 'rsa-secret-value-1' })).status, 303);
    const page = await admin.get('/console/providers');
    assert.ok(!page.text.includes('rsa-secret-value-1'), 'the secret is never on the page');
    assert.ok(page.text.includes('r******1'));
    assert.equal((await save({ host: 'rsa.example.com', accessKey: 'r******1' })).status, 303);
    assert.equal((await server.runtime.providers.configs.get('rsa'))?.accessKey, 'rsa-secret-value-1', 'the masked value kept the stored secret');
    const moved = await save({ host: 'rsa.elsewhere.example', accessKey: 'r******1' });
    assert.equal(moved.status, 400);
    assert.match(moved.text, /the host changed, so the secret must be sent in full/);
    assert.equal((await server.runtime.providers.configs.get('rsa'))?.host, 'rsa.example.com');
    const events = await server.runtime.store.queryAudit({ clientId: 'operator:admin.providers@example.com', limit: 10 });
    assert.deepEqual(events.map((e) => [e.method, e.alias, e.reason]), [['console', 'rsa', 'provider configuration saved'], ['console', 'rsa', 'provider configuration saved']]);
  });

  it('a bad filter is a 400 page, not a 500', async () => {
    const viewer = await consoleBrowser(server, 'viewer.filters@example.com', 'viewer');
    for (const path of ['/console/audit?method=nope', '/console/audit?since=yesterday', '/console/verifications?outcome=MAYBE']) {
      const answer = await viewer.get(path);
      assert.equal(answer.status, 400, path);
      assert.match(answer.headers.get('content-type') ?? '', /^text\/html/);
    }
  });
});

it('the CSV export quotes every field and defuses spreadsheet formulas', () => {
  const csv = auditCsv([{ id: '1', at: 'x', method: 'token', operation: 'send', alias: '=HYPERLINK("x")', clientId: '+c', address: null, deliveryType: null, outcome: 'SENT', reason: 'a "b"', requestId: '@r' }]);
  const [, row] = csv.split('\r\n');
  assert.equal(row, `"1","x","token","send","'=HYPERLINK(""x"")","'+c","","","SENT","a ""b""","'@r"`);
});

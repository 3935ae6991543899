// Defends the viewer role: an operator who may only read the console changes nothing, whatever the page
// shows and whatever it posts. The server refuses every change with 403 (with a valid session, token and
// Origin), and the lockout, clients, keys, questions and factors stay as they were; nothing is audited.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { consoleBrowser } from '../helpers/console.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

describeEachDatabase('console: a viewer cannot change anything', ({ postgres }) => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ postgres });
    await server.addIdentity('viewed', { email: 'viewed@example.com' });
  });
  after(() => server?.close());

  it('every change route answers 403 to a viewer and changes nothing', async () => {
    const store = server.runtime.store;
    const now = Date.now();
    await store.lock('viewed', 'token', now + 600_000);
    const client = await server.client(['idn:mfa:send'], 'kept client');
    await store.putQuestion({ id: 'pet', texts: { '': 'Your first pet?' }, createdAt: now });
    const keysBefore = await store.listSigningKeys();
    const viewer = await consoleBrowser(server, 'viewer@example.com', 'viewer');
    await viewer.get('/console/identity?alias=viewed');

    const changes: Array<[string, Record<string, string>]> = [
      ['/console/identity/unlock', { alias: 'viewed' }],
      ['/console/identity/invite', { alias: 'viewed' }],
      ['/console/identity/reset', { alias: 'viewed', factor: 'kba' }],
      ['/console/clients', { name: 'by a viewer', scopes: 'sp:scopes:all' }],
      ['/console/clients/disable', { clientId: client.clientId }],
      ['/console/clients/delete', { clientId: client.clientId }],
      ['/console/questions', { id: 'pet', text: 'Changed?' }],
      ['/console/questions/remove', { id: 'pet' }],
      ['/console/keys/rotate', { retirePrevious: 'true' }],
      ['/console/providers/test', { method: 'rsa' }],
      ['/console/providers/save', { method: 'rsa', host: 'rsa.example.com', accessKey: 'x'.repeat(20), identityAttribute: 'email' }],
    ];
    for (const [path, fields] of changes) {
      const answer = await viewer.post(path, fields);
      assert.equal(answer.status, 403, `${path}: ${answer.status}`);
      assert.match(answer.text, /Your role can read the console but not change anything\./, path);
    }
    assert.ok((await store.lockedUntil('viewed', 'token')) > now, 'the lockout stays');
    const kept = await store.findClient(client.clientId);
    assert.ok(kept && kept.disabledAt === null, 'the client stays, enabled');
    assert.equal((await store.listClients()).length, 1);
    assert.deepEqual((await store.listQuestions()).map((q) => q.texts), [{ '': 'Your first pet?' }]);
    assert.equal(await server.runtime.providers.configs.get('rsa'), undefined, 'no provider configured');
    assert.deepEqual((await store.listSigningKeys()).map((k) => [k.kid, k.retiredAt, k.revokedAt]), keysBefore.map((k) => [k.kid, k.retiredAt, k.revokedAt]));
    assert.deepEqual(await store.queryAudit({ clientId: 'operator:viewer@example.com', limit: 10 }), [], 'nothing done in the viewer\u2019s name');

    // The same session reads, and signs out (which changes only itself).
    assert.equal((await viewer.get('/console/clients')).status, 200);
    assert.equal((await viewer.post('/console/sign-out', {})).status, 303);
    assert.equal((await viewer.get('/console')).status, 303);
  });

  it('an admin\u2019s same forms are accepted (the refusal above is the role, not the form)', async () => {
    const admin = await consoleBrowser(server, 'admin@example.com', 'admin');
    await admin.get('/console/identity?alias=viewed');
    assert.equal((await admin.post('/console/identity/unlock', { alias: 'viewed' })).status, 303);
    assert.equal(await server.runtime.store.lockedUntil('viewed', 'token'), 0);
  });
});

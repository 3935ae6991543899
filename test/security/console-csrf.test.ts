// Defends the console against cross-site request forgery: another site making a signed-in operator's
// browser unlock someone, create a client or rotate the signing key, and forged passkey calls before
// sign-in. Every change is refused with 403, changing nothing, unless it carries its session's token
// and comes from the service's own Origin.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { consoleBrowser } from '../helpers/console.js';
import type { PortalBrowser } from '../helpers/portal.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

const EVIL = 'https://evil.example';
const POLICY = { windowMs: 900_000, maxFailures: 3, lockoutMs: 900_000 };

describeEachDatabase('console CSRF', ({ postgres }) => {
  let server: TestServer;
  let n = 0;
  before(async () => {
    server = await startServer({ postgres });
  });
  after(() => server?.close());

  async function forgeries(victim: PortalBrowser): Promise<Array<[string, { origin?: string | null; csrf?: string | null }]>> {
    const attacker = await consoleBrowser(server, `attacker.${++n}@example.com`, 'admin');
    await attacker.get('/console');
    return [
      ['no form token', { csrf: null }],
      ['a wrong form token', { csrf: 'A'.repeat(64) }],
      ["another operator's session token", { csrf: attacker.csrf! }],
      ['a foreign Origin', { origin: EVIL, csrf: victim.csrf! }],
      ['Origin null', { origin: 'null', csrf: victim.csrf! }],
      ['no Origin', { origin: null, csrf: victim.csrf! }],
    ];
  }

  it('an unlock, a new client and a key rotation are refused without the session token and own Origin, and nothing changes', async () => {
    const alias = 'csrf.locked';
    const store = server.runtime.store;
    const now = Date.now();
    await store.lock(alias, 'token', now + 600_000);
    for (let i = 0; i < POLICY.maxFailures; i++) await store.recordFailure(alias, 'token', POLICY, now);
    const adminEmail = `admin.${++n}@example.com`;
    const admin = await consoleBrowser(server, adminEmail, 'admin');
    await admin.get(`/console/identity?alias=${alias}`);
    const clientsBefore = (await store.listClients()).length;
    const keysBefore = (await store.listSigningKeys()).length;

    for (const [how, options] of await forgeries(admin)) {
      for (const [path, fields] of [
        ['/console/identity/unlock', { alias }],
        ['/console/clients', { name: 'forged', scopes: 'sp:scopes:all' }],
        ['/console/keys/rotate', {}],
      ] as const) {
        const answer = await admin.post(path, fields, options);
        assert.equal(answer.status, 403, `${path} with ${how}: ${answer.status}`);
      }
    }
    assert.ok((await store.lockedUntil(alias, 'token')) > now, 'the lockout stays');
    assert.equal((await store.listClients()).length, clientsBefore);
    assert.equal((await store.listSigningKeys()).length, keysBefore);
    assert.deepEqual(await store.queryAudit({ clientId: `operator:${adminEmail}`, limit: 10 }), [], 'no change recorded in the operator\u2019s name');

    // The same forms with the session's token from the service's own origin are accepted.
    await admin.get(`/console/identity?alias=${alias}`);
    assert.equal((await admin.post('/console/identity/unlock', { alias })).status, 303);
    assert.equal(await store.lockedUntil(alias, 'token'), 0);
  });

  it('the passkey calls before sign-in need the pre-session token and the own Origin', async () => {
    const page = await fetch(`${server.baseUrl}/console/sign-in`);
    const cookie = page.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    const token = /data-csrf="([^"]+)"/.exec(await page.text())?.[1];
    assert.ok(token && cookie.includes('mfa-console-pre='));
    const call = (headers: Record<string, string>) =>
      fetch(`${server.baseUrl}/console/sign-in/options`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    assert.equal((await call({ cookie, origin: server.baseUrl })).status, 403, 'no token');
    assert.equal((await call({ cookie, origin: EVIL, 'x-csrf-token': token })).status, 403, 'foreign origin');
    assert.equal((await call({ origin: server.baseUrl, 'x-csrf-token': token })).status, 403, 'no pre-session cookie');
    const accepted = await call({ cookie, origin: server.baseUrl, 'x-csrf-token': token });
    assert.equal(accepted.status, 200);
    const { options } = (await accepted.json()) as { options: { challenge: string; allowCredentials?: unknown[] } };
    assert.ok(options.challenge.length >= 43);
    assert.deepEqual(options.allowCredentials ?? [], [], 'the options name no operator');
  });
});

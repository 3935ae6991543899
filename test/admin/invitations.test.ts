// Defends invitations to the self-service portal from the operator API: only mfa:admin sends them, only
// to an active identity with an email, through the configured delivery (the outbox here), and the link
// comes back once, never cached.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { readOutbox } from '../../src/delivery/outbox.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';

async function inviteCall(server: TestServer, token: string, alias: string): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${server.baseUrl}/admin/v1/identities/${encodeURIComponent(alias)}/invitations`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

describeEachDatabase('invitations by the operator API', ({ postgres }) => {
  let server: TestServer;
  let admin: string;

  before(async () => {
    server = await startServer({ postgres, env: { MFA_PUBLIC_URL: 'https://mfa.example.com' } });
    admin = await server.accessToken(['mfa:admin']);
    await server.addIdentity('ada', { email: 'ada@example.com', locale: 'fr' });
    await server.addIdentity('no.mail', { phone: '+15555550100' });
    await server.runtime.store.upsertIdentities([{ alias: 'gone.quiet', status: 'disabled', attributes: { email: 'quiet@example.com' } }], () => 'id-quiet', Date.now());
  });
  after(() => server?.close());

  it('sends the link to the identity\'s email in its language and answers it once, not cached', async () => {
    const answer = await inviteCall(server, admin, 'ada');
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(answer.body).sort(), ['alias', 'delivered', 'expires', 'link', 'sentTo']);
    assert.equal(answer.body.alias, 'ada');
    assert.equal(answer.body.sentTo, 'a***@example.com');
    assert.equal(answer.body.delivered, true);
    assert.match(answer.body.link, /^https:\/\/mfa\.example\.com\/portal\/invitation#[A-Za-z0-9_-]{43}$/);
    const hours = (Date.parse(answer.body.expires) - Date.now()) / 3_600_000;
    assert.ok(hours > 23.9 && hours <= 24, `expires in ${hours} h`);
    const sent = (await readOutbox(server.dataDir)).filter((m) => m.to === 'ada@example.com');
    assert.equal(sent.length, 1);
    assert.ok(sent[0]!.body.includes(answer.body.link), 'the email carries the same link');
    assert.match(sent[0]!.subject, /connexion/, 'in the identity\'s locale');
  });

  it('refuses an unknown identity (404), one without email (400), a disabled one (409), sending nothing', async () => {
    const before = (await readOutbox(server.dataDir)).length;
    assert.equal((await inviteCall(server, admin, 'nobody')).status, 404);
    const noMail = await inviteCall(server, admin, 'no.mail');
    assert.equal(noMail.status, 400);
    assert.match(noMail.body.messages[0].text, /no email/);
    assert.equal((await inviteCall(server, admin, 'gone.quiet')).status, 409);
    assert.equal((await readOutbox(server.dataDir)).length, before);
  });

  it('is refused to a token without mfa:admin, whatever else it holds', async () => {
    const other = await server.accessToken(['sp:scopes:all']);
    assert.equal((await inviteCall(server, other, 'ada')).status, 403);
    const personal = await (await server.personalClient('ada')).token();
    assert.equal((await inviteCall(server, personal, 'ada')).status, 403);
  });
});

describeEachDatabase('invitations with the portal switched off', ({ postgres }) => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ postgres, env: { MFA_PORTAL_ENABLED: 'false' } });
    await server.addIdentity('ada', { email: 'ada@example.com' });
  });
  after(() => server?.close());

  it('serves no portal and sends no invitation nobody could use', async () => {
    assert.equal((await fetch(`${server.baseUrl}/portal/sign-in`)).status, 404);
    const answer = await inviteCall(server, await server.accessToken(['mfa:admin']), 'ada');
    assert.equal(answer.status, 409);
    assert.match(answer.body.messages[0].text, /MFA_PORTAL_ENABLED/);
    assert.deepEqual(await readOutbox(server.dataDir), []);
  });
});

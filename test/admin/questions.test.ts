// Defends the operator API for security questions and personal clients: only mfa:admin manages them, a bad id, text or locale is a 400 naming each problem with nothing written, removing a question removes the answers to it, and a personal client is made only for an existing identity and never with mfa:admin or mfa:impersonate.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly body: any;
}

async function call(server: TestServer, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.baseUrl}/admin/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA';

describeEachDatabase('admin API: security questions and personal clients', ({ postgres }) => {
  let server: TestServer;
  let admin: string;

  before(async () => {
    server = await startServer({ postgres });
    admin = await server.accessToken(['mfa:admin']);
    await server.addIdentity('alice', { email: 'alice@example.com' });
    await server.addIdentity('bob', { email: 'bob@example.com' });
  });
  after(() => server?.close());

  const questions = async (): Promise<Array<{ id: string; texts: Record<string, string>; numAnswers: number }>> => {
    const listed = await call(server, admin, 'GET', '/kba/questions');
    assert.equal(listed.status, 200, listed.text);
    return listed.body;
  };

  it('creates a question, adds and replaces a locale text, and lists them', async () => {
    assert.deepEqual(await questions(), []);
    const created = await call(server, admin, 'PUT', '/kba/questions/first-pet', { text: '  What was the name of your first pet? ' });
    assert.equal(created.status, 200, created.text);
    assert.deepEqual(created.body, { id: 'first-pet', texts: { '': 'What was the name of your first pet?' }, numAnswers: 0 });

    const french = await call(server, admin, 'PUT', '/kba/questions/first-pet', { text: 'Quel était le nom de votre premier animal ?', locale: 'fr' });
    assert.equal(french.status, 200, french.text);
    assert.deepEqual(french.body.texts, { '': 'What was the name of your first pet?', fr: 'Quel était le nom de votre premier animal ?' });

    const replaced = await call(server, admin, 'PUT', '/kba/questions/first-pet', { text: 'Name of your first pet?' });
    assert.equal(replaced.status, 200, replaced.text);
    await call(server, admin, 'PUT', '/kba/questions/birth-city', { text: 'In which city were you born?', locale: 'en-GB' });

    assert.deepEqual(await questions(), [
      { id: 'first-pet', texts: { '': 'Name of your first pet?', fr: 'Quel était le nom de votre premier animal ?' }, numAnswers: 0 },
      { id: 'birth-city', texts: { 'en-GB': 'In which city were you born?' }, numAnswers: 0 },
    ]);
  });

  it('refuses a bad id, text or locale with 400 naming every problem, and writes nothing', async () => {
    const before = await questions();
    const refusals: Array<[string, unknown, RegExp[]]> = [
      ['/kba/questions/has%20space', { text: 'Fine?' }, [/question id/]],
      [`/kba/questions/${'x'.repeat(129)}`, { text: 'Fine?' }, [/question id/]],
      ['/kba/questions/first-pet', { text: '' }, [/text is empty/]],
      ['/kba/questions/first-pet', { text: 'two\nlines' }, [/control character/]],
      ['/kba/questions/first-pet', { text: 'é'.repeat(501) }, [/longer than 500/]],
      ['/kba/questions/first-pet', { text: 42 }, [/text must be a string/]],
      ['/kba/questions/first-pet', {}, [/text must be a string/]],
      ['/kba/questions/first-pet', { text: 'Fine?', locale: 'fr_FR' }, [/locale/]],
      ['/kba/questions/first-pet', { text: 'Fine?', locale: 7 }, [/locale/]],
      ['/kba/questions/bad%2Fid', { text: '\u0007', locale: 'english' }, [/question id/, /control character/, /locale/]],
    ];
    for (const [path, body, causes] of refusals) {
      const refused = await call(server, admin, 'PUT', path, body);
      assert.equal(refused.status, 400, `${path} ${JSON.stringify(body)}: ${refused.text}`);
      assert.equal(refused.body.detailCode, '400.1 Bad Request Content');
      assert.match(refused.body.messages[0].text, /question is not valid/);
      const texts: string[] = refused.body.causes.map((c: { text: string }) => c.text);
      assert.equal(texts.length, causes.length, JSON.stringify(texts));
      causes.forEach((cause, i) => assert.match(texts[i]!, cause, JSON.stringify(texts)));
    }
    assert.deepEqual(await questions(), before);
  });

  it('counts answers, and DELETE removes a question with its answers; 404 when unknown', async () => {
    const alice = (await server.runtime.store.findIdentity('alice'))!;
    const bob = (await server.runtime.store.findIdentity('bob'))!;
    const now = server.runtime.clock.now();
    await server.runtime.store.replaceAnswers(alice.id, [{ questionId: 'first-pet', answerHash: HASH }, { questionId: 'birth-city', answerHash: HASH }], now);
    await server.runtime.store.replaceAnswers(bob.id, [{ questionId: 'first-pet', answerHash: HASH }], now);
    assert.deepEqual(
      (await questions()).map((q) => [q.id, q.numAnswers]),
      [
        ['first-pet', 2],
        ['birth-city', 1],
      ],
    );
    // Setting a text keeps the answers, and the PUT reports them.
    const retexted = await call(server, admin, 'PUT', '/kba/questions/first-pet', { text: 'Erster Haustiername?', locale: 'de' });
    assert.equal(retexted.body.numAnswers, 2, retexted.text);

    const removed = await call(server, admin, 'DELETE', '/kba/questions/first-pet');
    assert.equal(removed.status, 204, removed.text);
    assert.deepEqual(
      (await questions()).map((q) => q.id),
      ['birth-city'],
    );
    assert.deepEqual(
      (await server.runtime.store.listAnswers(alice.id)).map((a) => a.questionId),
      ['birth-city'],
    );
    assert.deepEqual(await server.runtime.store.listAnswers(bob.id), []);

    const again = await call(server, admin, 'DELETE', '/kba/questions/first-pet');
    assert.equal(again.status, 404, again.text);
    assert.equal(again.body.detailCode, '404 Not found');
  });

  it('answers 403 to every question call from a token without mfa:admin, even sp:scopes:all', async () => {
    const before = await questions();
    for (const scopes of [['idn:mfa-kba:read', 'idn:mfa-kba:authenticate'], ['sp:scopes:all']]) {
      const token = await server.accessToken(scopes);
      const attempts: Array<[string, string, unknown]> = [
        ['GET', '/kba/questions', undefined],
        ['PUT', '/kba/questions/intruder', { text: 'Who are you?' }],
        ['PUT', '/kba/questions/birth-city', { text: 'Hijacked?' }],
        ['DELETE', '/kba/questions/birth-city', undefined],
      ];
      for (const [method, path, body] of attempts) {
        const answer = await call(server, token, method, path, body);
        assert.equal(answer.status, 403, `${scopes.join(' ')} ${method} ${path}: ${answer.text}`);
        assert.equal(answer.body.detailCode, '403 Forbidden');
      }
    }
    assert.deepEqual(await questions(), before);
  });

  it('creates a personal client for an existing identity, listed with it, whose token works', async () => {
    const created = await postJson(server, '/admin/v1/clients', admin, { name: 'alice laptop', scopes: ['idn:mfa-kba:read'], identityAlias: 'alice' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.identityAlias, 'alice');
    const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string };

    const service = await postJson(server, '/admin/v1/clients', admin, { name: 'portal', scopes: ['idn:mfa:send'], identityAlias: null });
    assert.equal(service.status, 201, JSON.stringify(service.body));
    assert.equal(service.body.identityAlias, null);

    const listed = await call(server, admin, 'GET', '/clients');
    assert.equal(listed.status, 200, listed.text);
    const entries = listed.body as Array<Record<string, unknown>>;
    assert.equal(entries.find((c) => c['clientId'] === clientId)?.['identityAlias'], 'alice');
    assert.ok(!('identityAlias' in (entries.find((c) => c['clientId'] === service.body.clientId) ?? {})));
    assert.ok(!listed.text.includes(clientSecret));

    const grant = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    assert.equal(grant.status, 200, await grant.text());
  });

  it('refuses a personal client for an unknown identity or with mfa:admin or mfa:impersonate, creating none', async () => {
    const other = await server.accessToken(['sp:scopes:all']);
    const count = async () => ((await call(server, admin, 'GET', '/clients')).body as unknown[]).length;
    const before = await count();
    const refusals: Array<[unknown, RegExp]> = [
      [{ name: 'ghost', scopes: ['idn:mfa-kba:read'], identityAlias: 'nobody' }, /nobody/],
      [{ name: 'escalate', scopes: ['mfa:admin'], identityAlias: 'alice' }, /mfa:admin/],
      [{ name: 'escalate', scopes: ['idn:mfa:send', 'mfa:impersonate'], identityAlias: 'alice' }, /mfa:impersonate/],
      [{ name: 'empty', scopes: ['idn:mfa:send'], identityAlias: '' }, /identityAlias/],
      [{ name: 'typed', scopes: ['idn:mfa:send'], identityAlias: 12 }, /identityAlias/],
    ];
    for (const [body, message] of refusals) {
      const refused = await postJson(server, '/admin/v1/clients', admin, body);
      assert.equal(refused.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(refused.body)}`);
      assert.equal(refused.body.detailCode, '400.1 Bad Request Content');
      const said = [refused.body.messages[0].text, ...refused.body.causes.map((c: { text: string }) => c.text)].join('\n');
      assert.match(said, message, JSON.stringify(body));
    }
    assert.equal(await count(), before);

    // Only an admin may make one at all.
    const forbidden = await postJson(server, '/admin/v1/clients', other, { name: 'self-serve', scopes: ['idn:mfa-kba:read'], identityAlias: 'alice' });
    assert.equal(forbidden.status, 403, JSON.stringify(forbidden.body));
    assert.equal(await count(), before);
  });
});

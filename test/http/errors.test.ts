// Defends the HTTP boundary against hostile or malformed input: every refusal is the spec's ErrorResponseDto, nothing is coerced, and no internal detail leaks from a 500.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';

const BODY_LIMIT_BYTES = 1024;
const DELIVERY_TYPES = 'SMS_PERSONAL, VOICE_PERSONAL, SMS_WORK, VOICE_WORK, EMAIL_WORK, EMAIL_PERSONAL';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: any;
}

async function request(server: TestServer, method: string, path: string, init: { token?: string; contentType?: string; body?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  if (init.contentType) headers['content-type'] = init.contentType;
  const response = await fetch(`${server.baseUrl}${path}`, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}) });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

function assertErrorResponseDto(answer: Answer, status: number, detailCode: string): void {
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(answer.body).sort(), ['causes', 'detailCode', 'messages', 'trackingId']);
  assert.equal(answer.body.detailCode, detailCode);
  assert.match(answer.body.trackingId, /^[0-9a-f]{32}$/);
  assert.equal(answer.body.messages.length, 1);
  assert.equal(answer.body.messages[0].locale, 'en-US');
  assert.equal(answer.body.messages[0].localeOrigin, 'DEFAULT');
  assert.equal(typeof answer.body.messages[0].text, 'string');
  for (const cause of answer.body.causes) {
    assert.equal(cause.locale, 'en-US');
    assert.equal(cause.localeOrigin, 'DEFAULT');
  }
}

/** A 400 from schema validation, whose causes are exactly the given texts. */
function assertInvalid(answer: Answer, causes: readonly string[]): void {
  assertErrorResponseDto(answer, 400, '400.1 Bad Request Content');
  assert.equal(answer.body.messages[0].text, 'The request is not valid.');
  assert.deepEqual(answer.body.causes.map((c: { text: string }) => c.text), causes);
}

describe('request validation against the official schemas', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startServer({ env: { MFA_BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) } });
    await server.addIdentity('will.albin', { email: 'will.albin@example.com' });
    token = await server.accessToken(['sp:scopes:all']);
  });
  after(() => server.close());

  const send = (prefix: string, body: string, contentType = 'application/json') =>
    request(server, 'POST', `${prefix}/mfa/token/send`, { token, contentType, body });

  for (const prefix of ['/v3', '/beta']) {
    describe(prefix, () => {
      it('accepts a valid request (the baseline the refusals below differ from)', async () => {
        const answer = await send(prefix, JSON.stringify({ userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' }));
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.body.status, 'SUCCESS');
      });

      it('refuses a missing required field, naming it', async () => {
        assertInvalid(await send(prefix, JSON.stringify({ deliveryType: 'EMAIL_WORK' })), ['body: missing required field "userAlias"']);
        assertInvalid(await send(prefix, JSON.stringify({ userAlias: 'will.albin' })), ['body: missing required field "deliveryType"']);
      });

      it('refuses a number for userAlias instead of coercing it to a string', async () => {
        assertInvalid(await send(prefix, JSON.stringify({ userAlias: 12345, deliveryType: 'EMAIL_WORK' })), ['body.userAlias: must be string']);
        assertInvalid(await send(prefix, JSON.stringify({ userAlias: true, deliveryType: 'EMAIL_WORK' })), ['body.userAlias: must be string']);
        assertInvalid(await send(prefix, JSON.stringify({ userAlias: ['will.albin'], deliveryType: 'EMAIL_WORK' })), ['body.userAlias: must be string']);
      });

      it('refuses null for a non-nullable field', async () => {
        assertInvalid(await send(prefix, JSON.stringify({ userAlias: null, deliveryType: 'EMAIL_WORK' })), ['body.userAlias: must be string']);
        assertInvalid(await send(prefix, JSON.stringify({ userAlias: 'will.albin', deliveryType: null })), ['body.deliveryType: must be string']);
      });

      it('refuses an unknown deliveryType, listing the allowed ones', async () => {
        for (const deliveryType of ['EMAIL', 'email_work', 'EMAIL_WORK ']) {
          assertInvalid(await send(prefix, JSON.stringify({ userAlias: 'will.albin', deliveryType })), [`body.deliveryType: must be one of ${DELIVERY_TYPES}`]);
        }
      });

      it('refuses a wrongly typed field of token/authenticate', async () => {
        const answer = await request(server, 'POST', `${prefix}/mfa/token/authenticate`, {
          token,
          contentType: 'application/json',
          body: JSON.stringify({ token: 123456, userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' }),
        });
        assertInvalid(answer, ['body.token: must be string']);
      });

      it('refuses an unknown {method} in /mfa/{method}/poll', async () => {
        const answer = await request(server, 'POST', `${prefix}/mfa/sms/poll`, { token, contentType: 'application/json', body: JSON.stringify({ requestId: 'f'.repeat(32) }) });
        assertInvalid(answer, ['params.method: must be one of okta-verify, duo-web, kba, token, rsa, totp, passkey']);
        const known = await request(server, 'POST', `${prefix}/mfa/token/poll`, { token, contentType: 'application/json', body: JSON.stringify({ requestId: 'f'.repeat(32) }) });
        assert.equal(known.status, 200, known.text);
      });

      it('refuses malformed JSON', async () => {
        const answer = await send(prefix, '{"userAlias": "will.albin", "deliveryType": ');
        assertErrorResponseDto(answer, 400, '400.1 Bad Request Content');
        assert.deepEqual(answer.body.causes, []);
      });

      it('refuses an empty body, with or without a JSON content type', async () => {
        const withType = await send(prefix, '');
        assertErrorResponseDto(withType, 400, '400.1 Bad Request Content');
        assert.equal(withType.body.messages[0].text, "Body cannot be empty when content-type is set to 'application/json'");

        const withoutType = await request(server, 'POST', `${prefix}/mfa/token/send`, { token });
        assertInvalid(withoutType, ['body: must be object']);
      });

      it('refuses JSON null, an array and a string instead of an object', async () => {
        assertInvalid(await send(prefix, 'null'), ['body: must be object']);
        assertInvalid(await send(prefix, JSON.stringify([{ userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' }])), ['body: must be object']);
        assertInvalid(await send(prefix, '"will.albin"'), ['body: must be object']);
      });

      it('refuses a content type that is not JSON', async () => {
        const form = await send(prefix, 'userAlias=will.albin&deliveryType=EMAIL_WORK', 'application/x-www-form-urlencoded');
        assertErrorResponseDto(form, 415, '415 Unsupported Media Type');
        const xml = await send(prefix, '<userAlias>will.albin</userAlias>', 'application/xml');
        assertErrorResponseDto(xml, 415, '415 Unsupported Media Type');
        // text/plain has Fastify's built-in parser: it reaches the schema as a string, which is not an object.
        assertInvalid(await send(prefix, JSON.stringify({ userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' }), 'text/plain'), ['body: must be object']);
      });

      it('refuses a body over MFA_BODY_LIMIT_BYTES with 413', async () => {
        const body = JSON.stringify({ userAlias: 'will.albin', deliveryType: 'EMAIL_WORK', padding: 'x'.repeat(BODY_LIMIT_BYTES) });
        assert.ok(Buffer.byteLength(body) > BODY_LIMIT_BYTES);
        const answer = await send(prefix, body);
        assertErrorResponseDto(answer, 413, '413 Payload Too Large');
        assert.deepEqual(answer.body.causes, []);
      });

      it('accepts fields the schema does not name (the spec does not forbid them)', async () => {
        const answer = await send(prefix, JSON.stringify({ userAlias: 'will.albin', deliveryType: 'EMAIL_WORK', extra: { nested: [1, 2] } }));
        assert.equal(answer.status, 200, answer.text);
      });
    });
  }

  it('drops __proto__ and constructor.prototype keys without crashing or polluting prototypes', async () => {
    const polluting = '{"userAlias":"will.albin","deliveryType":"EMAIL_WORK","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';
    const answer = await send('/v3', polluting);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.status, 'SUCCESS');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);

    // Required fields hidden in __proto__ must not satisfy the schema once the key is dropped.
    const hidden = await send('/v3', '{"__proto__":{"userAlias":"will.albin","deliveryType":"EMAIL_WORK"}}');
    assertInvalid(hidden, ['body: missing required field "userAlias"']);
  });

  it('checks the token before the body: an invalid body without a token is 401, not 400', async () => {
    const answer = await request(server, 'POST', '/v3/mfa/token/send', { contentType: 'application/json', body: '{not json' });
    assert.equal(answer.status, 401);
    assert.deepEqual(answer.body, { error: 'JWT validation failed: missing bearer token' });
  });
});

describe('unknown routes and unexpected failures', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startServer();
    await server.addIdentity('will.albin', { email: 'will.albin@example.com' });
    token = await server.accessToken(['sp:scopes:all']);
  });
  after(() => server.close());

  it('answers an unknown route 404 with an ErrorResponseDto', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/v2/mfa/token/send'],
      ['GET', '/v3/mfa/token/send'],
      ['POST', '/v3/mfa/token/send/extra?x=secret-query'],
    ] as const) {
      const answer = await request(server, method, path, { token });
      assertErrorResponseDto(answer, 404, '404 Not found');
      assert.deepEqual(answer.body.causes, []);
      assert.doesNotMatch(answer.text, /secret-query/, 'the query string is not echoed');
    }
  });

  it('answers an unexpected exception 500 with a tracking id and without its detail', async () => {
    const store = server.runtime.store;
    const original = store.findIdentity;
    store.findIdentity = async () => {
      throw new Error('secret detail xyz');
    };
    try {
      for (const prefix of ['/v3', '/beta']) {
        const answer = await request(server, 'POST', `${prefix}/mfa/token/send`, {
          token,
          contentType: 'application/json',
          body: JSON.stringify({ userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' }),
        });
        assertErrorResponseDto(answer, 500, '500.0 Internal Fault');
        assert.equal(answer.body.messages[0].text, 'An internal fault occurred.');
        assert.deepEqual(answer.body.causes, []);
        assert.doesNotMatch(answer.text, /secret detail xyz/);
        assert.doesNotMatch(answer.text, /Error|stack|at /);
      }
    } finally {
      store.findIdentity = original;
    }
    const recovered = await request(server, 'POST', '/v3/mfa/token/send', {
      token,
      contentType: 'application/json',
      body: JSON.stringify({ userAlias: 'will.albin', deliveryType: 'EMAIL_WORK' }),
    });
    assert.equal(recovered.status, 200, recovered.text);
  });

  it('gives every error its own tracking id', async () => {
    const first = await request(server, 'GET', '/nope');
    const second = await request(server, 'GET', '/nope');
    assert.notEqual(first.body.trackingId, second.body.trackingId);
  });
});

describe('operational endpoints', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('answers liveness and readiness 200 without a token', async () => {
    const live = await request(server, 'GET', '/health/live');
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { status: 'live' });
    const ready = await request(server, 'GET', '/health/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ready' });
  });

  it('answers readiness 503 when the store does not answer', async () => {
    const store = server.runtime.store;
    const original = store.ping;
    store.ping = async () => {
      throw new Error('database down: password=hunter2');
    };
    try {
      const ready = await request(server, 'GET', '/health/ready');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { status: 'unavailable' });
    } finally {
      store.ping = original;
    }
  });

  it('serves /openapi.json listing the /v3 and /beta operations', async () => {
    const answer = await request(server, 'GET', '/openapi.json');
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
    const document = JSON.parse(answer.text) as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    assert.equal(document.openapi, '3.0.1');
    assert.equal(document.paths['/v3/mfa/token/send']?.['post']?.operationId, 'createSendToken');
    assert.equal(document.paths['/beta/mfa/token/send']?.['post']?.operationId, 'createSendTokenBeta');
    assert.ok(document.paths['/v3/mfa/{method}/poll']?.['post']);
    assert.ok(document.paths['/beta/mfa/token/authenticate']?.['post']);
  });

  it('serves /docs as HTML', async () => {
    const answer = await request(server, 'GET', '/docs');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(answer.text, /^<!doctype html>/i);
    assert.match(answer.text, /\/v3\/mfa\/token\/send/);
    assert.match(answer.text, /\/beta\/mfa\/token\/send/);
  });
});

// Defends the access-token boundary: client authentication at /oauth/token, and forged, confused, expired or out-of-scope bearer tokens on the API.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before as beforeAll, describe, it as test } from 'node:test';
import { SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet } from 'jose';
import { loadConfig } from '../../src/config.js';
import { digest } from '../../src/core/secrets.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { postJson, startServer, type TestServer } from '../helpers/server.js';

const SEND_PATH = '/v3/mfa/token/send';

// Every wait has a deadline, so a regression in authentication (a check that never answers) fails here
// at once instead of hanging the suite: each request gives up after REQUEST_DEADLINE_MS, each test after
// TEST_DEADLINE_MS (generous: a loaded 2-core machine starts a server in seconds, not minutes).
const REQUEST_DEADLINE_MS = 20_000;
const TEST_DEADLINE = { timeout: 60_000 };
const it = (name: string, fn: () => Promise<void>) => test(name, TEST_DEADLINE, fn);
const before = (fn: () => Promise<void>) => beforeAll(fn, TEST_DEADLINE);
/** Closes a server without waiting for requests that never end (a request that hangs must not hang the file). */
const closeNow = (server: TestServer | Runtime): Promise<void> => {
  ('runtime' in server ? server.runtime : server).app.server.closeAllConnections();
  return server.close();
};
const fetch = (input: string, init: RequestInit = {}): Promise<Response> =>
  globalThis.fetch(input, { signal: AbortSignal.timeout(REQUEST_DEADLINE_MS), ...init });
const ISSUER = 'http://127.0.0.1';

interface TokenAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function tokenRequest(server: TestServer, init: { headers?: Record<string, string>; body?: BodyInit }): Promise<TokenAnswer> {
  const response = await fetch(`${server.baseUrl}/oauth/token`, { method: 'POST', ...init });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const form = (fields: Record<string, string>): { headers: Record<string, string>; body: string } => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/** RFC 6749 §2.3.1: each part is form-url-encoded before the Basic encoding. */
const basic = (clientId: string, clientSecret: string): string => {
  const encode = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
};

function assertTokenAnswer(answer: TokenAnswer, scopes: readonly string[], ttlSeconds = 3600): string {
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.headers.get('cache-control'), 'no-store');
  assert.deepEqual(Object.keys(answer.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  assert.equal(answer.body['token_type'], 'Bearer');
  assert.equal(answer.body['expires_in'], ttlSeconds);
  assert.equal(answer.body['scope'], scopes.join(' '));
  assert.equal(typeof answer.body['access_token'], 'string');
  return answer.body['access_token'] as string;
}

function assertUnauthorized(answer: { status: number; headers: Headers; body: unknown }, reason: string): void {
  assert.equal(answer.status, 401, JSON.stringify(answer.body));
  assert.equal(answer.headers.get('www-authenticate'), 'Bearer');
  assert.deepEqual(answer.body, { error: `JWT validation failed: ${reason}` });
}

function assertErrorResponseDto(body: any, detailCode: string): void {
  assert.equal(body.detailCode, detailCode);
  assert.match(body.trackingId, /^[0-9a-f]{32}$/);
  assert.equal(body.messages.length, 1);
  assert.equal(body.messages[0].locale, 'en-US');
  assert.equal(body.messages[0].localeOrigin, 'DEFAULT');
  assert.equal(typeof body.messages[0].text, 'string');
}

async function getJson(server: TestServer, path: string, token?: string): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${server.baseUrl}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function sendWith(server: TestServer, authorization: string | undefined, alias = 'nobody'): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${server.baseUrl}${SEND_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ userAlias: alias, deliveryType: 'EMAIL_WORK' }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

let aliasCounter = 0;
/** A send that the token must admit: 200 with the spec's SendTokenResponse. */
async function assertAdmitted(server: TestServer, token: string): Promise<void> {
  const answer = await sendWith(server, `Bearer ${token}`, `user.${++aliasCounter}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.status, 'SUCCESS');
}

describe('POST /oauth/token', () => {
  let server: TestServer;
  let clientId: string;
  let clientSecret: string;
  const scopes = ['idn:mfa:send', 'idn:mfa:poll'];

  before(async () => {
    server = await startServer();
    ({ clientId, clientSecret } = await server.client(scopes));
  });
  after(() => closeNow(server), TEST_DEADLINE);

  it('accepts credentials in an application/x-www-form-urlencoded body', async () => {
    const answer = await tokenRequest(server, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }));
    assertTokenAnswer(answer, scopes);
    assert.equal(answer.headers.get('pragma'), 'no-cache');
  });

  it('accepts credentials in a multipart/form-data body, as the official SDK sends them', async () => {
    const body = new FormData();
    body.append('grant_type', 'client_credentials');
    body.append('client_id', clientId);
    body.append('client_secret', clientSecret);
    const token = assertTokenAnswer(await tokenRequest(server, { body }), scopes);
    await assertAdmitted(server, token);
  });

  it('accepts credentials in a JSON body', async () => {
    const answer = await tokenRequest(server, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    assertTokenAnswer(answer, scopes);
  });

  it('accepts HTTP Basic client authentication', async () => {
    const answer = await tokenRequest(server, {
      headers: { authorization: basic(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assertTokenAnswer(answer, scopes);
  });

  it('decodes a Basic secret that needed form-url-encoding (RFC 6749 §2.3.1)', async () => {
    const awkwardSecret = 'p@ss:w+rd/é %&=?';
    const id = 'awkward-client';
    await server.runtime.store.createClient({ clientId: id, name: 'awkward', secretHash: digest(awkwardSecret), scopes: ['idn:mfa:send'], identityId: null, createdAt: Date.now() });
    const headers = { authorization: basic(id, awkwardSecret), 'content-type': 'application/x-www-form-urlencoded' };
    assertTokenAnswer(await tokenRequest(server, { headers, body: 'grant_type=client_credentials' }), ['idn:mfa:send']);

    // The same secret sent without the encoding decodes differently ('+' is a space) and is refused.
    const raw = `Basic ${Buffer.from(`${id}:${awkwardSecret}`).toString('base64')}`;
    const refused = await tokenRequest(server, { headers: { ...headers, authorization: raw }, body: 'grant_type=client_credentials' });
    assert.equal(refused.status, 401);
    assert.equal(refused.body['error'], 'invalid_client');
  });

  it('answers a wrong secret and an unknown client with the same 401 invalid_client', async () => {
    const wrongSecret = await tokenRequest(server, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: `${clientSecret}x` }));
    const unknownClient = await tokenRequest(server, form({ grant_type: 'client_credentials', client_id: 'f'.repeat(32), client_secret: clientSecret }));
    for (const answer of [wrongSecret, unknownClient]) {
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.equal(answer.headers.get('www-authenticate'), 'Basic realm="mfa-controller"');
      assert.equal(answer.body['error'], 'invalid_client');
      assert.equal(answer.body['access_token'], undefined);
    }
    assert.deepEqual(wrongSecret.body, unknownClient.body);

    const wrongBasic = await tokenRequest(server, {
      headers: { authorization: basic(clientId, 'not the secret'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(wrongBasic.status, 401);
    assert.deepEqual(wrongBasic.body, wrongSecret.body);
  });

  it('refuses credentials given both by Basic and in the body with 400 invalid_request', async () => {
    const answer = await tokenRequest(server, {
      headers: { authorization: basic(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
    });
    assert.equal(answer.status, 400);
    assert.equal(answer.body['error'], 'invalid_request');
    assert.equal(answer.body['access_token'], undefined);
  });

  it('refuses a missing grant_type with 400 invalid_request', async () => {
    const answer = await tokenRequest(server, form({ client_id: clientId, client_secret: clientSecret }));
    assert.equal(answer.status, 400);
    assert.equal(answer.body['error'], 'invalid_request');
    assert.equal(answer.headers.get('cache-control'), 'no-store');
  });

  it('refuses an unsupported grant_type with 400 unsupported_grant_type', async () => {
    for (const grantType of ['password', 'authorization_code', 'CLIENT_CREDENTIALS']) {
      const answer = await tokenRequest(server, form({ grant_type: grantType, client_id: clientId, client_secret: clientSecret }));
      assert.equal(answer.status, 400, grantType);
      assert.equal(answer.body['error'], 'unsupported_grant_type', grantType);
    }
  });

  it('issues only the requested scopes when they are narrower than the client\'s', async () => {
    const answer = await tokenRequest(server, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'idn:mfa:send' }));
    const token = assertTokenAnswer(answer, ['idn:mfa:send']);
    assert.equal(decodeJwt(token)['scope'], 'idn:mfa:send');
    const poll = await postJson(server, '/v3/mfa/token/poll', token, { requestId: 'f'.repeat(32) });
    assert.equal(poll.status, 403, 'the narrowed token must not carry idn:mfa:poll');
  });

  it('refuses scopes beyond the client\'s with 400 invalid_scope', async () => {
    for (const scope of ['idn:mfa:send idn:mfa:verify', 'sp:scopes:all', 'mfa:admin']) {
      const answer = await tokenRequest(server, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }));
      assert.equal(answer.status, 400, scope);
      assert.equal(answer.body['error'], 'invalid_scope', scope);
      assert.equal(answer.body['access_token'], undefined);
    }
  });

  // Regression: bodies the parsers refused answered the API's ErrorResponseDto, without no-store, instead of an OAuth error.
  it('answers a body the parsers refuse with an OAuth invalid_request', async () => {
    const malformed = await tokenRequest(server, { headers: { 'content-type': 'application/json' }, body: '{"grant_type":' });
    const withFile = new FormData();
    withFile.append('grant_type', 'client_credentials');
    withFile.append('client_id', clientId);
    withFile.append('client_secret', clientSecret);
    withFile.append('upload', new Blob(['x']), 'x.txt');
    const fileAnswer = await tokenRequest(server, { body: withFile });
    const xml = await tokenRequest(server, { headers: { 'content-type': 'application/xml' }, body: '<grant_type/>' });
    for (const [answer, status] of [[malformed, 400], [fileAnswer, 413], [xml, 415]] as const) {
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.deepEqual(Object.keys(answer.body).sort(), ['error', 'error_description']);
      assert.equal(answer.body['error'], 'invalid_request');
    }
  });

  it('answers a store failure with the generic 500 and no detail', async () => {
    const store = server.runtime.store;
    const original = store.findClient;
    store.findClient = async () => {
      throw new Error('connection string postgres://admin:hunter2@db');
    };
    try {
      const response = await fetch(`${server.baseUrl}/oauth/token`, { method: 'POST', ...form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }) });
      const text = await response.text();
      assert.equal(response.status, 500);
      assert.doesNotMatch(text, /hunter2|postgres/);
      assertErrorResponseDto(JSON.parse(text), '500.0 Internal Fault');
    } finally {
      store.findClient = original;
    }
  });

  it('signs an EdDSA JWT with a kid that verifies against /.well-known/jwks.json', async () => {
    const token = assertTokenAnswer(await tokenRequest(server, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret })), scopes);
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(typeof header.kid, 'string');
    assert.ok(header.kid);

    const jwks = await getJson(server, '/.well-known/jwks.json');
    assert.equal(jwks.status, 200);
    for (const key of jwks.body.keys) assert.equal(key.d, undefined, 'the JWKS must not publish a private part');
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks.body as JSONWebKeySet), { issuer: ISSUER, algorithms: ['EdDSA'] });
    assert.equal(protectedHeader.kid, header.kid);
    assert.equal(payload.sub, clientId);
    assert.equal(payload['scope'], scopes.join(' '));
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 3600);
  });

  // Regression: the scope check compared names only, so an sp:scopes:all client asking for one spec scope got invalid_scope.
  it('lets an sp:scopes:all client ask for a spec scope it implies, and not for mfa:admin', async () => {
    const all = await server.client(['sp:scopes:all']);
    const credentials = { grant_type: 'client_credentials', client_id: all.clientId, client_secret: all.clientSecret };
    const answer = await tokenRequest(server, form({ ...credentials, scope: 'idn:mfa:send idn:mfa:send' }));
    const token = assertTokenAnswer(answer, ['idn:mfa:send']);
    await assertAdmitted(server, token);
    const poll = await postJson(server, '/v3/mfa/token/poll', token, { requestId: 'f'.repeat(32) });
    assert.equal(poll.status, 403, 'the narrowed token must not carry sp:scopes:all');

    const admin = await tokenRequest(server, form({ ...credentials, scope: 'mfa:admin' }));
    assert.equal(admin.status, 400);
    assert.equal(admin.body['error'], 'invalid_scope');
  });
});

describe('bearer tokens on /v3/mfa/token/send', () => {
  const ttlSeconds = 60;
  const clock = { nowMs: Date.now(), now(): number { return this.nowMs; } };
  let server: TestServer;

  before(async () => {
    server = await startServer({ clock, env: { MFA_ACCESS_TOKEN_TTL_SECONDS: String(ttlSeconds) } });
  });
  after(() => closeNow(server), TEST_DEADLINE);

  it('refuses a request with no Authorization header', async () => {
    assertUnauthorized(await sendWith(server, undefined), 'missing bearer token');
  });

  it('refuses a non-Bearer or malformed Authorization header', async () => {
    const { clientId, clientSecret } = await server.client(['idn:mfa:send']);
    assertUnauthorized(await sendWith(server, basic(clientId, clientSecret)), 'malformed authorization header');
    assertUnauthorized(await sendWith(server, 'Bearer'), 'malformed authorization header');
    assertUnauthorized(await sendWith(server, 'Bearer a b'), 'malformed authorization header');
  });

  it('refuses `Bearer garbage`', async () => {
    assertUnauthorized(await sendWith(server, 'Bearer garbage'), 'JWT is malformed');
  });

  it('refuses an unsigned JWT (alg none)', async () => {
    const { kid } = await server.runtime.keys.signingKey();
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const nowSeconds = Math.floor(clock.now() / 1000);
    const claims = { iss: ISSUER, sub: 'attacker', scope: 'sp:scopes:all', iat: nowSeconds, exp: nowSeconds + 600 };
    const unsigned = `${b64({ alg: 'none', kid, typ: 'JWT' })}.${b64(claims)}.`;
    assertUnauthorized(await sendWith(server, `Bearer ${unsigned}`), 'JWT algorithm is not accepted');
  });

  it('refuses an HS256 JWT keyed with the published public key (algorithm confusion)', async () => {
    const jwks = await getJson(server, '/.well-known/jwks.json');
    const publicJwk = jwks.body.keys[0];
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const forged = await new SignJWT({ scope: 'sp:scopes:all', client_id: 'attacker' })
      .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid })
      .setIssuer(ISSUER)
      .setSubject('attacker')
      .setIssuedAt(Math.floor(clock.now() / 1000))
      .setExpirationTime(Math.floor(clock.now() / 1000) + 600)
      .sign(secret);
    assertUnauthorized(await sendWith(server, `Bearer ${forged}`), 'JWT algorithm is not accepted');
  });

  it('refuses a JWT signed by another Ed25519 key under the server\'s kid', async () => {
    const { kid } = await server.runtime.keys.signingKey();
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT({ scope: 'sp:scopes:all', client_id: 'attacker' })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setSubject('attacker')
      .setIssuedAt(Math.floor(clock.now() / 1000))
      .setExpirationTime(Math.floor(clock.now() / 1000) + 600)
      .sign(privateKey);
    assertUnauthorized(await sendWith(server, `Bearer ${forged}`), 'JWT signature does not verify');
  });

  it('refuses a JWT whose kid is unknown, or which has none', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    for (const header of [{ alg: 'EdDSA', kid: 'f'.repeat(32) }, { alg: 'EdDSA' }]) {
      const forged = await new SignJWT({ scope: 'sp:scopes:all' })
        .setProtectedHeader(header)
        .setIssuer(ISSUER)
        .setSubject('attacker')
        .setExpirationTime(Math.floor(clock.now() / 1000) + 600)
        .sign(privateKey);
      assertUnauthorized(await sendWith(server, `Bearer ${forged}`), 'unknown signing key');
    }
  });

  it('refuses a JWT signed with the server\'s own key but another issuer', async () => {
    const { kid, privateKey } = await server.runtime.keys.signingKey();
    const foreign = await new SignJWT({ scope: 'sp:scopes:all', client_id: 'attacker' })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setIssuer('https://other-tenant.example')
      .setSubject('attacker')
      .setIssuedAt(Math.floor(clock.now() / 1000))
      .setExpirationTime(Math.floor(clock.now() / 1000) + 600)
      .sign(privateKey);
    assertUnauthorized(await sendWith(server, `Bearer ${foreign}`), 'JWT claim "iss" is not valid');
  });

  it('refuses a token once the clock passes its expiry, whether or not it was verified before', async () => {
    const used = await server.accessToken(['idn:mfa:send']);
    const unused = await server.accessToken(['idn:mfa:send']);
    await assertAdmitted(server, used); // now in the verified-token cache

    clock.nowMs += (ttlSeconds - 1) * 1000;
    await assertAdmitted(server, used);

    clock.nowMs += 2000;
    assertUnauthorized(await sendWith(server, `Bearer ${used}`), 'JWT is expired');
    assertUnauthorized(await sendWith(server, `Bearer ${unused}`), 'JWT is expired');
    // Once refused, the cached token stays refused.
    assertUnauthorized(await sendWith(server, `Bearer ${used}`), 'JWT is expired');
  });

  it('answers a valid token lacking the scope 403 with an ErrorResponseDto', async () => {
    const token = await server.accessToken(['idn:mfa:poll']);
    const answer = await sendWith(server, `Bearer ${token}`);
    assert.equal(answer.status, 403);
    assert.equal(answer.headers.get('www-authenticate'), null);
    assertErrorResponseDto(answer.body, '403 Forbidden');
    assert.equal(answer.body.messages[0].text, 'The server understood the request but refuses to authorize it.');
  });
});

describe('scopes: sp:scopes:all and mfa:admin', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => closeNow(server), TEST_DEADLINE);

  it('sp:scopes:all grants the spec scopes but not the operator API', async () => {
    const token = await server.accessToken(['sp:scopes:all']);
    await assertAdmitted(server, token);
    const poll = await postJson(server, '/beta/mfa/token/poll', token, { requestId: 'f'.repeat(32) });
    assert.equal(poll.status, 200);

    const admin = await getJson(server, '/admin/v1/identities', token);
    assert.equal(admin.status, 403);
    assertErrorResponseDto(admin.body, '403 Forbidden');
    const rotate = await fetch(`${server.baseUrl}/admin/v1/keys/rotate`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(rotate.status, 403);
  });

  it('mfa:admin grants the operator API and nothing of the spec', async () => {
    await server.addIdentity('ada', { email: 'ada@example.com' });
    const token = await server.accessToken(['mfa:admin']);
    const admin = await getJson(server, '/admin/v1/identities', token);
    assert.equal(admin.status, 200);
    assert.deepEqual(admin.body.map((i: { alias: string }) => i.alias), ['ada']);

    const send = await sendWith(server, `Bearer ${token}`);
    assert.equal(send.status, 403);
    assertErrorResponseDto(send.body, '403 Forbidden');
  });

  it('the operator API refuses a missing or forged token with 401', async () => {
    assertUnauthorized(await getJson(server, '/admin/v1/identities'), 'missing bearer token');
    assertUnauthorized(await getJson(server, '/admin/v1/identities', 'garbage'), 'JWT is malformed');
  });
});

describe('signing keys: rotation and persistence', () => {
  it('after rotation, old tokens verify for the grace period, new tokens carry the new kid, and the JWKS lists both', async () => {
    const server = await startServer();
    try {
      const adminToken = await server.accessToken(['mfa:admin']);
      const oldToken = await server.accessToken(['sp:scopes:all']); // never used before the rotation: not cached
      const oldKid = decodeProtectedHeader(oldToken).kid;
      assert.ok(oldKid);

      const response = await fetch(`${server.baseUrl}/admin/v1/keys/rotate`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(response.status, 200);
      const { kid: newKid } = (await response.json()) as { kid: string };
      assert.match(newKid, /^[0-9a-f]{32}$/);
      assert.notEqual(newKid, oldKid);

      await assertAdmitted(server, oldToken);

      const newToken = await server.accessToken(['sp:scopes:all']);
      assert.equal(decodeProtectedHeader(newToken).kid, newKid);
      await assertAdmitted(server, newToken);

      const jwks = await getJson(server, '/.well-known/jwks.json');
      assert.deepEqual(jwks.body.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, newKid].sort());
      const keySet = createLocalJWKSet(jwks.body as JSONWebKeySet);
      await jwtVerify(oldToken, keySet, { issuer: ISSUER });
      await jwtVerify(newToken, keySet, { issuer: ISSUER });
    } finally {
      await closeNow(server);
    }
  });

  it('keeps the signing key across a restart on the same data directory', async () => {
    const server = await startServer();
    let restarted: Runtime | undefined;
    try {
      const token = await server.accessToken(['sp:scopes:all']);
      const kid = decodeProtectedHeader(token).kid;
      await server.runtime.close();

      restarted = await createRuntime(
        loadConfig({ MFA_DATA_DIR: server.dataDir, MFA_PORT: '0', MFA_SECRET: 'a'.repeat(64), MFA_PUBLIC_URL: ISSUER }),
        { logger: false },
      );
      const baseUrl = await restarted.app.listen({ host: '127.0.0.1', port: 0 });
      const again: TestServer = { ...server, baseUrl, runtime: restarted };

      await assertAdmitted(again, token);
      assert.equal((await restarted.keys.signingKey()).kid, kid, 'no new key is made when one exists');
      const jwks = await getJson(again, '/.well-known/jwks.json');
      assert.deepEqual(jwks.body.keys.map((k: { kid: string }) => k.kid), [kid]);
    } finally {
      if (restarted) await closeNow(restarted);
      await rm(server.dataDir, { recursive: true, force: true });
    }
  });

  it('a restart with another master secret cannot unseal the signing key, and refuses to start', async () => {
    const server = await startServer();
    try {
      await server.runtime.close();
      await assert.rejects(
        createRuntime(loadConfig({ MFA_DATA_DIR: server.dataDir, MFA_PORT: '0', MFA_SECRET: 'b'.repeat(64), MFA_PUBLIC_URL: ISSUER }), { logger: false }),
      );
    } finally {
      await rm(server.dataDir, { recursive: true, force: true });
    }
  });

  it('the public JWK of a foreign key pair is not accepted in place of the published one', async () => {
    // Guards the JWKS test above from passing vacuously: a set without the server's key must fail.
    const server = await startServer();
    try {
      const token = await server.accessToken(['sp:scopes:all']);
      const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const foreign = { ...(await exportJWK(publicKey)), kid: decodeProtectedHeader(token).kid, alg: 'EdDSA' };
      await assert.rejects(jwtVerify(token, createLocalJWKSet({ keys: [foreign] })));
    } finally {
      await closeNow(server);
    }
  });
});

describe('signing keys shared by two processes on one database', () => {
  // Regression: a process used to reload its keys only on meeting an unknown kid, so after another
  // process rotated it kept signing with the retired key and served a stale JWKS.
  it('a rotation in one process is picked up by the other for signing and for its JWKS', async () => {
    const server = await startServer();
    let second: Runtime | undefined;
    try {
      second = await createRuntime(
        loadConfig({ MFA_DATA_DIR: server.dataDir, MFA_PORT: '0', MFA_SECRET: 'a'.repeat(64), MFA_PUBLIC_URL: ISSUER }),
        { logger: false },
      );
      const secondUrl = await second.app.listen({ host: '127.0.0.1', port: 0 });
      const other: TestServer = { ...server, baseUrl: secondUrl, runtime: second };
      const oldKid = (await second.keys.signingKey()).kid;

      const newKid = await server.runtime.keys.rotate();
      assert.notEqual(newKid, oldKid);

      const { clientId, clientSecret } = await server.client(['sp:scopes:all']);
      const issued = await tokenRequest(other, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }));
      const fromSecond = assertTokenAnswer(issued, ['sp:scopes:all']);
      assert.equal(decodeProtectedHeader(fromSecond).kid, newKid, 'the second process still signs with the retired key');
      const jwks = await getJson(other, '/.well-known/jwks.json');
      assert.ok(jwks.body.keys.some((k: { kid: string }) => k.kid === newKid), 'the second process does not publish the new key');
    } finally {
      if (second) await closeNow(second);
      await closeNow(server);
    }
  });
});

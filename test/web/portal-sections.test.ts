// The portal's extension points as passkeys and the authenticator app will use them: a section's pages and
// script-called JSON routes get the session, the form token (header), the Origin check and, where they
// change a factor, the factor-change rule; a sign-in method's route that answers "sign in" starts a new
// session. A fake section and method stand in for them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Identity } from '../../src/core/model.js';
import type { Store } from '../../src/core/ports.js';
import { StoreRateCounter } from '../../src/ratelimit/counters.js';
import { PortalSessions } from '../../src/services/portal-sessions.js';
import { portalStoreOf } from '../../src/store/index.js';
import { html } from '../../src/web/page.js';
import { ERROR_VERIFICATION_REQUIRED, portalRoutes } from '../../src/web/portal/index.js';
import type { PortalSection, SignInMethod } from '../../src/web/portal/section.js';
import { storeTargets, type OpenedStore } from '../helpers/stores.js';

const WINDOW_MS = 600_000;

describe('portal sections and sign-in methods', () => {
  let opened: OpenedStore;
  let store: Store;
  let app: FastifyInstance;
  let identity: Identity;
  let nowMs = 1_800_000_000_000;
  let hasWidget = false;
  const handled: unknown[] = [];

  const widgets: PortalSection = {
    id: 'widgets',
    overview: async (ctx) => html`<section id="widgets"><h2>Widgets of ${ctx.identity.alias}</h2></section>`,
    scripts: ['widgets.js'],
    savedNotice: () => 'Widget added.',
    routes: [
      { method: 'GET', path: '', changesFactor: async () => hasWidget, handle: async () => ({ kind: 'page', title: 'Widgets', body: html`<p id="form">add one</p>` }) },
      {
        method: 'POST',
        path: 'add',
        changesFactor: async () => hasWidget,
        handle: async (_ctx, input) => {
          handled.push(input.json);
          hasWidget = true;
          return { kind: 'json', body: { added: true } };
        },
      },
    ],
  };

  const fakeKey: SignInMethod = {
    id: 'fake-key',
    render: (ctx) => html`<p id="fake-key">Use your key (${ctx.locale})</p>`,
    scripts: ['fake-key.js'],
    routes: [{ method: 'POST', path: 'verify', handle: async () => ({ kind: 'sign-in', identityId: identity.id, verified: true, json: true }) }],
  };

  before(async () => {
    opened = await storeTargets()[0]!.open();
    store = opened.store;
    await store.upsertIdentities([{ alias: 'ada', status: 'active', attributes: { email: 'ada@example.com' } }], () => 'id-ada', nowMs);
    identity = (await store.findIdentity('ada'))!;
    const clock = { now: () => nowMs };
    const randomBytes = (size: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(size)));
    app = Fastify();
    await app.register(
      portalRoutes({
        store,
        sessions: new PortalSessions({
          portalStore: portalStoreOf(store),
          store,
          clock,
          randomBytes,
          sessionKey: Buffer.alloc(32, 1),
          csrfKey: Buffer.alloc(32, 2),
          timeouts: { idleSeconds: 3600, maxSeconds: 7200 },
        }),
        invitations: { redeem: async () => identity },
        tokenService: { send: async () => ({ requestId: null, status: 'SUCCESS', errorMessage: null }), authenticate: async () => 'FAILED' },
        counter: new StoreRateCounter(store),
        clock,
        randomBytes,
        publicUrl: 'http://127.0.0.1',
        factorChangeWindowMs: WINDOW_MS,
        limits: { formsPerAddress: 1000, formsPerSession: 1000, formsWindowSeconds: 60 },
        sections: [widgets],
        signInMethods: [fakeKey],
      }),
    );
  });
  after(async () => {
    await app.close();
    await opened.cleanup();
  });

  const cookieFrom = (headers: Record<string, unknown>, name: string): string =>
    ([] as unknown[])
      .concat(headers['set-cookie'] ?? [])
      .map(String)
      .find((line) => line.startsWith(`${name}=`))
      ?.split(';')[0] ?? '';
  const tokenIn = (body: string): string => /name="_csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';

  /** Signs in through the fake method's JSON route, as a passkey ceremony's script would. */
  async function signInWithKey(): Promise<{ cookie: string; csrf: string }> {
    const page = await app.inject({ method: 'GET', url: '/portal/sign-in' });
    assert.match(page.body, /<p id="fake-key">Use your key \(en\)<\/p>/, 'the method is on the sign-in page');
    assert.match(page.body, /<script src="\/assets\/fake-key\.js" defer><\/script>/);
    const pre = cookieFrom(page.headers, 'mfa-portal-pre');
    const answer = await app.inject({
      method: 'POST',
      url: '/portal/sign-in/fake-key/verify',
      headers: { cookie: pre, origin: 'http://localhost', 'x-csrf-token': tokenIn(page.body), 'content-type': 'application/json' },
      payload: { response: 'from the authenticator' },
    });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(answer.json(), { redirect: '/portal' });
    const cookie = cookieFrom(answer.headers, 'mfa-portal');
    const overview = await app.inject({ method: 'GET', url: '/portal', headers: { cookie } });
    assert.equal(overview.statusCode, 200);
    return { cookie, csrf: tokenIn(overview.body) };
  }

  it('refuses the sign-in method\'s route without the pre-session token or from another origin', async () => {
    const page = await app.inject({ method: 'GET', url: '/portal/sign-in' });
    const pre = cookieFrom(page.headers, 'mfa-portal-pre');
    for (const headers of [
      { cookie: pre, origin: 'http://localhost' },
      { cookie: pre, origin: 'https://evil.example', 'x-csrf-token': tokenIn(page.body) },
    ]) {
      const answer = await app.inject({ method: 'POST', url: '/portal/sign-in/fake-key/verify', headers: { ...headers, 'content-type': 'application/json' }, payload: {} });
      assert.equal(answer.statusCode, 403);
      assert.equal(cookieFrom(answer.headers, 'mfa-portal'), '', 'no session');
    }
  });

  it('shows the section on the overview with its script and notice', async () => {
    const { cookie } = await signInWithKey();
    const overview = await app.inject({ method: 'GET', url: '/portal?done=widgets', headers: { cookie } });
    assert.match(overview.body, /<h2>Widgets of ada<\/h2>/);
    assert.match(overview.body, /<script src="\/assets\/widgets\.js" defer><\/script>/);
    assert.match(overview.body, /Widget added\./);
  });

  it('runs a script\'s JSON route with the token in a header, and applies the factor-change rule to it', async () => {
    hasWidget = false;
    const { cookie, csrf } = await signInWithKey();
    const post = (token: string) =>
      app.inject({ method: 'POST', url: '/portal/widgets/add', headers: { cookie, origin: 'http://localhost', 'x-csrf-token': token, 'content-type': 'application/json' }, payload: { name: 'first' } });
    assert.equal((await post('wrong')).statusCode, 403, 'the form token is checked for scripts too');
    const first = await post(csrf);
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), { added: true });
    assert.deepEqual(handled.at(-1), { name: 'first' }, 'the route gets the JSON body');

    nowMs += WINDOW_MS + 1;
    const stale = await post(csrf);
    assert.equal(stale.statusCode, 403);
    assert.equal(stale.json().messages[0].text, ERROR_VERIFICATION_REQUIRED, 'the API\'s error body');
    assert.equal(stale.headers['location'], '/portal/verify?next=%2Fportal%2Fwidgets', 'naming where to confirm');
    assert.equal(handled.length, 1, 'the route did not run');
    const page = await app.inject({ method: 'GET', url: '/portal/widgets', headers: { cookie } });
    assert.equal(page.statusCode, 303, 'its page sends the person to confirm it is them');
    assert.equal(page.headers['location'], '/portal/verify?next=%2Fportal%2Fwidgets');
  });
});

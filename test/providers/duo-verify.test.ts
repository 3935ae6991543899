// Defends POST /mfa/duo-web/verify against forged, foreign, expired, malformed and replayed Duo
// responses, and against user enumeration (an unknown alias answers exactly like a bad signature);
// also the sign-request extension, masked configuration and secrets kept out of the database in clear.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { signRequest, signVals } from '../../src/core/duo-web.js';
import { ERROR_DUO_INVALID, ERROR_DUO_REPLAYED } from '../../src/methods/duo-web/service.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

const IKEY = 'DIXXXXXXXXXXXXXXXXXX';
const SKEY = 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef';
const AKEY = 'useacustomerprovidedapplicationsecretkey-42';
const HOST = 'api-1234abcd.duosecurity.com';
const ALIAS = 'will.albin';
const DUO_USER = 'walbin';

const nowSeconds = () => Math.floor(Date.now() / 1000);

// Duo's AUTH part is `user|ikey|exp`: two authentications of one user in the same second are the same
// string, which replay protection refuses. Each test response is signed a different second in the past.
// Anchored once: counting back from a moving "now" could give the same second twice when the clock ticks.
const firstSecond = nowSeconds();
let issued = 0;
const distinctSecond = () => firstSecond - (issued++ % 120);

/** What the Duo prompt hands back: Duo's AUTH part (signed with the skey) and our APP part echoed. */
function duoResponse(user: string, options: { skey?: string; akey?: string; ikey?: string; at?: number; app?: string } = {}): string {
  const at = options.at ?? distinctSecond();
  const auth = signVals(options.skey ?? SKEY, user, options.ikey ?? IKEY, 'AUTH', 300, at);
  const app = options.app ?? signRequest(IKEY, SKEY, options.akey ?? AKEY, user, at).split(':')[1]!;
  return `${auth}:${app}`;
}

const config = (overrides: Record<string, unknown> = {}) => ({
  mfaMethod: 'duo-web',
  enabled: true,
  host: HOST,
  accessKey: AKEY,
  identityAttribute: 'duoUser',
  configProperties: { ikey: IKEY, skey: SKEY },
  ...overrides,
});

describeEachDatabase('Duo Web verify', ({ postgres }) => {
  let server: TestServer;
  let verifier: string;
  let poller: string;
  let pollOnly: string;
  let manage: string;

  const verify = (userId: unknown, signedResponse: unknown, prefix = '/v3') => postJson(server, `${prefix}/mfa/duo-web/verify`, verifier, { userId, signedResponse });
  const putConfig = async (body: unknown) => {
    const response = await fetch(`${server.baseUrl}/v3/mfa/duo-web/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${manage}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  before(async () => {
    server = await startServer({ postgres });
    // One client verifies and polls: poll answers only the client that started the verification.
    verifier = await server.accessToken(['idn:mfa:verify', 'idn:mfa:poll']);
    poller = verifier;
    pollOnly = await server.accessToken(['idn:mfa:poll']);
    manage = await server.accessToken(['idn:mfa-configuration:manage']);
    await server.addIdentity(ALIAS, { email: 'will.albin@example.com', duoUser: DUO_USER });
    await server.addIdentity('no.duo', { email: 'no.duo@example.com' });
    await server.addIdentity('other', { duoUser: 'otheruser' });
  });
  after(() => server.close());

  it('before configuration: FAILED, not configured; when disabled: FAILED, disabled', async () => {
    const unconfigured = await verify(ALIAS, duoResponse(DUO_USER));
    assert.equal(unconfigured.status, 200);
    assert.equal(unconfigured.body.status, 'FAILED');
    assert.equal(unconfigured.body.error, 'MFA method duo-web is not configured.');
    assert.equal((await putConfig(config({ enabled: false }))).status, 200);
    const disabled = await verify(ALIAS, duoResponse(DUO_USER));
    assert.deepEqual([disabled.body.status, disabled.body.error], ['FAILED', 'MFA Method is disabled.']);
    assert.equal((await putConfig(config())).status, 200);
  });

  it('a valid response for the identity\'s Duo username: SUCCESS, reported by poll (v3 and beta)', async () => {
    for (const prefix of ['/v3', '/beta']) {
      const answer = await verify(ALIAS, duoResponse(DUO_USER), prefix);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.status, 'SUCCESS');
      assert.equal(answer.body.error, null);
      assert.match(answer.body.requestId, /^[0-9a-f]{32}$/);
      const poll = await postJson(server, `${prefix}/mfa/duo-web/poll`, poller, { requestId: answer.body.requestId });
      assert.deepEqual(poll.body, { requestId: answer.body.requestId, status: 'SUCCESS', error: null });
      const otherMethod = await postJson(server, `${prefix}/mfa/token/poll`, poller, { requestId: answer.body.requestId });
      assert.equal(otherMethod.body.status, 'FAILED');
    }
  });

  it('replay: the same response a second time is FAILED, also with a fresh APP part', async () => {
    const at = distinctSecond();
    const response = duoResponse(DUO_USER, { at });
    assert.equal((await verify(ALIAS, response)).body.status, 'SUCCESS');
    const again = await verify(ALIAS, response);
    assert.deepEqual([again.body.status, again.body.error], ['FAILED', ERROR_DUO_REPLAYED]);
    const poll = await postJson(server, '/v3/mfa/duo-web/poll', poller, { requestId: again.body.requestId });
    assert.equal(poll.body.status, 'FAILED');
    // Duo's AUTH part with another APP part of ours (a new sign-request for the same user).
    const freshApp = signRequest(IKEY, SKEY, AKEY, DUO_USER, at + 5).split(':')[1]!;
    const spliced = `${response.split(':')[0]}:${freshApp}`;
    assert.notEqual(spliced, response);
    assert.deepEqual((await verify(ALIAS, spliced)).body.status, 'FAILED');
  });

  it('replay under concurrency: of ten simultaneous uses of one response exactly one succeeds', async () => {
    const response = duoResponse(DUO_USER);
    const answers = await Promise.all(Array.from({ length: 10 }, () => verify(ALIAS, response)));
    assert.deepEqual(answers.map((a) => a.status), Array(10).fill(200));
    assert.equal(answers.filter((a) => a.body.status === 'SUCCESS').length, 1);
  });

  it('another user\'s valid response, a wrong key, another ikey and an expired response are FAILED', async () => {
    const cases = {
      'another user': duoResponse('otheruser'),
      'another identity\'s Duo user (alias of other)': duoResponse('otheruser'),
      'AUTH signed with another skey': duoResponse(DUO_USER, { skey: 'f'.repeat(40) }),
      'APP signed with another akey': duoResponse(DUO_USER, { akey: 'x'.repeat(40) }),
      'another ikey in AUTH': duoResponse(DUO_USER, { ikey: 'DIYYYYYYYYYYYYYYYYYY' }),
      'expired AUTH part': duoResponse(DUO_USER, { at: nowSeconds() - 301 }),
      'AUTH for the user, APP for another': `${duoResponse(DUO_USER).split(':')[0]}:${duoResponse('otheruser').split(':')[1]}`,
    };
    for (const [name, response] of Object.entries(cases)) {
      const answer = await verify(ALIAS, response);
      assert.equal(answer.status, 200, name);
      assert.deepEqual([answer.body.status, answer.body.error], ['FAILED', ERROR_DUO_INVALID], name);
    }
    // The other identity's own response verifies for that identity only.
    assert.equal((await verify('other', duoResponse('otheruser'))).body.status, 'SUCCESS');
  });

  it('malformed signed responses are FAILED, never a 500; wrong types are a 400', async () => {
    const valid = duoResponse(DUO_USER);
    const malformed = ['', ':', 'AUTH|INVALID|SIG', valid.toUpperCase(), valid.replace(/:/, '::'), `${valid}:`, valid.split(':')[0]!, '\u0000\uffff', '%00', 'é'.repeat(5000), 'AUTH|' + 'A'.repeat(20000) + '|x:APP||'];
    for (const response of malformed) {
      const answer = await verify(ALIAS, response);
      assert.equal(answer.status, 200, JSON.stringify(response.slice(0, 30)));
      assert.deepEqual([answer.body.status, answer.body.error], ['FAILED', ERROR_DUO_INVALID]);
    }
    for (const body of [{ userId: ALIAS }, { signedResponse: valid }, { userId: 5, signedResponse: valid }, { userId: ALIAS, signedResponse: ['x'] }]) {
      const answer = await postJson(server, '/v3/mfa/duo-web/verify', verifier, body);
      assert.equal(answer.status, 400, JSON.stringify(body));
    }
    const notJson = await postJson(server, '/v3/mfa/duo-web/verify', verifier, '{"userId":');
    assert.equal(notJson.status, 400);
  });

  it('an unknown alias, an identity without a Duo username and a bad signature answer alike', async () => {
    const strip = (body: any) => ({ ...body, requestId: typeof body.requestId });
    const badSignature = strip((await verify(ALIAS, 'AUTH|INVALID|SIG:APP|x|y')).body);
    const unknown = strip((await verify('nobody.here', duoResponse(DUO_USER))).body);
    const unknownWithOwnName = strip((await verify('nobody.here', duoResponse('nobody.here'))).body);
    const noAttribute = strip((await verify('no.duo', duoResponse('no.duo'))).body);
    assert.deepEqual(unknown, badSignature);
    assert.deepEqual(unknownWithOwnName, badSignature);
    assert.deepEqual(noAttribute, badSignature);
  });

  it('userId may be the identity\'s id, as SailPoint callers send it (the spec\'s example is a 32-hex id)', async () => {
    const identity = await server.runtime.store.findIdentity(ALIAS);
    assert.ok(identity);
    assert.match(identity.id, /^[0-9a-f]{32}$/);
    const byId = await verify(identity.id, duoResponse(DUO_USER));
    assert.deepEqual([byId.status, byId.body.status, byId.body.error], [200, 'SUCCESS', null]);
    // The id names that identity only: another person's Duo response is refused as for an alias.
    const foreign = await verify(identity.id, duoResponse('otheruser'));
    assert.deepEqual([foreign.body.status, foreign.body.error], ['FAILED', ERROR_DUO_INVALID]);
    // An id nobody has answers exactly like an unknown alias.
    const unknown = await verify('2c9180835d2e5168015d32f890ca1581', duoResponse(DUO_USER));
    assert.deepEqual([unknown.body.status, unknown.body.error], ['FAILED', ERROR_DUO_INVALID]);
    const signed = await postJson(server, '/v3/mfa/duo-web/sign-request', verifier, { userId: identity.id });
    assert.equal(signed.status, 200, 'sign-request resolves an id as verify does');
  });

  it('an alias that is also another identity\'s id names the identity with that alias', async () => {
    const other = await server.runtime.store.findIdentity('other');
    assert.ok(other);
    // An operator gave a new identity an alias equal to other's id.
    await server.addIdentity(other.id, { duoUser: 'shadowuser' });
    const asAlias = await verify(other.id, duoResponse('shadowuser'));
    assert.equal(asAlias.body.status, 'SUCCESS', 'the alias did not win');
    const asId = await verify(other.id, duoResponse('otheruser'));
    assert.deepEqual([asId.body.status, asId.body.error], ['FAILED', ERROR_DUO_INVALID]);
    // other is still reached by its own alias.
    assert.equal((await verify('other', duoResponse('otheruser'))).body.status, 'SUCCESS');
  });

  it('requires the idn:mfa:verify scope', async () => {
    const answer = await postJson(server, '/v3/mfa/duo-web/verify', pollOnly, { userId: ALIAS, signedResponse: duoResponse(DUO_USER) });
    assert.equal(answer.status, 403);
  });

  it('sign-request extension: a sig_request for the identity\'s Duo username whose APP part verifies', async () => {
    const signed = await postJson(server, '/v3/mfa/duo-web/sign-request', verifier, { userId: ALIAS });
    assert.equal(signed.status, 200);
    assert.equal(signed.body.host, HOST);
    const [tx, app] = (signed.body.signedRequest as string).split(':') as [string, string];
    assert.match(tx, /^TX\|/);
    assert.equal(Buffer.from(tx.split('|')[1]!, 'base64').toString().split('|')[0], DUO_USER);
    // Duo answers the prompt with its AUTH part; the APP part comes back unchanged.
    assert.equal((await verify(ALIAS, duoResponse(DUO_USER, { app }))).body.status, 'SUCCESS');
    const beta = await postJson(server, '/beta/mfa/duo-web/sign-request', verifier, { userId: ALIAS });
    assert.equal(beta.status, 200);
    assert.equal((await postJson(server, '/v3/mfa/duo-web/sign-request', verifier, { userId: 'nobody.here' })).status, 404);
    assert.equal((await postJson(server, '/v3/mfa/duo-web/sign-request', verifier, {})).status, 400);
    assert.equal((await postJson(server, '/v3/mfa/duo-web/sign-request', pollOnly, { userId: ALIAS })).status, 403);
  });

  it('configuration: skey and accessKey masked; a PUT of the masked document keeps the secrets', async () => {
    const read = await fetch(`${server.baseUrl}/v3/mfa/duo-web/config`, { headers: { authorization: `Bearer ${manage}` } });
    const view = (await read.json()) as any;
    assert.equal(view.accessKey, `${AKEY[0]}******${AKEY.at(-1)}`);
    assert.deepEqual(view.configProperties, { ikey: IKEY, skey: `${SKEY[0]}******${SKEY.at(-1)}` });
    assert.equal(view.host, HOST);
    const echoed = await putConfig(view);
    assert.equal(echoed.status, 200);
    assert.deepEqual(echoed.body, view);
    assert.equal((await verify(ALIAS, duoResponse(DUO_USER))).body.status, 'SUCCESS', 'the stored keys still verify');
  });

  it('the database holds neither the skey nor the akey in clear', { skip: postgres ? 'file scan is for SQLite' : false }, () => {
    const files = readdirSync(server.dataDir);
    assert.ok(files.length > 0);
    for (const file of files) {
      const bytes = readFileSync(join(server.dataDir, file));
      assert.ok(!bytes.includes(SKEY) && !bytes.includes(AKEY), `${file} holds a Duo secret in clear`);
    }
  });

  it('after the configuration is deleted, verify answers not configured', async () => {
    const removed = await fetch(`${server.baseUrl}/v3/mfa/duo-web/delete`, { method: 'DELETE', headers: { authorization: `Bearer ${manage}` } });
    assert.equal(removed.status, 200);
    const answer = await verify(ALIAS, duoResponse(DUO_USER));
    assert.deepEqual([answer.body.status, answer.body.error], ['FAILED', 'MFA method duo-web is not configured.']);
  });
});


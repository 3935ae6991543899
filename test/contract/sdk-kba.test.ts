// Defends drop-in compatibility for security questions: the official SDK enrols and checks answers
// for a personal client and for a token obtained by token exchange (RFC 8693).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Configuration, MFAConfigurationApi, MFAConfigurationBetaApi, MFAControllerApi, MFAControllerBetaApi } from 'sailpoint-api-client';
import { createClient } from '../../src/auth/clients.js';
import { IDENTITY_ALIAS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/http/routes/oauth.js';
import { startServer, type TestServer } from '../helpers/server.js';

// Cheap hashing keeps the test fast; the parameters do not change what is compared.
const FAST_KBA = { MFA_KBA_ARGON2_MEMORY_KIB: '1024', MFA_KBA_ARGON2_TIME_COST: '1', MFA_KBA_MIN_ANSWERS: '2' };

async function addQuestions(server: TestServer): Promise<void> {
  const now = Date.now();
  await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'Name of your first pet?', fr: 'Nom de votre premier animal ?' }, createdAt: now });
  await server.runtime.store.putQuestion({ id: 'city', texts: { '': 'City of your birth?' }, createdAt: now + 1 });
  await server.runtime.store.putQuestion({ id: 'street', texts: { '': 'Street you grew up on?' }, createdAt: now + 2 });
}

describe('official SDK: security questions', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: FAST_KBA });
    await addQuestions(server);
    await server.addIdentity('ana.diaz', { email: 'ana@example.com', locale: 'fr' });
    await server.addIdentity('ben.okafor', { email: 'ben@example.com' });
  });
  after(() => server.close());

  it('a personal client enrols answers, lists questions, and passes a check (v3)', async () => {
    const { clientId, clientSecret } = await createClient(server.runtime.store, server.runtime.clock, server.runtime.randomBytes, 'ana app', ['sp:scopes:all'], 'ana.diaz');
    const configuration = new Configuration({ baseurl: server.baseUrl, clientId, clientSecret, tokenUrl: `${server.baseUrl}/oauth/token` });
    const config = new MFAConfigurationApi(configuration);
    const mfa = new MFAControllerApi(configuration);

    const enrolled = await config.setMFAKBAConfig({ kbaAnswerRequestItem: [{ id: 'pet', answer: 'Rex' }, { id: 'city', answer: '  São   Paulo ' }] });
    assert.deepEqual(
      enrolled.data.map((q) => [q.id, q.hasAnswer]),
      [['pet', true], ['city', true], ['street', false]],
    );
    assert.deepEqual(JSON.parse(enrolled.data[0]!.question), [{ text: 'Nom de votre premier animal ?', locale: 'fr' }, { text: 'Name of your first pet?', locale: '' }]);

    const listed = await config.getMFAKbaConfig({});
    assert.deepEqual(listed.data.find((q) => q.id === 'pet'), { id: 'pet', text: 'Nom de votre premier animal ?', hasAnswer: true, numAnswers: 1 });
    const all = await config.getMFAKbaConfig({ allLanguages: true });
    assert.equal(JSON.parse(all.data.find((q) => q.id === 'pet')!.text).length, 2);

    const wrong = await mfa.sendKbaAnswers({ kbaAnswerRequestItem: [{ id: 'pet', answer: 'rex' }, { id: 'city', answer: 'Rio' }] });
    assert.equal(wrong.data.status, 'FAILED');
    assert.deepEqual(wrong.data.kbaAuthResponseItems, [{ questionId: 'pet', isVerified: true }, { questionId: 'city', isVerified: false }]);

    const right = await mfa.sendKbaAnswers({ kbaAnswerRequestItem: [{ id: 'pet', answer: 'REX' }, { id: 'city', answer: 'são paulo' }] });
    assert.equal(right.data.status, 'SUCCESS');
    const requestId = right.headers['x-mfa-request-id'];
    assert.match(String(requestId), /^[0-9a-f]{32}$/);
    const polled = await mfa.pingVerificationStatus({ method: 'kba', verificationPollRequest: { requestId: String(requestId) } });
    assert.equal(polled.data.status, 'SUCCESS');
  });

  it('a service client exchanges its token for one acting for an identity (beta)', async () => {
    const { clientId, clientSecret } = await server.client(['sp:scopes:all', 'mfa:impersonate']);
    const exchanged = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT,
        client_id: clientId,
        client_secret: clientSecret,
        subject_token: 'ben.okafor',
        subject_token_type: IDENTITY_ALIAS_TOKEN_TYPE,
      }),
    });
    assert.equal(exchanged.status, 200);
    const body = (await exchanged.json()) as { access_token: string; issued_token_type: string; scope: string };
    assert.equal(body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    assert.ok(!body.scope.split(' ').includes('mfa:impersonate'), 'an exchanged token cannot exchange again');

    const configuration = new Configuration({ baseurl: server.baseUrl, accessToken: body.access_token });
    const config = new MFAConfigurationBetaApi(configuration);
    const mfa = new MFAControllerBetaApi(configuration);
    await config.setMFAKBAConfig({ kbaAnswerRequestItemBeta: [{ id: 'street', answer: 'Baker Street' }, { id: 'city', answer: 'Lagos' }] });
    const check = await mfa.sendKbaAnswers({ kbaAnswerRequestItemBeta: [{ id: 'street', answer: 'baker street' }, { id: 'city', answer: 'LAGOS' }] });
    assert.equal(check.data.status, 'SUCCESS');
  });

  it('a token acting for no identity gets a clear 403, not a 500', async () => {
    const token = await server.accessToken(['sp:scopes:all']);
    const configuration = new Configuration({ baseurl: server.baseUrl, accessToken: token });
    await assert.rejects(new MFAConfigurationApi(configuration).getMFAKbaConfig({}), (err: any) => {
      assert.equal(err.response?.status, 403);
      assert.match(err.response.data.messages[0].text, /acts for an identity/);
      return true;
    });
  });
});

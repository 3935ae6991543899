// Defends revocation and identity binding from the command line: an operator who disables a client or
// retires a signing key by hand, while the service runs, expects the tokens to stop (a leaked secret or key
// going on working), and a personal client created by hand cannot be given more than its identity's scopes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { postJson, startServer, type TestServer } from '../helpers/server.js';
import { cli, ok } from '../helpers/cli.js';

const SECRET = 'a'.repeat(64);

describe('mfa-controller clients disable, keys rotate --retire-previous, personal scopes', { concurrency: false }, () => {
  let server: TestServer;
  let env: Record<string, string>;

  before(async () => {
    server = await startServer({ env: { MFA_SECRET: SECRET } });
    env = { MFA_DATA_DIR: server.dataDir, MFA_SECRET: SECRET };
  });
  after(() => server.close());

  /** Polls until the token is refused (401) or the deadline passes; the refusal reason. */
  async function refusedWithin(token: string, deadlineMs: number): Promise<string> {
    const started = Date.now();
    for (;;) {
      const answer = await postJson(server, '/v3/mfa/token/poll', token, { requestId: 'none' });
      if (answer.status === 401) return answer.body.error as string;
      assert.equal(answer.status, 200);
      assert.ok(Date.now() - started < deadlineMs, `token still accepted ${Date.now() - started} ms after the command`);
      await sleep(25);
    }
  }

  it('clients disable stops a running service from accepting the client\'s tokens within a second', async () => {
    const token = await server.accessToken(['idn:mfa:poll']);
    const clientId = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).client_id as string;
    assert.equal((await postJson(server, '/v3/mfa/token/poll', token, { requestId: 'none' })).status, 200);
    assert.match(await ok(['clients', 'disable', clientId], env), /^disabled /);
    assert.match(await refusedWithin(token, 1000), /deleted or disabled/);
    const again = await cli(['clients', 'disable', 'no-such-client'], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /no client no-such-client/);
  });

  it('keys rotate --retire-previous stops tokens signed with earlier keys within a second; a plain rotation does not', async () => {
    const token = await server.accessToken(['idn:mfa:poll']);
    assert.match(await ok(['keys', 'rotate'], env), /older keys verify for/);
    await sleep(600);
    assert.equal((await postJson(server, '/v3/mfa/token/poll', token, { requestId: 'none' })).status, 200, 'a plain rotation keeps earlier tokens');
    assert.match(await ok(['keys', 'rotate', '--retire-previous'], env), /earlier keys no longer verify/);
    assert.match(await refusedWithin(token, 1000), /revoked|unknown signing key/);
  });

  it('clients create --identity refuses a configuration or administration scope, naming it, and creates nothing', async () => {
    await server.addIdentity('cli.person', { email: 'cli.person@example.com' });
    const before = await ok(['clients', 'list', '--json'], env);
    const run = await cli(['clients', 'create', '--name', 'app', '--scopes', 'sp:scopes:all,idn:mfa-configuration:manage', '--identity', 'cli.person'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr.split('\n')[0]!, /acts for its identity only and cannot hold idn:mfa-configuration:manage/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(await ok(['clients', 'list', '--json'], env), before);
  });
});

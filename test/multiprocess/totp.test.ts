// Defends "a code is accepted at most once" and the wrong-code budget across real processes (docs/totp.md):
// twenty concurrent submissions of one valid code, split between two `serve` processes on one database,
// succeed once; concurrent wrong codes through both are counted exactly, so no more than the budget is
// ever compared. Run on SQLite (two processes on one file) and, when MFA_TEST_DATABASE_URL is set, on
// PostgreSQL (with Redis when MFA_TEST_REDIS_URL is set).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createClient } from '../../src/auth/clients.js';
import { ADMIN_SCOPE, ALL_SCOPES } from '../../src/auth/scopes.js';
import { openStore } from '../../src/store/index.js';
import { ServiceProcess, freePort, post } from '../helpers/processes.js';
import { appCode } from '../helpers/totp.js';

const DATABASE_URL = process.env['MFA_TEST_DATABASE_URL'];
const REDIS_URL = process.env['MFA_TEST_REDIS_URL'];
const MAX_FAILURES = 5;

for (const database of ['sqlite', 'postgres'] as const) {
  const skip = database === 'postgres' && !DATABASE_URL ? 'MFA_TEST_DATABASE_URL not set: PostgreSQL tests skipped' : false;

  describe(`TOTP across two processes [${database}]`, { skip }, () => {
    const schema = `mpt_${randomBytes(6).toString('hex')}`;
    let dataDir: string;
    let databaseUrl: string;
    let services: ServiceProcess[] = [];
    let token: string;
    const stepOf = (ms: number) => Math.floor(ms / 30_000);

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'mfa-totp-processes-'));
      if (database === 'postgres') {
        const admin = new pg.Client({ connectionString: DATABASE_URL });
        await admin.connect();
        await admin.query(`CREATE SCHEMA "${schema}"`);
        await admin.end();
        const url = new URL(DATABASE_URL!);
        url.searchParams.set('options', `-c search_path=${schema}`);
        databaseUrl = url.toString();
      } else {
        databaseUrl = join(dataDir, 'mfa.sqlite');
      }
      const env = {
        MFA_DATABASE_URL: databaseUrl,
        ...(database === 'postgres' && REDIS_URL ? { MFA_REDIS_URL: REDIS_URL } : {}),
        MFA_SECRET: randomBytes(32).toString('hex'),
        MFA_DATA_DIR: dataDir,
        MFA_HOST: '127.0.0.1',
        MFA_PUBLIC_URL: 'http://mfa.test',
        MFA_LOG_LEVEL: 'warn',
        MFA_TOTP_MAX_FAILURES: String(MAX_FAILURES),
      };
      // One after the other: the first creates the schema, the second finds it.
      const first = new ServiceProcess('process A', await freePort(), env);
      await first.waitReady();
      const second = new ServiceProcess('process B', await freePort(), env);
      services = [first, second];
      await second.waitReady();

      const store = openStore(databaseUrl);
      const client = await createClient(store, { now: () => Date.now() }, (n) => randomBytes(n), 'totp processes', [ALL_SCOPES, ADMIN_SCOPE]);
      await store.close();
      const oauth = await fetch(`${first.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }),
      });
      assert.equal(oauth.status, 200);
      token = ((await oauth.json()) as { access_token: string }).access_token;
      const imported = await post(first.baseUrl, '/admin/v1/identities/import', token, [{ alias: 'race.code' }, { alias: 'race.wrong' }]);
      assert.equal(imported.status, 200, JSON.stringify(imported.body));
    });

    after(async () => {
      await Promise.all(services.map((s) => s.kill('SIGTERM')));
      if (database === 'postgres' && DATABASE_URL) {
        const admin = new pg.Client({ connectionString: DATABASE_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      }
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    /** Enrols through process A and confirms through process B; the secret and the confirming step. */
    async function register(alias: string): Promise<{ secret: string; confirmedStep: number }> {
      const [a, b] = services as [ServiceProcess, ServiceProcess];
      const enrolled = await post(a.baseUrl, '/v3/mfa/totp/enrol', token, { userAlias: alias });
      assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
      const now = Date.now();
      const confirmed = await post(b.baseUrl, '/v3/mfa/totp/confirm', token, { userAlias: alias, totpCode: appCode(enrolled.body.secret, now) });
      assert.deepEqual(confirmed.body, { mfaVerified: true });
      return { secret: enrolled.body.secret, confirmedStep: stepOf(now) };
    }

    it('20 concurrent submissions of one valid code through both processes succeed exactly once', async () => {
      const { secret, confirmedStep } = await register('race.code');
      // The step after the confirming one: later than it, and inside the window until a minute from now.
      const code = appCode(secret, (confirmedStep + 1) * 30_000);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(services[i % 2]!.baseUrl, '/v3/mfa/totp/authenticate', token, { userAlias: 'race.code', totpCode: code })));
      assert.deepEqual(answers.map((a) => a.status), Array(20).fill(200));
      const statuses = answers.map((a) => a.body.status as string);
      assert.equal(statuses.filter((s) => s === 'SUCCESS').length, 1, statuses.join(' '));
      // Each process answered some of them.
      assert.ok(answers.some((_, i) => i % 2 === 0) && answers.some((_, i) => i % 2 === 1));
      const audit = await fetch(`${services[0]!.baseUrl}/admin/v1/audit?alias=race.code&outcome=SUCCESS`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(((await audit.json()) as unknown[]).length, 1, 'one success on record');
    });

    it(`concurrent wrong codes through both processes compare exactly ${MAX_FAILURES}, then the identity is locked out`, async () => {
      const { secret } = await register('race.wrong');
      const now = Date.now();
      const right = new Set([-1, 0, 1, 2].map((s) => appCode(secret, now, s)));
      const wrong = Array.from({ length: 40 }, (_, i) => String(i * 24_681 % 1_000_000).padStart(6, '0')).filter((c) => !right.has(c)).slice(0, 16);
      const answers = await Promise.all(wrong.map((code, i) => post(services[i % 2]!.baseUrl, '/v3/mfa/totp/authenticate', token, { userAlias: 'race.wrong', totpCode: code })));
      const statuses = answers.map((a) => a.body.status as string);
      assert.equal(statuses.filter((s) => s === 'FAILED').length, MAX_FAILURES - 1, statuses.join(' '));
      assert.equal(statuses.filter((s) => s === 'LOCKOUT').length, wrong.length - (MAX_FAILURES - 1), statuses.join(' '));
      const afterwards = await post(services[1]!.baseUrl, '/v3/mfa/totp/authenticate', token, { userAlias: 'race.wrong', totpCode: appCode(secret, Date.now(), 1) });
      assert.equal(afterwards.body.status, 'LOCKOUT');
    });
  });
}

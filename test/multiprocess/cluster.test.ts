// Defends single use, exact counting and durability across real processes sharing one PostgreSQL schema
// and one Redis: concurrent correct answers to one token through three processes succeed once (replay),
// concurrent wrong answers are each counted (brute force under concurrency), and a process killed under
// load loses nothing another process confirmed and leaves nothing half-written.
//
// Half-written means, for the token method: a PENDING verification that is not its subject's current one
// (no token_subjects row pointing at it), a token_subjects row pointing at no verification or still holding
// the placeholder a send writes first inside its transaction, or two PENDING verifications for one subject.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createClient } from '../../src/auth/clients.js';
import { ADMIN_SCOPE, ALL_SCOPES } from '../../src/auth/scopes.js';
import { readOutbox } from '../../src/delivery/outbox.js';
import { openStore } from '../../src/store/index.js';
import { ServiceProcess, freePort, post } from '../helpers/processes.js';
import { sleep } from '../helpers/wait.js';

const DATABASE_URL = process.env['MFA_TEST_DATABASE_URL'];
const REDIS_URL = process.env['MFA_TEST_REDIS_URL'];
const SKIP = DATABASE_URL && REDIS_URL ? false : 'MFA_TEST_DATABASE_URL and MFA_TEST_REDIS_URL not both set: multi-process tests skipped';

describe('three processes on one PostgreSQL schema and one Redis', { skip: SKIP }, () => {
  const schema = `mp_${randomBytes(6).toString('hex')}`;
  let dataDir: string;
  let db: pg.Pool;
  let services: ServiceProcess[] = [];
  let token: string;

  const email = (alias: string) => `${alias}@example.test`;
  const send = (service: ServiceProcess, userAlias: string) => post(service.baseUrl, '/v3/mfa/token/send', token, { userAlias, deliveryType: 'EMAIL_WORK' });
  const authenticate = (service: ServiceProcess, userAlias: string, guess: string) =>
    post(service.baseUrl, '/v3/mfa/token/authenticate', token, { userAlias, deliveryType: 'EMAIL_WORK', token: guess });
  const poll = (service: ServiceProcess, requestId: string) => post(service.baseUrl, '/v3/mfa/token/poll', token, { requestId });

  /** The token last written to the shared outbox for `alias`. */
  async function sentToken(alias: string): Promise<string> {
    const message = (await readOutbox(dataDir)).filter((m) => m.to === email(alias)).at(-1);
    const found = message && /\b(\d{6})\b/.exec(message.body)?.[1];
    assert.ok(found, `no token in the outbox for ${alias}`);
    return found;
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mfa-multiprocess-'));
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.end();
    const url = new URL(DATABASE_URL!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    db = new pg.Pool({ connectionString: url.toString(), max: 2 });

    const env = {
      MFA_DATABASE_URL: url.toString(),
      MFA_REDIS_URL: REDIS_URL!,
      MFA_SECRET: randomBytes(32).toString('hex'),
      MFA_DATA_DIR: dataDir,
      MFA_HOST: '127.0.0.1',
      // The issuer of access tokens: the same on every instance, so a token from one works on all.
      MFA_PUBLIC_URL: 'http://mfa.test',
      MFA_LOG_LEVEL: 'warn',
      MFA_TOKEN_MAX_ATTEMPTS: '1000',
      MFA_TOKEN_MAX_FAILURES_PER_IDENTITY: '1000000',
      MFA_TOKEN_RESEND_INTERVAL_SECONDS: '0',
      MFA_RATE_SENDS_PER_CLIENT: '1000000',
      MFA_RATE_SENDS_PER_RECIPIENT: '1000000',
      MFA_KBA_ARGON2_MEMORY_KIB: '1024',
      MFA_KBA_ARGON2_TIME_COST: '1',
    };
    const ports = [await freePort(), await freePort(), await freePort()];
    services = ports.map((port, i) => new ServiceProcess(`process ${'ABC'[i]}`, port, env));
    await Promise.all(services.map((s) => s.waitReady()));

    // The API client goes straight into the database (as `clients create` would); everything else goes through process A.
    const store = openStore(DATABASE_URL!, { schema });
    const client = await createClient(store, { now: () => Date.now() }, (n) => randomBytes(n), 'multiprocess', [ALL_SCOPES, ADMIN_SCOPE]);
    await store.close();
    const oauth = await fetch(`${services[0]!.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }),
    });
    assert.equal(oauth.status, 200);
    token = ((await oauth.json()) as { access_token: string }).access_token;
    const people = ['race.correct', 'race.wrong', ...Array.from({ length: 40 }, (_, i) => `load.${i}`)].map((alias) => ({ alias, email: email(alias) }));
    const imported = await post(services[0]!.baseUrl, '/admin/v1/identities/import', token, people);
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
  });

  after(async () => {
    await Promise.all(services.map((s) => s.kill('SIGTERM')));
    await db?.end();
    if (DATABASE_URL) {
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('a token answered correctly by nine concurrent requests across the processes succeeds exactly once', async () => {
    const sent = await send(services[0]!, 'race.correct');
    assert.equal(sent.body.status, 'SUCCESS');
    const real = await sentToken('race.correct');
    const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => authenticate(services[i % 3]!, 'race.correct', real)));
    assert.deepEqual(answers.map((a) => a.status), Array(9).fill(200));
    assert.equal(answers.filter((a) => a.body.status === 'SUCCESS').length, 1, JSON.stringify(answers.map((a) => a.body)));
    const row = (await db.query('SELECT status, attempts FROM verifications WHERE id = $1', [sent.body.requestId])).rows[0];
    assert.deepEqual({ status: row.status, attempts: Number(row.attempts) }, { status: 'SUCCESS', attempts: 1 });
  });

  it('thirty concurrent distinct wrong answers across the processes use exactly thirty tries and count thirty failures', async () => {
    const sent = await send(services[1]!, 'race.wrong');
    const real = await sentToken('race.wrong');
    const guesses = Array.from({ length: 30 }, (_, i) => String((Number(real) + 1 + i) % 1_000_000).padStart(6, '0'));
    const answers = await Promise.all(guesses.map((guess, i) => authenticate(services[i % 3]!, 'race.wrong', guess)));
    assert.deepEqual(answers.map((a) => `${a.status} ${a.body.status}`), Array(30).fill('200 FAILED'));
    const verification = (await db.query('SELECT status, attempts FROM verifications WHERE id = $1', [sent.body.requestId])).rows[0];
    assert.deepEqual({ status: verification.status, attempts: Number(verification.attempts) }, { status: 'PENDING', attempts: 30 });
    const lockout = (await db.query("SELECT failures FROM lockouts WHERE subject = 'race.wrong' AND method = 'token'")).rows[0];
    assert.equal(Number(lockout.failures), 30);
  });

  it('under load, a process killed with SIGKILL loses nothing confirmed, leaves nothing half-written, and the others keep serving', async () => {
    const [a, b, c] = services as [ServiceProcess, ServiceProcess, ServiceProcess];
    const confirmed: Array<{ requestId: string; by: string }> = [];
    const survivorsFailed: string[] = [];
    let killed = false;
    let stop = false;
    let sentToKilled = 0;

    const loop = async (n: number): Promise<void> => {
      for (let i = n; !stop; i += 7) {
        const alive = killed ? [a, b] : [a, b, c];
        const target = alive[i % alive.length]!;
        const alias = `load.${(i * 13) % 40}`;
        try {
          const answer = await send(target, alias);
          if (answer.status === 200 && answer.body.status === 'SUCCESS') confirmed.push({ requestId: answer.body.requestId, by: target.name });
          else if (target !== c) survivorsFailed.push(`${target.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
          if (target === c) sentToKilled++;
        } catch (err) {
          // Only requests to the killed process may fail, and only from the kill on.
          if (target !== c || !killed) survivorsFailed.push(`${target.name}: ${(err as Error).message}`);
        }
      }
    };

    const loops = Array.from({ length: 12 }, (_, n) => loop(n));
    await sleep(1500);
    killed = true;
    await c.kill('SIGKILL');
    await sleep(2000);
    stop = true;
    await Promise.all(loops);

    assert.deepEqual(survivorsFailed, []);
    assert.ok(sentToKilled > 0, 'the killed process served part of the load before it died');
    assert.ok(confirmed.length > 50, `only ${confirmed.length} sends confirmed`);
    for (const survivor of [a, b]) assert.equal((await fetch(`${survivor.baseUrl}/health/ready`)).status, 200);

    // Nothing confirmed is lost: every confirmed send is in the database and pollable from both survivors,
    // with the status the database holds (PENDING, or FAILED once a later send superseded it).
    const ids = confirmed.map((x) => x.requestId);
    const rows = (await db.query<{ id: string; status: string }>("SELECT id, status FROM verifications WHERE method = 'token' AND id = ANY($1)", [ids])).rows;
    assert.equal(rows.length, new Set(ids).size);
    const stored = new Map(rows.map((r) => [r.id, r.status]));
    for (let i = 0; i < ids.length; i++) {
      const answer = await poll(i % 2 === 0 ? a : b, ids[i]!);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.status, stored.get(ids[i]!), `poll of ${ids[i]} sent through ${confirmed[i]!.by}`);
    }

    // Nothing half-written.
    const orphanPending = await db.query(
      `SELECT v.id FROM verifications v LEFT JOIN token_subjects s ON s.subject = v.subject AND s.request_id = v.id
       WHERE v.method = 'token' AND v.status = 'PENDING' AND s.subject IS NULL`,
    );
    assert.deepEqual(orphanPending.rows, [], 'PENDING verifications that are not their subject\'s current one');
    const danglingSubjects = await db.query(
      `SELECT s.subject, s.request_id FROM token_subjects s LEFT JOIN verifications v ON v.id = s.request_id WHERE v.id IS NULL`,
    );
    assert.deepEqual(danglingSubjects.rows, [], 'token_subjects rows pointing at no verification (or at the placeholder)');
    const doublePending = await db.query(
      "SELECT subject, COUNT(*) AS n FROM verifications WHERE method = 'token' AND status = 'PENDING' GROUP BY subject HAVING COUNT(*) > 1",
    );
    assert.deepEqual(doublePending.rows, [], 'subjects with two PENDING tokens');
  });
});

// Defends the authenticator secret at rest and in logs (docs/totp.md): someone who reads the database (a
// backup, a replica, a dump), the data directory or the service's log learning a person's TOTP secret, and
// with it every code of their app for ever. The secret is shown once, at enrolment; stored only sealed.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Secret } from 'otpauth';
import { sealerFor } from '../../src/runtime.js';
import { driverOf } from '../../src/store/index.js';
import { describeEachDatabase, type TestServer, startServer } from '../helpers/server.js';
import { appCode, steppedClock, totpCalls, wrongCode } from '../helpers/totp.js';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))));
  return nested.flat();
}

describeEachDatabase('TOTP secret at rest', ({ postgres }) => {
  let server: TestServer;
  const log: string[] = [];
  const clock = steppedClock();

  before(async () => {
    server = await startServer({ postgres, clock, logger: { level: 'trace', stream: { write: (line: string) => void log.push(line) } } });
  });
  after(async () => {
    await server.close();
  });

  /** Every row of every table of the service's database, as text. */
  async function allRows(): Promise<string> {
    const db = driverOf(server.runtime.store);
    const tables = server.postgres
      ? (await db.all<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?', [server.schema!])).map((t) => t.name)
      : (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")).map((t) => t.name);
    assert.ok(tables.includes('totp_registrations') && tables.includes('identities'), tables.join(', '));
    const dumps = await Promise.all(tables.map(async (table) => JSON.stringify(await db.all(`SELECT * FROM ${table}`))));
    return dumps.join('\n');
  }

  it('the secret is in no table row, log line or data file, in base32, hex or as its bytes; it is there sealed', async () => {
    await server.addIdentity('kept.secret', { email: 'kept@example.com' });
    const api = totpCalls(server, await server.accessToken(['sp:scopes:all']));
    const enrolled = (await api.enrol('kept.secret')).body;
    const secret = enrolled.secret as string;
    assert.deepEqual((await api.confirm('kept.secret', appCode(secret, clock.now()))).body, { mfaVerified: true });
    // A second, pending enrolment over it (with a recent success), and checks of every kind.
    clock.advance(30_000);
    assert.equal((await api.authenticate('kept.secret', appCode(secret, clock.now()))).body.status, 'SUCCESS');
    const pending = (await api.enrol('kept.secret')).body.secret as string;
    await api.authenticate('kept.secret', wrongCode(secret, clock.now()));
    await api.status('kept.secret');

    const bytes = Buffer.from(Secret.fromBase32(secret).bytes);
    const pendingBytes = Buffer.from(Secret.fromBase32(pending).bytes);
    const forms = (b32: string, raw: Buffer) => [b32, b32.toLowerCase(), raw.toString('hex'), raw.toString('base64'), raw.toString('base64url')];
    const clearForms = [...forms(secret, bytes), ...forms(pending, pendingBytes)];

    const rows = await allRows();
    assert.ok(rows.includes('kept.secret'), 'the dump reads the rows (the alias is there in clear)');
    for (const form of clearForms) assert.ok(!rows.includes(form), `a table row holds ${form}`);
    // The stored form is the sealed one: it opens to the secret with the service's key only.
    const sealed = await driverOf(server.runtime.store).get<{ sealed_secret: string; pending_sealed_secret: string }>(
      'SELECT r.sealed_secret, r.pending_sealed_secret FROM totp_registrations r JOIN identities i ON i.id = r.identity_id WHERE i.alias = ?',
      ['kept.secret'],
    );
    const sealer = sealerFor(server.runtime.config);
    assert.equal(JSON.parse(sealer.unseal(sealed!.sealed_secret)).secret, secret);
    assert.equal(JSON.parse(sealer.unseal(sealed!.pending_sealed_secret)).secret, pending);

    assert.ok(log.length > 5, 'the log was captured');
    const logText = log.join('');
    for (const form of clearForms) assert.ok(!logText.includes(form), `the log holds ${form}`);

    // The data directory: the SQLite database and its journal files (on SQLite), the outbox, the secret key file.
    let aliasSeen = false;
    for (const file of await filesUnder(server.dataDir)) {
      const content = await readFile(file);
      aliasSeen ||= content.includes('kept.secret');
      for (const form of clearForms) assert.equal(content.indexOf(form), -1, `${file} holds ${form}`);
      assert.equal(content.indexOf(bytes), -1, `${file} holds the secret's bytes`);
      assert.equal(content.indexOf(pendingBytes), -1, `${file} holds the pending secret's bytes`);
    }
    if (!server.postgres) assert.ok(aliasSeen, 'the scan reads the database files (the alias is there in clear)');
  });

  it('the secret is shown once: status, poll and the audit trail never carry it, and a second enrolment gives a new one', async () => {
    await server.addIdentity('shown.once', {});
    const api = totpCalls(server, await server.accessToken(['sp:scopes:all']));
    const first = (await api.enrol('shown.once')).body;
    const second = (await api.enrol('shown.once')).body;
    assert.notEqual(first.secret, second.secret);
    await api.confirm('shown.once', appCode(second.secret, clock.now()));
    clock.advance(30_000);
    const check = await api.authenticate('shown.once', appCode(second.secret, clock.now()));
    const seen = JSON.stringify([(await api.status('shown.once')).body, (await api.poll(check.body.requestId)).body, await server.runtime.store.queryAudit({ alias: 'shown.once', limit: 100 })]);
    assert.ok(!seen.includes(second.secret) && !seen.includes(first.secret), seen);
  });
});

// Defends security-answer enrolment against partial writes (a rejected enrolment must leave the previous answers
// exactly as they were) and against answer disclosure from a stolen database (answers are stored only as salted
// argon2id hashes: no answer, raw or normalised, in any row or anywhere in the SQLite files).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import argon2 from 'argon2';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createClient } from '../../src/auth/clients.js';
import { normalizeAnswer } from '../../src/core/kba.js';
import { describeEachDatabase, postJson, startServer, type TestServer } from '../helpers/server.js';

// Cheap hashing keeps the test fast; the parameters do not change what is stored or compared.
// Enrolment limits raised: these tests re-enrol one identity many times (the limits: kba-enrolment-limits.test.ts).
const FAST_KBA = {
  MFA_KBA_ARGON2_MEMORY_KIB: '1024',
  MFA_KBA_ARGON2_TIME_COST: '1',
  MFA_KBA_MIN_ANSWERS: '2',
  MFA_KBA_MAX_ATTEMPTS: '1000',
  MFA_KBA_ENROLMENTS_PER_IDENTITY: '1000',
  MFA_KBA_ENROLMENTS_PER_CLIENT: '1000',
};
const HASH_PREFIX = '$argon2id$v=19$m=1024,p=1,t=1$';

type Answers = Array<{ id: string; answer: string }>;

describeEachDatabase('KBA enrolment', ({ postgres }) => {
  let server: TestServer;
  let identityCounter = 0;

  before(async () => {
    server = await startServer({ postgres, env: FAST_KBA });
    const now = Date.now();
    const texts: Record<string, string> = { pet: 'First pet?', city: 'City of birth?', street: 'Street you grew up on?', school: 'First school?' };
    let order = 0;
    for (const [id, text] of Object.entries(texts)) await server.runtime.store.putQuestion({ id, texts: { '': text }, createdAt: now + order++ });
  });
  after(() => server.close());

  /** A fresh identity and a bearer token from its personal client. */
  async function newIdentity(): Promise<{ alias: string; token: string }> {
    const alias = `kba.enrol.${++identityCounter}`;
    await server.addIdentity(alias, { email: `${alias}@example.com` });
    const { runtime } = server;
    const { clientId, clientSecret } = await createClient(runtime.store, runtime.clock, runtime.randomBytes, `${alias} app`, ['sp:scopes:all'], alias);
    const response = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    assert.equal(response.status, 200);
    return { alias, token: ((await response.json()) as { access_token: string }).access_token };
  }

  const enrol = (token: string, answers: Answers) => postJson(server, '/v3/mfa/kba/config/answers', token, answers);
  const check = (token: string, answers: Answers) => postJson(server, '/v3/mfa/kba/authenticate', token, answers);

  async function storedHashes(alias: string): Promise<Map<string, string>> {
    const identity = await server.runtime.store.findIdentity(alias);
    assert.ok(identity);
    return new Map((await server.runtime.store.listAnswers(identity.id)).map((a) => [a.questionId, a.answerHash]));
  }

  /** Enrols a fresh identity with pet and city, and returns what a rejected enrolment must not change. */
  async function enrolledIdentity(): Promise<{ alias: string; token: string; answers: Answers; hashes: Map<string, string> }> {
    const identity = await newIdentity();
    const answers: Answers = [
      { id: 'pet', answer: `Rex ${identityCounter}` },
      { id: 'city', answer: `Lisbon ${identityCounter}` },
    ];
    const enrolled = await enrol(identity.token, answers);
    assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
    const hashes = await storedHashes(identity.alias);
    assert.deepEqual([...hashes.keys()].sort(), ['city', 'pet']);
    return { ...identity, answers, hashes };
  }

  /** The previous answers still stand: same rows, same hashes, and a check with them succeeds. */
  async function assertUntouched(before: { alias: string; token: string; answers: Answers; hashes: Map<string, string> }): Promise<void> {
    assert.deepEqual(await storedHashes(before.alias), before.hashes, 'the stored answers changed');
    const old = await check(before.token, before.answers);
    assert.equal(old.status, 200);
    assert.equal(old.body.status, 'SUCCESS', 'a check with the previous answers no longer succeeds');
  }

  function assertBadRequest(response: { status: number; body: any }, ...causePatterns: RegExp[]): void {
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.body.detailCode, '400.1 Bad Request Content');
    assert.match(response.body.trackingId, /^[0-9a-f]{32}$/);
    assert.equal(response.body.messages.length, 1);
    const causes: string[] = response.body.causes.map((c: { text: string }) => c.text);
    for (const pattern of causePatterns) assert.ok(causes.some((c) => pattern.test(c)), `no cause matches ${pattern}: ${JSON.stringify(causes)}`);
  }

  it('a valid enrolment stores one argon2id hash per answer, and a check with the answers succeeds', async () => {
    const identity = await enrolledIdentity();
    for (const hash of identity.hashes.values()) assert.ok(hash.startsWith(HASH_PREFIX), hash);
    const ok = await check(identity.token, [
      { id: 'pet', answer: `  REX   ${identityCounter} ` },
      { id: 'city', answer: `lisbon ${identityCounter}` },
    ]);
    assert.equal(ok.body.status, 'SUCCESS');
  });

  it('one unknown question id rejects the whole enrolment, naming the item index and id; the previous answers stay', async () => {
    const identity = await enrolledIdentity();
    const response = await enrol(identity.token, [
      { id: 'pet', answer: 'Changed pet' },
      { id: 'no-such-question', answer: 'Anything' },
      { id: 'city', answer: 'Changed city' },
    ]);
    assertBadRequest(response, /item 1\b.*"no-such-question"/);
    assert.ok(!JSON.stringify(response.body.causes).includes('item 0'), 'a valid item is reported as a problem');
    await assertUntouched(identity);
    const changed = await check(identity.token, [
      { id: 'pet', answer: 'Changed pet' },
      { id: 'city', answer: 'Changed city' },
    ]);
    assert.equal(changed.body.status, 'FAILED', 'the rejected answers were saved');
  });

  it('one empty or whitespace-only answer rejects the whole enrolment, naming the item index and id', async () => {
    for (const blank of ['', '   ', ' \t\n\u00a0\u3000 ']) {
      const identity = await enrolledIdentity();
      const response = await enrol(identity.token, [
        { id: 'pet', answer: 'Changed pet' },
        { id: 'city', answer: 'Changed city' },
        { id: 'street', answer: blank },
      ]);
      assertBadRequest(response, /item 2\b.*"street".*empty/);
      await assertUntouched(identity);
      assert.equal((await check(identity.token, [{ id: 'pet', answer: 'Changed pet' }, { id: 'city', answer: 'Changed city' }])).body.status, 'FAILED');
    }
  });

  it('a question answered twice rejects the whole enrolment, naming the second item and its id', async () => {
    const identity = await enrolledIdentity();
    const response = await enrol(identity.token, [
      { id: 'street', answer: 'Baker Street' },
      { id: 'school', answer: 'Hogwarts' },
      { id: 'street', answer: 'Abbey Road' },
    ]);
    assertBadRequest(response, /item 2\b.*"street"/);
    await assertUntouched(identity);
  });

  it('every problem of a rejected enrolment is reported, one cause per item', async () => {
    const identity = await enrolledIdentity();
    const response = await enrol(identity.token, [
      { id: 'ghost', answer: 'x' },
      { id: 'pet', answer: ' ' },
      { id: 'pet', answer: 'Rex' },
    ]);
    assertBadRequest(response, /item 0\b.*"ghost"/, /item 1\b.*"pet".*empty/, /item 2\b.*"pet"/);
    await assertUntouched(identity);
  });

  it('fewer answers than MFA_KBA_MIN_ANSWERS are refused and change nothing; exactly the minimum is accepted', async () => {
    const identity = await enrolledIdentity();
    assertBadRequest(await enrol(identity.token, [{ id: 'street', answer: 'Baker Street' }]), /at least 2/);
    assertBadRequest(await enrol(identity.token, []), /at least 2/);
    await assertUntouched(identity);

    const fresh = await newIdentity();
    assertBadRequest(await enrol(fresh.token, [{ id: 'pet', answer: 'Rex' }]), /at least 2/);
    assert.equal((await storedHashes(fresh.alias)).size, 0, 'a refused first enrolment saved answers');
    const exact = await enrol(fresh.token, [{ id: 'pet', answer: 'Rex' }, { id: 'school', answer: 'Hogwarts' }]);
    assert.equal(exact.status, 200);
  });

  it('re-enrolment replaces the answers: questions left out lose their answer', async () => {
    const identity = await newIdentity();
    const first = await enrol(identity.token, [
      { id: 'pet', answer: 'Rex' },
      { id: 'city', answer: 'Lisbon' },
      { id: 'street', answer: 'Baker Street' },
    ]);
    assert.equal(first.status, 200);
    const countsBefore = await tenantAnswerCounts(identity.token);
    // The factor-change rule: a right check first proves the identity (test/security/factor-change.test.ts).
    assert.equal((await check(identity.token, [{ id: 'pet', answer: 'Rex' }, { id: 'city', answer: 'Lisbon' }])).body.status, 'SUCCESS');

    const second = await enrol(identity.token, [
      { id: 'pet', answer: 'Felix' },
      { id: 'school', answer: 'Hogwarts' },
    ]);
    assert.equal(second.status, 200);
    assert.deepEqual(
      second.body.map((q: { id: string; hasAnswer: boolean }) => [q.id, q.hasAnswer]),
      [['pet', true], ['city', false], ['street', false], ['school', true]],
    );
    assert.deepEqual([...(await storedHashes(identity.alias)).keys()].sort(), ['pet', 'school']);

    // The tenant-wide counts of GET /mfa/kba/config drop by this identity's removed answers.
    const countsAfter = await tenantAnswerCounts(identity.token);
    assert.equal(countsAfter.get('city'), countsBefore.get('city')! - 1);
    assert.equal(countsAfter.get('street'), countsBefore.get('street')! - 1);
    assert.equal(countsAfter.get('school'), (countsBefore.get('school') ?? 0) + 1);

    // The removed and the replaced answers no longer pass; the new ones do.
    const removed = await check(identity.token, [
      { id: 'pet', answer: 'Felix' },
      { id: 'city', answer: 'Lisbon' },
    ]);
    assert.equal(removed.body.status, 'FAILED');
    assert.deepEqual(removed.body.kbaAuthResponseItems, [
      { questionId: 'pet', isVerified: true },
      { questionId: 'city', isVerified: false },
    ]);
    assert.equal((await check(identity.token, [{ id: 'pet', answer: 'Rex' }, { id: 'school', answer: 'Hogwarts' }])).body.status, 'FAILED');
    assert.equal((await check(identity.token, [{ id: 'pet', answer: 'Felix' }, { id: 'school', answer: 'Hogwarts' }])).body.status, 'SUCCESS');
  });

  async function tenantAnswerCounts(token: string): Promise<Map<string, number>> {
    const response = await fetch(`${server.baseUrl}/v3/mfa/kba/config`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    const questions = (await response.json()) as Array<{ id: string; numAnswers: number; hasAnswer: boolean }>;
    for (const q of questions) assert.equal(q.hasAnswer, q.numAnswers > 0);
    return new Map(questions.map((q) => [q.id, q.numAnswers]));
  }

  // Regression: replaceAnswers once merged concurrent enrolments on PostgreSQL (DELETE then INSERT with no lock on the identity).
  it(
    'concurrent re-enrolments leave exactly one of the submitted sets, and none fails',
    async () => {
      const identity = await newIdentity();
      // Re-enrolment needs a recent verification (the factor-change rule): one that stays recent for the test.
      await server.recordSuccess(identity.alias);
      const sets = [
        ['pet', 'city'],
        ['street', 'school'],
        ['pet', 'street'],
        ['city', 'school'],
      ];
      for (let round = 0; round < 8; round++) {
        const responses = await Promise.all(sets.map((ids) => enrol(identity.token, ids.map((id) => ({ id, answer: `answer ${round}` })))));
        assert.deepEqual(
          responses.map((r) => r.status),
          sets.map(() => 200),
          `round ${round}: not every enrolment was accepted`,
        );
        const stored = [...(await storedHashes(identity.alias)).keys()].sort().join(',');
        assert.ok(
          sets.some((ids) => [...ids].sort().join(',') === stored),
          `round ${round}: the stored answers (${stored}) are none of the submitted sets`,
        );
      }
    },
  );

  it('the database holds no answer in clear: only salted argon2id hashes of the normalised answers', async () => {
    // Distinctive words that appear nowhere else (not in question texts, aliases or e-mail addresses).
    const secrets = {
      pet: '  ＱＵＯＫＫＡ   Wombatine  ',
      city: 'Zanzibarque\tOctopolis',
      street: 'Strasse der Xylophonisten',
      school: 'Straße der Xylophonisten',
    };
    const answers: Answers = Object.entries(secrets).map(([id, answer]) => ({ id, answer }));
    const first = await newIdentity();
    const second = await newIdentity();
    assert.equal((await enrol(first.token, answers)).status, 200);
    assert.equal((await enrol(second.token, answers)).status, 200);

    const words = ['quokka', 'wombatine', 'zanzibarque', 'octopolis', 'xylophonisten'];
    const needles = [...Object.values(secrets), ...Object.values(secrets).map(normalizeAnswer), ...words];

    const rows = await readAllRows();
    const answerRows = rows.get('kba_answers');
    assert.ok(answerRows, 'no kba_answers table');
    const ids = new Set<string>();
    for (const alias of [first.alias, second.alias]) ids.add((await server.runtime.store.findIdentity(alias))!.id);
    const ours = answerRows.filter((r) => ids.has(String(r['identity_id'])));
    assert.equal(ours.length, 8);

    const salts = new Set<string>();
    for (const row of ours) {
      const hash = String(row['answer_hash']);
      assert.ok(hash.startsWith('$argon2id$'), hash);
      const parts = hash.split('$');
      assert.equal(parts.length, 6, hash);
      salts.add(parts[4]!);
      // The hash is of the normalised answer, so a differently written answer still matches.
      const question = String(row['question_id']) as keyof typeof secrets;
      assert.ok(await argon2.verify(hash, normalizeAnswer(secrets[question])), `the ${question} hash is not of the normalised answer`);
    }
    assert.equal(salts.size, 8, 'two hashes share a salt: equal answers would show as equal hashes');
    // "Strasse" and "Straße" normalise alike, and the two identities gave the same answers: the hashes still differ.
    assert.equal(new Set(ours.map((r) => String(r['answer_hash']))).size, 8);

    // No table, not only kba_answers, holds an answer in any form.
    const everything = JSON.stringify([...rows.entries()]).toLowerCase();
    for (const needle of needles) assert.ok(!everything.includes(needle.toLowerCase()), `a row holds ${JSON.stringify(needle)}`);

    if (!postgres) {
      // Nor do the database files themselves (main file, write-ahead log, anything else in the data directory),
      // in UTF-8 or UTF-16, whether or not the rows above were checkpointed yet.
      const files = await readdir(server.dataDir, { recursive: true, withFileTypes: true });
      const scanned: string[] = [];
      for (const file of files.filter((f) => f.isFile())) {
        const path = join(file.parentPath, file.name);
        const bytes = await readFile(path);
        scanned.push(file.name);
        const asUtf8 = bytes.toString('utf8').toLowerCase();
        const asUtf16 = bytes.toString('utf16le').toLowerCase();
        const asUtf16Odd = bytes.subarray(1).toString('utf16le').toLowerCase();
        for (const needle of needles) {
          const n = needle.toLowerCase();
          assert.ok(!asUtf8.includes(n) && !asUtf16.includes(n) && !asUtf16Odd.includes(n), `${file.name} holds ${JSON.stringify(needle)}`);
        }
      }
      assert.ok(scanned.includes('mfa.sqlite'), `the SQLite file was not scanned: ${scanned.join(', ')}`);
      // The scan can see stored data: the identities' aliases are in the files.
      const all = Buffer.concat(await Promise.all(files.filter((f) => f.isFile()).map((f) => readFile(join(f.parentPath, f.name))))).toString('latin1');
      assert.ok(all.includes(first.alias), 'the scan does not see stored rows');
    }
  });

  /** Every row of every table, read straight from the database rather than through the store. */
  async function readAllRows(): Promise<Map<string, Array<Record<string, unknown>>>> {
    const tables = new Map<string, Array<Record<string, unknown>>>();
    if (!postgres) {
      const db = new Database(join(server.dataDir, 'mfa.sqlite'), { readonly: true, fileMustExist: true });
      try {
        const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
        for (const { name } of names) tables.set(name, db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>);
      } finally {
        db.close();
      }
      return tables;
    }
    assert.ok(server.schema);
    const client = new pg.Client({ connectionString: process.env['MFA_TEST_DATABASE_URL'], options: `-c search_path=${server.schema}` });
    await client.connect();
    try {
      const names = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
        [server.schema],
      );
      for (const { table_name: name } of names.rows) tables.set(name, (await client.query(`SELECT * FROM "${name}"`)).rows);
    } finally {
      await client.end();
    }
    return tables;
  }
});

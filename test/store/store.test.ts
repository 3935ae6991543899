// Defends the Store contract on every database, above all single use and limits under concurrency: lost updates on attempt, failure and rate counters (brute force), double completion (replay), duplicate sends.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import type { AuditEvent } from '../../src/core/audit.js';
import type { ApiClient, DeliveryType } from '../../src/core/model.js';
import type { DecidedRows, FailurePolicy, IdentityInput, NewTokenVerification, SigningKeyRecord, Store } from '../../src/core/ports.js';
import { ERROR_SUPERSEDED } from '../../src/core/token-rules.js';
import { openStore } from '../../src/store/index.js';
import { describeEachStore, type OpenedStore } from '../helpers/stores.js';

/** A fixed clock: the store never reads the time for these operations, every instant is passed in. */
const T0 = 1_700_000_000_000;
const TTL_MS = 300_000;
const RESEND_MS = 30_000;

let sequence = 0;
const uniqueId = (prefix: string): string => `${prefix}-${++sequence}`;

function tokenVerification(overrides: Partial<NewTokenVerification> = {}): NewTokenVerification {
  const createdAt = overrides.createdAt ?? T0;
  return {
    id: uniqueId('req'),
    subject: 'alice',
    clientId: 'client-a',
    deliveryType: 'EMAIL_WORK',
    secretHash: 'hmac-of-token',
    createdAt,
    expiresAt: createdAt + TTL_MS,
    ...overrides,
  };
}

/** Starts `v` with the cutoff a service using RESEND_MS would pass at `v.createdAt`. */
function start(store: Store, v: NewTokenVerification, resendCutoff = v.createdAt - RESEND_MS): Promise<{ requestId: string; created: boolean }> {
  return store.startTokenVerification(v, resendCutoff);
}

function identity(alias: string, overrides: Partial<IdentityInput> = {}): IdentityInput {
  return { alias, status: 'active', attributes: { email: `${alias}@example.test`, phone: '+15550100' }, ...overrides };
}

function counter(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

const GENEROUS: FailurePolicy = { windowMs: 600_000, maxFailures: 1_000_000, lockoutMs: 900_000 };
let guessSequence = 0;

/** A wrong guess (a new one unless `guessHash` repeats one); the tries used, or undefined when none was taken. */
async function wrongGuess(store: Store, v: NewTokenVerification, maxAttempts: number, now: number, guessHash = `guess-${++guessSequence}`): Promise<number | undefined> {
  const counted = await store.recordWrongGuess({ verificationId: v.id, subject: v.subject, method: 'token', guessHash, maxAttempts, now }, GENEROUS);
  return counted?.attemptsUsed;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

describeEachStore('Store contract', (target) => {
  let opened: OpenedStore;
  let store: Store;

  beforeEach(async () => {
    opened = await target.open();
    store = opened.store;
  });

  afterEach(async () => {
    await opened.cleanup();
  });

  it('reports its kind and answers ping', async () => {
    assert.equal(store.kind, target.name);
    await store.ping();
  });

  it('migrate is idempotent: running it again on a migrated database changes nothing', async () => {
    await store.upsertIdentities([identity('kept')], counter('id'), T0);
    await store.migrate();
    await store.migrate();
    assert.equal((await store.findIdentity('kept'))?.alias, 'kept');
  });

  // identities

  it('upsertIdentities creates, then updates in place keeping id and createdAt', async () => {
    const first = await store.upsertIdentities([identity('alice'), identity('bob', { status: 'disabled' })], counter('id'), T0);
    assert.deepEqual(first, { created: 2, updated: 0 });
    assert.deepEqual(await store.findIdentity('alice'), {
      id: 'id-1',
      alias: 'alice',
      status: 'active',
      attributes: { email: 'alice@example.test', phone: '+15550100' },
      createdAt: T0,
      updatedAt: T0,
    });

    const second = await store.upsertIdentities(
      [identity('alice', { status: 'disabled', attributes: { email: 'new@example.test' } }), identity('carol')],
      counter('id2'),
      T0 + 5000,
    );
    assert.deepEqual(second, { created: 1, updated: 1 });
    assert.deepEqual(await store.findIdentity('alice'), {
      id: 'id-1',
      alias: 'alice',
      status: 'disabled',
      attributes: { email: 'new@example.test' },
      createdAt: T0,
      updatedAt: T0 + 5000,
    });
    assert.equal((await store.findIdentity('carol'))?.id, 'id2-1');
    assert.equal((await store.findIdentity('bob'))?.status, 'disabled');
    assert.equal(await store.findIdentity('nobody'), undefined);
  });

  it('findIdentityById finds by id only, and follows the identity through a change of attributes', async () => {
    await store.upsertIdentities([identity('alice'), identity('bob')], counter('id'), T0);
    const alice = await store.findIdentity('alice');
    assert.ok(alice);
    assert.deepEqual(await store.findIdentityById(alice.id), alice);
    assert.equal((await store.findIdentityById('id-2'))?.alias, 'bob');
    assert.equal(await store.findIdentityById('alice'), undefined, 'an alias is not an id');
    assert.equal(await store.findIdentityById('ID-1'), undefined, 'ids compare exactly');
    assert.equal(await store.findIdentityById('no-such-id'), undefined);
    await store.upsertIdentities([identity('alice', { status: 'disabled' })], counter('other'), T0 + 1);
    assert.equal((await store.findIdentityById(alice.id))?.status, 'disabled');
    await store.deleteIdentity('alice');
    assert.equal(await store.findIdentityById(alice.id), undefined);
  });

  it('listIdentities pages in alias order after afterAlias', async () => {
    await store.upsertIdentities(['dave', 'alice', 'erin', 'carol', 'bob'].map((a) => identity(a)), counter('id'), T0);
    const aliases = (rows: { alias: string }[]): string[] => rows.map((r) => r.alias);
    assert.deepEqual(aliases(await store.listIdentities(2)), ['alice', 'bob']);
    assert.deepEqual(aliases(await store.listIdentities(2, 'bob')), ['carol', 'dave']);
    assert.deepEqual(aliases(await store.listIdentities(2, 'dave')), ['erin']);
    assert.deepEqual(aliases(await store.listIdentities(2, 'erin')), []);
    assert.deepEqual(aliases(await store.listIdentities(100)), ['alice', 'bob', 'carol', 'dave', 'erin']);
  });

  it('deleteIdentity removes once', async () => {
    await store.upsertIdentities([identity('alice'), identity('bob')], counter('id'), T0);
    assert.equal(await store.deleteIdentity('alice'), true);
    assert.equal(await store.findIdentity('alice'), undefined);
    assert.equal(await store.deleteIdentity('alice'), false);
    assert.equal((await store.findIdentity('bob'))?.alias, 'bob');
  });

  it('upsertIdentities is all-or-nothing: a row the database rejects rolls back the rows before it', async () => {
    await store.upsertIdentities([identity('existing')], () => 'pre-1', T0);
    // The third new row reuses the first one's id, so its INSERT violates the primary key.
    const ids = ['dup', 'other', 'dup'];
    const newId = (): string => ids.shift() ?? 'unexpected';
    await assert.rejects(
      store.upsertIdentities(
        [identity('existing', { status: 'disabled' }), identity('new-1'), identity('new-2'), identity('new-3')],
        newId,
        T0 + 1000,
      ),
    );
    assert.deepEqual(
      (await store.listIdentities(100)).map((r) => [r.alias, r.status, r.updatedAt]),
      [['existing', 'active', T0]],
    );
    // The store is usable after the rollback.
    assert.deepEqual(await store.upsertIdentities([identity('new-1')], () => 'fresh', T0 + 2000), { created: 1, updated: 0 });
  });

  // API clients

  it('clients: create, find, list in creation order, delete', async () => {
    await store.upsertIdentities([identity('alice')], () => 'id-alice', T0);
    const a: ApiClient = { clientId: 'client-b', name: 'B', secretHash: 'hash-b', scopes: ['token:send', 'token:verify'], identityId: 'id-alice', identityAlias: 'alice', createdAt: T0 + 10, disabledAt: null };
    const b: ApiClient = { clientId: 'client-a', name: 'A', secretHash: 'hash-a', scopes: [], identityId: null, identityAlias: null, createdAt: T0 + 20, disabledAt: null };
    await store.createClient(a);
    await store.createClient(b);
    assert.deepEqual(await store.findClient('client-b'), a);
    assert.deepEqual(await store.findClient('client-a'), b);
    assert.equal(await store.findClient('client-z'), undefined);
    assert.deepEqual(await store.listClients(), [a, b]);
    await assert.rejects(store.createClient({ ...a, name: 'again' }), 'a client id is unique');
    assert.equal(await store.deleteClient('client-b'), true);
    assert.equal(await store.deleteClient('client-b'), false);
    assert.deepEqual(await store.listClients(), [b]);
  });

  it('disableClient marks a client once and keeps it', async () => {
    await store.createClient({ clientId: 'c1', name: 'C', secretHash: 'h', scopes: ['idn:mfa:send'], identityId: null, createdAt: T0 });
    assert.equal(await store.disableClient('c1', T0 + 5), true);
    assert.equal(await store.disableClient('c1', T0 + 9), false, 'an already disabled client keeps its first date');
    assert.equal(await store.disableClient('nobody', T0 + 9), false);
    assert.equal((await store.findClient('c1'))?.disabledAt, T0 + 5);
  });

  it('a personal client follows its identity id: the alias it shows is the current one, deleting the identity deletes it', async () => {
    await store.upsertIdentities([identity('alice')], () => 'id-1', T0);
    await store.createClient({ clientId: 'p1', name: 'P', secretHash: 'h', scopes: ['idn:mfa:send'], identityId: 'id-1', createdAt: T0 });
    await store.createClient({ clientId: 's1', name: 'S', secretHash: 'h', scopes: ['idn:mfa:send'], identityId: null, createdAt: T0 });
    assert.equal((await store.findClient('p1'))?.identityAlias, 'alice');
    assert.equal(await store.deleteIdentity('alice'), true);
    assert.equal(await store.findClient('p1'), undefined, 'the personal client went with its identity');
    assert.ok(await store.findClient('s1'), 'service clients are untouched');
    // A later identity with the same alias gets a new id; nothing binds it to the old client.
    await store.upsertIdentities([identity('alice')], () => 'id-2', T0 + 1);
    assert.equal((await store.findIdentity('alice'))?.id, 'id-2');
    assert.deepEqual((await store.listClients()).map((c) => c.clientId), ['s1']);
  });

  it('findIdentityById finds by id only', async () => {
    await store.upsertIdentities([identity('bob')], () => 'id-bob', T0);
    assert.equal((await store.findIdentityById('id-bob'))?.alias, 'bob');
    assert.equal(await store.findIdentityById('bob'), undefined);
  });

  it('lastSuccessAt: the latest SUCCESS of any of the subjects, any method; 0 when none', async () => {
    const decided = (id: string, subject: string, status: 'SUCCESS' | 'FAILED', completedAt: number) =>
      store.recordVerification({ id, method: 'kba', subject, clientId: 'c', deliveryType: null, secretHash: null, status, error: null, attempts: 0, createdAt: completedAt, expiresAt: completedAt + 1000, completedAt });
    assert.equal(await store.lastSuccessAt(['alice']), 0);
    await decided('v1', 'alice', 'SUCCESS', T0 + 10);
    await decided('v2', 'alice', 'FAILED', T0 + 50);
    await decided('v3', 'id-alice', 'SUCCESS', T0 + 30);
    await decided('v4', 'bob', 'SUCCESS', T0 + 90);
    assert.equal(await store.lastSuccessAt(['alice']), T0 + 10);
    assert.equal(await store.lastSuccessAt(['alice', 'id-alice']), T0 + 30);
    assert.equal(await store.lastSuccessAt([]), 0);
  });

  // signing keys

  it('signing keys: add, list in creation order, retire all but one without re-stamping retired keys', async () => {
    const key = (kid: string, createdAt: number): SigningKeyRecord => ({
      kid,
      alg: 'ES256',
      publicJwk: `{"kid":"${kid}"}`,
      sealedPrivateJwk: `sealed-${kid}`,
      createdAt,
      retiredAt: null,
      revokedAt: null,
    });
    await store.addSigningKey(key('k2', T0 + 2));
    await store.addSigningKey(key('k1', T0 + 1));
    await store.addSigningKey(key('k3', T0 + 3));
    assert.deepEqual(await store.listSigningKeys(), [key('k1', T0 + 1), key('k2', T0 + 2), key('k3', T0 + 3)]);

    await store.retireSigningKeys('k2', T0 + 100);
    assert.deepEqual(
      (await store.listSigningKeys()).map((k) => [k.kid, k.retiredAt]),
      [['k1', T0 + 100], ['k2', null], ['k3', T0 + 100]],
    );
    await store.retireSigningKeys('k3', T0 + 200);
    assert.deepEqual(
      (await store.listSigningKeys()).map((k) => [k.kid, k.retiredAt]),
      [['k1', T0 + 100], ['k2', T0 + 200], ['k3', T0 + 100]],
    );
    await store.revokeSigningKeys('k3', T0 + 300);
    assert.deepEqual(
      (await store.listSigningKeys()).map((k) => [k.kid, k.retiredAt, k.revokedAt]),
      [['k1', T0 + 100, T0 + 300], ['k2', T0 + 200, T0 + 300], ['k3', T0 + 100, null]],
      'revoking keeps the kept key as it was and an earlier retirement date',
    );
  });

  // token verifications

  it('startTokenVerification creates a pending token verification', async () => {
    const v = tokenVerification();
    assert.deepEqual(await start(store, v), { requestId: v.id, created: true });
    assert.deepEqual(await store.findVerification(v.id), {
      id: v.id,
      method: 'token',
      subject: 'alice',
      clientId: 'client-a',
      deliveryType: 'EMAIL_WORK',
      secretHash: 'hmac-of-token',
      status: 'PENDING',
      error: null,
      attempts: 0,
      createdAt: T0,
      expiresAt: T0 + TTL_MS,
      completedAt: null,
    });
    assert.equal(await store.findVerification('no-such-id'), undefined);
  });

  it('a repeat send from the same client and delivery type within the resend interval answers the first request', async () => {
    const first = tokenVerification();
    await start(store, first);
    const repeat = tokenVerification({ createdAt: T0 + 10_000 });
    assert.deepEqual(await start(store, repeat), { requestId: first.id, created: false });
    assert.equal(await store.findVerification(repeat.id), undefined, 'nothing is written for a deduplicated send');
    assert.equal((await store.findVerification(first.id))?.status, 'PENDING');
  });

  for (const [what, overrides] of [
    ['another client', { clientId: 'client-b' }],
    ['another delivery type', { deliveryType: 'SMS_PERSONAL' as DeliveryType }],
  ] as const) {
    it(`a send from ${what} within the resend interval is not deduplicated`, async () => {
      const first = tokenVerification();
      await start(store, first);
      const next = tokenVerification({ createdAt: T0 + 10_000, ...overrides });
      assert.deepEqual(await start(store, next), { requestId: next.id, created: true });
    });
  }

  it('a repeat send after the resend interval is not deduplicated', async () => {
    const first = tokenVerification();
    await start(store, first);
    const later = tokenVerification({ createdAt: T0 + RESEND_MS + 1 });
    assert.deepEqual(await start(store, later), { requestId: later.id, created: true });
  });

  it('a repeat send is not deduplicated once the previous verification is no longer pending', async () => {
    const first = tokenVerification();
    await start(store, first);
    assert.equal(await store.completeVerification(first.id, 'FAILED', 'wrong', T0 + 1000), true);
    const next = tokenVerification({ createdAt: T0 + 2000 });
    assert.deepEqual(await start(store, next), { requestId: next.id, created: true });
  });

  it('a repeat send is not deduplicated once the previous verification has expired', async () => {
    const first = tokenVerification({ expiresAt: T0 + 5000 });
    await start(store, first);
    const next = tokenVerification({ createdAt: T0 + 5000 });
    assert.deepEqual(await start(store, next), { requestId: next.id, created: true });
  });

  it('a new verification supersedes the pending one of the same subject only', async () => {
    const old = tokenVerification();
    const bystander = tokenVerification({ subject: 'bob' });
    await start(store, old);
    await start(store, bystander);
    const next = tokenVerification({ clientId: 'client-b', createdAt: T0 + 1000 });
    await start(store, next);
    const superseded = await store.findVerification(old.id);
    assert.equal(superseded?.status, 'FAILED');
    assert.equal(superseded?.error, ERROR_SUPERSEDED);
    assert.equal(superseded?.completedAt, T0 + 1000);
    assert.equal((await store.findVerification(next.id))?.status, 'PENDING');
    assert.equal((await store.findVerification(bystander.id))?.status, 'PENDING');
    assert.equal(await wrongGuess(store, old, 5, T0 + 2000), undefined, 'a superseded token takes no more guesses');
  });

  it('tokenState returns no lock and the current verification', async () => {
    assert.deepEqual(await store.tokenState('alice'), { lockedUntil: 0, current: undefined });
    const first = tokenVerification();
    await start(store, first);
    assert.deepEqual(await store.tokenState('alice'), { lockedUntil: 0, current: await store.findVerification(first.id) });
    const second = tokenVerification({ clientId: 'client-b', createdAt: T0 + 1000 });
    await start(store, second);
    const state = await store.tokenState('alice');
    assert.equal(state.current?.id, second.id);
    assert.deepEqual(await store.tokenState('bob'), { lockedUntil: 0, current: undefined });
    await store.lock('alice', 'token', T0 + 60_000);
    assert.equal((await store.tokenState('alice')).lockedUntil, T0 + 60_000);
    await store.lock('bob', 'kba', T0 + 60_000);
    assert.equal((await store.tokenState('bob')).lockedUntil, 0, 'only the token method lock counts');
  });

  it('tokenState read for many subjects at once (one statement on PostgreSQL): each answer is its own subject\'s', async () => {
    const subjects = range(1, 70).map((i) => `many-${i}`);
    const sent = new Map<string, string>();
    for (const [i, subject] of subjects.entries()) {
      if (i % 3 === 0) continue;
      const v = tokenVerification({ subject });
      await start(store, v);
      sent.set(subject, v.id);
    }
    for (const subject of subjects.filter((_, i) => i % 5 === 0)) await store.lock(subject, 'token', T0 + 60_000);
    // Every subject twice, and more of them than one statement carries.
    const states = await Promise.all([...subjects, ...subjects].map((subject) => store.tokenState(subject)));
    for (const [i, state] of states.entries()) {
      const subject = subjects[i % subjects.length]!;
      assert.equal(state.current?.id, sent.get(subject), `${subject}: current verification`);
      assert.equal(state.current?.subject ?? subject, subject);
      assert.equal(state.lockedUntil, (i % subjects.length) % 5 === 0 ? T0 + 60_000 : 0, `${subject}: lock`);
    }
  });

  it('findVerification read for many ids at once (one statement): each answer is its own verification, none for an unknown id', async () => {
    const started = range(1, 70).map((i) => tokenVerification({ subject: `poll-${i}` }));
    for (const v of started) await start(store, v);
    const ids = [...started.map((v) => v.id), 'no-such-id', ...started.map((v) => v.id)];
    const found = await Promise.all(ids.map((id) => store.findVerification(id)));
    for (const [i, v] of found.entries()) {
      if (ids[i] === 'no-such-id') assert.equal(v, undefined);
      else assert.deepEqual([v?.id, v?.subject, v?.status], [ids[i], started.find((s) => s.id === ids[i])!.subject, 'PENDING']);
    }
  });

  it('recordWrongGuess takes no try for the same guess twice in a row (a client retry)', async () => {
    const v = tokenVerification();
    await start(store, v);
    assert.equal(await wrongGuess(store, v, 5, T0 + 1000, 'guess-a'), 1);
    assert.equal(await wrongGuess(store, v, 5, T0 + 1000, 'guess-a'), undefined);
    assert.equal(await wrongGuess(store, v, 5, T0 + 1000, 'guess-b'), 2);
    assert.equal((await store.findVerification(v.id))?.attempts, 2);
    assert.equal((await store.recordFailure('alice', 'token', GENEROUS, T0 + 1000)).failures, 3, 'the repeat counted no failure either');
  });

  it('recordWrongGuess counts tries up to the maximum, then refuses, and counts a failure per try', async () => {
    const v = tokenVerification();
    await start(store, v);
    const taken = [];
    for (let i = 0; i < 4; i++) taken.push(await wrongGuess(store, v, 3, T0 + 1000));
    assert.deepEqual(taken, [1, 2, 3, undefined]);
    assert.equal((await store.findVerification(v.id))?.attempts, 3);
    assert.equal((await store.recordFailure('alice', 'token', GENEROUS, T0 + 1000)).failures, 4);
    assert.equal(await wrongGuess(store, { ...v, id: 'no-such-id' }, 3, T0 + 1000), undefined);
  });

  it('recordWrongGuess refuses an expired or completed verification', async () => {
    const v = tokenVerification();
    await start(store, v);
    assert.equal(await wrongGuess(store, v, 3, v.expiresAt), undefined);
    assert.equal((await store.findVerification(v.id))?.attempts, 0);
    const w = tokenVerification({ subject: 'bob' });
    await start(store, w);
    await store.completeVerification(w.id, 'SUCCESS', null, T0 + 1000);
    assert.equal(await wrongGuess(store, w, 3, T0 + 2000), undefined);
  });

  it('recordWrongGuess appends the row of a plain wrong answer with the guess, and not of one that locks or was not counted', async () => {
    const row = (v: NewTokenVerification, n: number): AuditEvent => ({
      id: `${String(T0 + n).padStart(15, '0')}000000${'0'.repeat(7)}${n}`,
      at: T0 + n,
      method: 'token',
      operation: 'authenticate',
      alias: v.subject,
      clientId: 'client-a',
      address: null,
      deliveryType: v.deliveryType,
      outcome: 'FAILED',
      reason: 'wrong token',
      requestId: v.id,
    });
    const guess = (v: NewTokenVerification, n: number, policy = GENEROUS, guessHash = `audited-${n}`) =>
      store.recordWrongGuess({ verificationId: v.id, subject: v.subject, method: 'token', guessHash, maxAttempts: 2, now: T0 + 1000 }, policy, row(v, n));
    const v = tokenVerification();
    await start(store, v);
    assert.equal((await guess(v, 1))?.audited, true);
    assert.equal(await guess(v, 2, GENEROUS, 'audited-1'), undefined, 'a repeat takes no try and writes nothing');
    assert.deepEqual(await guess(v, 3), { attemptsUsed: 2, failures: { failures: 2, lockedUntil: 0 }, audited: false }, 'the last try locks');
    assert.equal(await guess(v, 4), undefined);
    const w = tokenVerification({ subject: 'bob' });
    await start(store, w);
    const lockAtOne: FailurePolicy = { windowMs: 600_000, maxFailures: 1, lockoutMs: 900_000 };
    assert.deepEqual(await guess(w, 5, lockAtOne), { attemptsUsed: 1, failures: { failures: 1, lockedUntil: T0 + 1000 + 900_000 }, audited: false }, 'the identity locked');
    const u = tokenVerification({ subject: 'carol' });
    await start(store, u);
    const plain = await store.recordWrongGuess({ verificationId: u.id, subject: u.subject, method: 'token', guessHash: 'no-row', maxAttempts: 2, now: T0 + 1000 }, GENEROUS);
    assert.equal(plain?.audited, false, 'no row given, none written');
    assert.deepEqual(await store.queryAudit({ limit: 10 }), [row(v, 1)]);
  });

  it('concurrent wrong guesses with their rows: a row for each plain answer, exactly', async () => {
    const limit: FailurePolicy = { windowMs: 600_000, maxFailures: 3, lockoutMs: 900_000 };
    const now = T0 + 1000;
    const vs = range(1, 10).map((i) => tokenVerification({ subject: `rows-${i}` }));
    for (const v of vs) await start(store, v);
    const guesses = vs.flatMap((v, i) => range(1, 6).map((n) => ({ v, id: `${String(now).padStart(15, '0')}${String(i * 10 + n).padStart(6, '0')}0000000a` })));
    const rows = guesses.map(({ v, id }): AuditEvent => ({ id, at: now, method: 'token', operation: 'authenticate', alias: v.subject, clientId: 'client-a', address: null, deliveryType: v.deliveryType, outcome: 'FAILED', reason: 'wrong token', requestId: v.id }));
    const results = await Promise.all(
      guesses.map(({ v, id }, i) => store.recordWrongGuess({ verificationId: v.id, subject: v.subject, method: 'token', guessHash: id, maxAttempts: 4, now }, limit, rows[i])),
    );
    const expected = rows.filter((_, i) => {
      const r = results[i];
      return r !== undefined && r.attemptsUsed < 4 && r.failures.lockedUntil <= now;
    });
    assert.deepEqual(results.map((r) => r?.audited ?? false), rows.map((row) => expected.includes(row)));
    assert.equal(expected.length, 2 * vs.length, 'two plain answers per identity, locked from the third failure');
    assert.deepEqual(await store.queryAudit({ limit: 1000, order: 'oldest' }), [...expected].sort((a, b) => a.id.localeCompare(b.id)));
  });

  it('acceptCorrectGuess completes a pending verification once, and not one out of tries or expired', async () => {
    const v = tokenVerification();
    await start(store, v);
    const guess = { verificationId: v.id, subject: v.subject, method: 'token' as const, guessHash: v.secretHash, maxAttempts: 3, now: T0 + 1000 };
    assert.equal(await store.acceptCorrectGuess(guess), true);
    assert.equal(await store.acceptCorrectGuess(guess), false);
    assert.equal((await store.findVerification(v.id))?.status, 'SUCCESS');
    const spent = tokenVerification({ subject: 'bob' });
    await start(store, spent);
    for (let i = 0; i < 3; i++) await wrongGuess(store, spent, 3, T0 + 1000);
    assert.equal(await store.acceptCorrectGuess({ ...guess, verificationId: spent.id, subject: 'bob' }), false);
    const late = tokenVerification({ subject: 'carol' });
    await start(store, late);
    assert.equal(await store.acceptCorrectGuess({ ...guess, verificationId: late.id, subject: 'carol', now: late.expiresAt }), false);
  });

  it('completeVerification succeeds once, then never again', async () => {
    const v = tokenVerification();
    await start(store, v);
    assert.equal(await store.completeVerification(v.id, 'SUCCESS', null, T0 + 1000), true);
    assert.equal(await store.completeVerification(v.id, 'SUCCESS', null, T0 + 2000), false);
    assert.equal(await store.completeVerification(v.id, 'FAILED', 'late', T0 + 3000), false);
    const done = await store.findVerification(v.id);
    assert.deepEqual([done?.status, done?.error, done?.completedAt], ['SUCCESS', null, T0 + 1000]);

    const w = tokenVerification({ subject: 'bob' });
    await start(store, w);
    assert.equal(await store.completeVerification(w.id, 'LOCKOUT', 'locked', T0 + 1000), true);
    const locked = await store.findVerification(w.id);
    assert.deepEqual([locked?.status, locked?.error], ['LOCKOUT', 'locked']);
    assert.equal(await store.completeVerification('no-such-id', 'SUCCESS', null, T0), false);
  });

  // failures and lockouts

  const policy: FailurePolicy = { windowMs: 60_000, maxFailures: 3, lockoutMs: 300_000 };

  it('recordFailure counts within the window and locks at the limit', async () => {
    assert.deepEqual(await store.recordFailure('alice', 'token', policy, T0), { failures: 1, lockedUntil: 0 });
    assert.deepEqual(await store.recordFailure('alice', 'token', policy, T0 + 1000), { failures: 2, lockedUntil: 0 });
    assert.deepEqual(await store.recordFailure('alice', 'token', policy, T0 + 2000), { failures: 3, lockedUntil: T0 + 2000 + policy.lockoutMs });
    assert.equal((await store.tokenState('alice')).lockedUntil, T0 + 2000 + policy.lockoutMs);
    // Other subjects and methods keep their own counts.
    assert.deepEqual(await store.recordFailure('alice', 'kba', policy, T0 + 3000), { failures: 1, lockedUntil: 0 });
    assert.deepEqual(await store.recordFailure('bob', 'token', policy, T0 + 3000), { failures: 1, lockedUntil: 0 });
  });

  it('recordFailureWithDecision counts as recordFailure does and writes the rows decided on the count with it', async () => {
    const seen: number[] = [];
    const decided = (id: string, status: 'FAILED' | 'LOCKOUT', at: number): DecidedRows => ({
      verification: { id, method: 'totp', subject: 'erin', clientId: 'client-a', deliveryType: null, secretHash: null, status, error: status, attempts: 1, createdAt: at, expiresAt: at + TTL_MS, completedAt: at },
      audit: { id: `audit-${id}`, at, method: 'totp', operation: 'authenticate', alias: 'erin', clientId: 'client-a', address: null, deliveryType: null, outcome: status, reason: status, requestId: id },
    });
    const first = await store.recordFailureWithDecision('erin', 'totp', policy, T0, (count) => {
      seen.push(count.failures);
      return decided('erin-1', 'FAILED', T0);
    });
    assert.deepEqual(first, { failures: 1, lockedUntil: 0 });
    // Nothing decided: the count alone (a right answer goes on).
    assert.deepEqual(await store.recordFailureWithDecision('erin', 'totp', policy, T0 + 1000, (count) => void seen.push(count.failures)), { failures: 2, lockedUntil: 0 });
    const third = await store.recordFailureWithDecision('erin', 'totp', policy, T0 + 2000, (count) => {
      seen.push(count.failures);
      return decided('erin-3', 'LOCKOUT', T0 + 2000);
    });
    assert.deepEqual(third, { failures: 3, lockedUntil: T0 + 2000 + policy.lockoutMs });
    assert.deepEqual(seen, [1, 2, 3], 'each decision saw its own count');
    assert.deepEqual(await store.recordFailure('erin', 'totp', policy, T0 + 3000), { failures: 4, lockedUntil: T0 + 3000 + policy.lockoutMs }, 'the same count as recordFailure keeps');
    assert.deepEqual([(await store.findVerification('erin-1'))?.status, (await store.findVerification('erin-3'))?.status], ['FAILED', 'LOCKOUT']);
    const audit = await store.queryAudit({ alias: 'erin', limit: 10, order: 'oldest' });
    assert.deepEqual(audit.map((e) => [e.requestId, e.outcome]), [['erin-1', 'FAILED'], ['erin-3', 'LOCKOUT']]);
  });

  it('concurrent recordFailureWithDecision calls each see a count of their own, and every decided row is written', async () => {
    const seen: number[] = [];
    const ids = range(1, 20).map((i) => `gil-${i}`);
    const counts = await Promise.all(
      ids.map((id, i) =>
        store.recordFailureWithDecision('gil', 'totp', GENEROUS, T0 + i, (count) => {
          seen.push(count.failures);
          // Every other check decided on its count; the rest go on (as a right code does).
          if (i % 2 === 1) return undefined;
          return {
            verification: { id, method: 'totp', subject: 'gil', clientId: 'client-a', deliveryType: null, secretHash: null, status: 'FAILED', error: null, attempts: 1, createdAt: T0, expiresAt: T0 + TTL_MS, completedAt: T0 },
            audit: { id: `audit-${id}`, at: T0, method: 'totp', operation: 'authenticate', alias: 'gil', clientId: 'client-a', address: null, deliveryType: null, outcome: 'FAILED', reason: null, requestId: id },
          };
        }),
      ),
    );
    assert.deepEqual(ascending(counts.map((c) => c.failures)), range(1, 20));
    assert.deepEqual(ascending(seen), range(1, 20));
    const written = await Promise.all(ids.map((id) => store.findVerification(id)));
    assert.deepEqual(written.map((v) => v !== undefined), ids.map((_, i) => i % 2 === 0));
    assert.equal((await store.queryAudit({ alias: 'gil', limit: 100 })).length, 10);
  });

  it('recordFailureWithDecision fails when its rows cannot be written, and on SQLite the count goes with them', async () => {
    const row: DecidedRows = {
      verification: { id: 'taken-id', method: 'totp', subject: 'fay', clientId: 'client-a', deliveryType: null, secretHash: null, status: 'FAILED', error: null, attempts: 1, createdAt: T0, expiresAt: T0 + TTL_MS, completedAt: T0 },
      audit: undefined,
    };
    await store.recordFailureWithDecision('fay', 'totp', policy, T0, () => row);
    // The same verification id again: the insert fails, and so does the call.
    await assert.rejects(store.recordFailureWithDecision('fay', 'totp', policy, T0 + 1000, () => row));
    // SQLite: one transaction, so the second failure is not counted. PostgreSQL commits the count first
    // (as recordFailure does); the caller's request fails either way and answers nothing of the check.
    const expected = store.kind === 'sqlite' ? 2 : 3;
    assert.equal((await store.recordFailure('fay', 'totp', policy, T0 + 2000)).failures, expected);
  });

  it('lockoutsInForce counts the subjects locked now, per method: not ended, not expired, not mere failures', async () => {
    assert.deepEqual(await store.lockoutsInForce(T0), []);
    await store.lock('alice', 'token', T0 + 60_000);
    await store.lock('bob', 'token', T0 + 120_000);
    await store.lock('alice', 'kba', T0 + 60_000);
    await store.lock('carol', 'totp', T0 - 1); // already over
    await store.recordFailure('dave', 'token', policy, T0); // a failure, no lockout
    assert.deepEqual(await store.lockoutsInForce(T0), [
      { method: 'kba', count: 1 },
      { method: 'token', count: 2 },
    ]);
    await store.clearFailures('bob', 'token'); // an unlock
    assert.deepEqual(await store.lockoutsInForce(T0), [
      { method: 'kba', count: 1 },
      { method: 'token', count: 1 },
    ]);
    assert.deepEqual(await store.lockoutsInForce(T0 + 60_000), [], 'a lockout ends at its end');
  });

  it('recordFailure starts a new count once the window has passed, without lifting a lock', async () => {
    await store.recordFailure('alice', 'token', policy, T0);
    await store.recordFailure('alice', 'token', policy, T0 + 1000);
    assert.deepEqual(await store.recordFailure('alice', 'token', policy, T0 + policy.windowMs + 1), { failures: 1, lockedUntil: 0 });
    assert.deepEqual(await store.recordFailure('alice', 'token', policy, T0 + policy.windowMs + 2), { failures: 2, lockedUntil: 0 });

    const lockedAt = T0 + policy.windowMs + 3;
    assert.deepEqual(await store.recordFailure('alice', 'token', policy, lockedAt), { failures: 3, lockedUntil: lockedAt + policy.lockoutMs });
    const afterWindow = lockedAt + policy.windowMs + 1;
    assert.deepEqual(await store.recordFailure('alice', 'token', policy, afterWindow), { failures: 1, lockedUntil: lockedAt + policy.lockoutMs });
  });

  it('lock never shortens an existing lock', async () => {
    await store.lock('alice', 'token', T0 + 10_000);
    assert.equal((await store.tokenState('alice')).lockedUntil, T0 + 10_000);
    await store.lock('alice', 'token', T0 + 5_000);
    assert.equal((await store.tokenState('alice')).lockedUntil, T0 + 10_000);
    await store.lock('alice', 'token', T0 + 20_000);
    assert.equal((await store.tokenState('alice')).lockedUntil, T0 + 20_000);
  });

  it('lock keeps the failure count', async () => {
    await store.recordFailure('alice', 'token', policy, T0);
    await store.lock('alice', 'token', T0 + 10_000);
    assert.equal((await store.recordFailure('alice', 'token', policy, T0 + 1000)).failures, 2);
  });

  it('clearFailures resets the count and ends a lock (a success proves the secret), for that method only', async () => {
    await store.recordFailure('alice', 'token', policy, T0);
    await store.recordFailure('alice', 'token', policy, T0 + 1000);
    await store.clearFailures('alice', 'token');
    assert.deepEqual(await store.recordFailure('alice', 'token', policy, T0 + 2000), { failures: 1, lockedUntil: 0 });

    await store.lock('bob', 'token', T0 + 50_000);
    await store.lock('bob', 'kba', T0 + 50_000);
    await store.clearFailures('bob', 'token');
    await store.clearFailures('nobody', 'token');
    assert.equal((await store.tokenState('bob')).lockedUntil, 0);
    assert.equal(await store.lockedUntil('bob', 'kba'), T0 + 50_000);
  });

  // security questions and answers

  it('questions: put creates or replaces texts, list in creation order, remove takes the answers with it', async () => {
    await store.putQuestion({ id: 'pet', texts: { '': 'Pet?' }, createdAt: T0 });
    await store.putQuestion({ id: 'city', texts: { '': 'City?' }, createdAt: T0 + 1 });
    await store.putQuestion({ id: 'pet', texts: { '': 'Pet?', fr: 'Animal ?' }, createdAt: T0 + 5 });
    assert.deepEqual(await store.listQuestions(), [
      { id: 'pet', texts: { '': 'Pet?', fr: 'Animal ?' }, createdAt: T0 },
      { id: 'city', texts: { '': 'City?' }, createdAt: T0 + 1 },
    ]);
    await store.upsertIdentities([identity('alice'), identity('bob')], counter('id'), T0);
    const alice = (await store.findIdentity('alice'))!;
    const bob = (await store.findIdentity('bob'))!;
    await store.replaceAnswers(alice.id, [{ questionId: 'pet', answerHash: 'h1' }, { questionId: 'city', answerHash: 'h2' }], T0);
    await store.replaceAnswers(bob.id, [{ questionId: 'pet', answerHash: 'h3' }], T0);
    assert.deepEqual(Object.fromEntries(await store.answerCounts()), { pet: 2, city: 1 });
    assert.equal(await store.removeQuestion('pet'), true);
    assert.equal(await store.removeQuestion('pet'), false);
    assert.deepEqual(await store.listAnswers(alice.id), [{ questionId: 'city', answerHash: 'h2' }]);
    assert.deepEqual(await store.listAnswers(bob.id), []);
  });

  it('replaceAnswers refuses, changing nothing, when a question is gone (regression: a concurrent removal gave a 500)', async () => {
    await store.putQuestion({ id: 'kept', texts: { '': 'K?' }, createdAt: T0 });
    await store.upsertIdentities([identity('dave')], counter('id'), T0);
    const dave = (await store.findIdentity('dave'))!;
    assert.equal(await store.replaceAnswers(dave.id, [{ questionId: 'kept', answerHash: 'old' }], T0), true);
    assert.equal(await store.replaceAnswers(dave.id, [{ questionId: 'kept', answerHash: 'new' }, { questionId: 'removed', answerHash: 'x' }], T0 + 1), false);
    assert.deepEqual(await store.listAnswers(dave.id), [{ questionId: 'kept', answerHash: 'old' }]);
  });

  it('replaceAnswers replaces the whole set; deleting the identity removes its answers', async () => {
    await store.putQuestion({ id: 'a', texts: { '': 'A?' }, createdAt: T0 });
    await store.putQuestion({ id: 'b', texts: { '': 'B?' }, createdAt: T0 });
    await store.upsertIdentities([identity('carol')], counter('id'), T0);
    const carol = (await store.findIdentity('carol'))!;
    await store.replaceAnswers(carol.id, [{ questionId: 'a', answerHash: 'x' }], T0);
    await store.replaceAnswers(carol.id, [{ questionId: 'b', answerHash: 'y' }], T0 + 1);
    assert.deepEqual(await store.listAnswers(carol.id), [{ questionId: 'b', answerHash: 'y' }]);
    await store.deleteIdentity('carol');
    assert.deepEqual(Object.fromEntries(await store.answerCounts()), {});
  });

  // outside providers

  it('provider configs: put, find, replace, delete', async () => {
    const config = { method: 'duo-web', enabled: true, host: 'h', identityAttribute: 'email', properties: { ikey: 'I' }, sealedSecrets: 's1.x', updatedAt: T0 };
    assert.equal(await store.findProviderConfig('duo-web'), undefined);
    await store.putProviderConfig(config);
    assert.deepEqual(await store.findProviderConfig('duo-web'), config);
    await store.putProviderConfig({ ...config, enabled: false, updatedAt: T0 + 1 });
    assert.equal((await store.findProviderConfig('duo-web'))?.enabled, false);
    assert.equal(await store.deleteProviderConfig('duo-web'), true);
    assert.equal(await store.deleteProviderConfig('duo-web'), false);
  });

  it('provider verifications keep their state while pending, and only then', async () => {
    const v = {
      id: 'rsa-1', method: 'rsa' as const, subject: 'alice', clientId: 'c', deliveryType: null, secretHash: null,
      status: 'PENDING' as const, error: null, attempts: 0, createdAt: T0, expiresAt: T0 + TTL_MS, completedAt: null,
    };
    await store.startProviderVerification(v, '{"attempt":1}');
    assert.equal(await store.providerState('rsa-1'), '{"attempt":1}');
    assert.equal(await store.updateProviderState('rsa-1', '{"attempt":2}'), true);
    assert.equal(await store.providerState('rsa-1'), '{"attempt":2}');
    await store.completeVerification('rsa-1', 'SUCCESS', null, T0 + 1);
    assert.equal(await store.updateProviderState('rsa-1', '{"attempt":3}'), false);
    assert.equal(await store.providerState('no-such'), undefined);
  });

  it('recordVerification keeps a finished check for poll; lockedUntil reads one method', async () => {
    const v = {
      id: 'kba-1', method: 'kba' as const, subject: 'alice', clientId: 'c', deliveryType: null, secretHash: null,
      status: 'FAILED' as const, error: 'no', attempts: 1, createdAt: T0, expiresAt: T0 + 1000, completedAt: T0,
    };
    await store.recordVerification(v);
    assert.deepEqual(await store.findVerification('kba-1'), v);
    await store.lock('alice', 'kba', T0 + 500);
    assert.equal(await store.lockedUntil('alice', 'kba'), T0 + 500);
    assert.equal(await store.lockedUntil('alice', 'token'), 0);
  });

  // rate counters

  it('hitCounter counts per key and fixed window, with the window end as resetAt', async () => {
    const windowMs = 1000;
    assert.deepEqual(await store.hitCounter('ip:1', windowMs, T0), { count: 1, resetAt: T0 + 1000 });
    assert.deepEqual(await store.hitCounter('ip:1', windowMs, T0 + 500), { count: 2, resetAt: T0 + 1000 });
    assert.deepEqual(await store.hitCounter('ip:2', windowMs, T0 + 500), { count: 1, resetAt: T0 + 1500 });
    assert.deepEqual(await store.hitCounter('ip:1', windowMs, T0 + 999), { count: 3, resetAt: T0 + 1000 });
    assert.deepEqual(await store.hitCounter('ip:1', windowMs, T0 + 1000), { count: 1, resetAt: T0 + 2000 });
    assert.deepEqual(await store.hitCounter('ip:1', windowMs, T0 + 1200), { count: 2, resetAt: T0 + 2000 });
  });

  it('hitCounter gives concurrent hits on one key each its own count, and counts them all', async () => {
    // PostgreSQL adds hits that arrive together in one statement: each caller must still see a distinct count.
    const windowMs = 60_000;
    const counts = await Promise.all(Array.from({ length: 40 }, (_, i) => store.hitCounter('burst', windowMs, T0 + (i % 3))));
    assert.deepEqual(counts.map((c) => c.count).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1));
    assert.ok(counts.every((c) => c.resetAt === T0 + windowMs));
    assert.deepEqual(await store.peekCounter('burst', windowMs, T0 + 10), { count: 40, resetAt: T0 + windowMs });
    const fresh = await Promise.all([store.hitCounter('burst', windowMs, T0 + windowMs), store.hitCounter('burst', windowMs, T0 + windowMs)]);
    assert.deepEqual(fresh.map((c) => c.count).sort(), [1, 2]);
  });

  it('peekCounter reads a counter without counting, and 0 once its window is over', async () => {
    const windowMs = 1000;
    assert.deepEqual(await store.peekCounter('peek:1', windowMs, T0), { count: 0, resetAt: T0 + 1000 });
    await store.hitCounter('peek:1', windowMs, T0);
    await store.hitCounter('peek:1', windowMs, T0 + 100);
    assert.deepEqual(await store.peekCounter('peek:1', windowMs, T0 + 500), { count: 2, resetAt: T0 + 1000 });
    assert.deepEqual(await store.peekCounter('peek:1', windowMs, T0 + 500), { count: 2, resetAt: T0 + 1000 });
    assert.deepEqual(await store.peekCounter('peek:1', windowMs, T0 + 1000), { count: 0, resetAt: T0 + 2000 });
    assert.deepEqual(await store.hitCounter('peek:1', windowMs, T0 + 999), { count: 3, resetAt: T0 + 1000 });
  });

  // concurrency: the database, not the caller, decides who wins

  it('50 concurrent wrong guesses with 5 tries: exactly 5 are counted (brute force under concurrency)', async () => {
    const v = tokenVerification();
    await start(store, v);
    const results = await Promise.all(range(1, 50).map(() => wrongGuess(store, v, 5, T0 + 1000)));
    assert.deepEqual(ascending(results.filter((r): r is number => r !== undefined)), [1, 2, 3, 4, 5]);
    assert.equal((await store.findVerification(v.id))?.attempts, 5);
  });

  it('concurrent wrong guesses over 20 identities: each counts its tries and its own failures exactly', async () => {
    // PostgreSQL counts guesses that arrive together in one statement: no try or failure may be lost,
    // doubled or given to another identity.
    const limit: FailurePolicy = { windowMs: 600_000, maxFailures: 3, lockoutMs: 900_000 };
    const now = T0 + 1000;
    const vs = range(1, 20).map((i) => tokenVerification({ subject: `many-${i}` }));
    for (const v of vs) await start(store, v);
    const guesses = vs.flatMap((v) => range(1, 6).map((n) => ({ v, n })));
    const results = await Promise.all(
      guesses.map(({ v, n }) => store.recordWrongGuess({ verificationId: v.id, subject: v.subject, method: 'token', guessHash: `many-${n}`, maxAttempts: 4, now }, limit)),
    );
    for (const v of vs) {
      const mine = results.filter((_, i) => guesses[i]!.v === v).filter((r) => r !== undefined);
      assert.deepEqual(ascending(mine.map((r) => r.attemptsUsed)), [1, 2, 3, 4], v.subject);
      assert.deepEqual(ascending(mine.map((r) => r.failures.failures)), [1, 2, 3, 4], v.subject);
      for (const r of mine) assert.equal(r.failures.lockedUntil, r.failures.failures >= 3 ? now + limit.lockoutMs : 0, `${v.subject} after failure ${r.failures.failures}`);
      assert.equal((await store.findVerification(v.id))?.attempts, 4);
      assert.equal((await store.tokenState(v.subject)).lockedUntil, now + limit.lockoutMs);
    }
  });

  it('20 concurrent completeVerification: exactly one wins (replay of a correct token)', async () => {
    const v = tokenVerification();
    await start(store, v);
    const results = await Promise.all(range(1, 20).map((i) => store.completeVerification(v.id, 'SUCCESS', null, T0 + i)));
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal((await store.findVerification(v.id))?.status, 'SUCCESS');
  });

  it('40 concurrent recordFailure: no lost update, locked from the 10th', async () => {
    const limit: FailurePolicy = { windowMs: 600_000, maxFailures: 10, lockoutMs: 900_000 };
    const now = T0 + 1000;
    const results = await Promise.all(range(1, 40).map(() => store.recordFailure('alice', 'token', limit, now)));
    assert.deepEqual(ascending(results.map((r) => r.failures)), range(1, 40));
    for (const r of results) assert.equal(r.lockedUntil, r.failures >= 10 ? now + limit.lockoutMs : 0, `after failure ${r.failures}`);
    assert.equal((await store.tokenState('alice')).lockedUntil, now + limit.lockoutMs);
  });

  it('30 concurrent hitCounter: counts 1..30', async () => {
    const results = await Promise.all(range(1, 30).map(() => store.hitCounter('client:a', 60_000, T0)));
    assert.deepEqual(ascending(results.map((r) => r.count)), range(1, 30));
    for (const r of results) assert.equal(r.resetAt, T0 + 60_000);
  });

  it(
    '10 concurrent sends to one subject from one client: one token is created and all answer its id (regression: stale snapshot on PostgreSQL)',
    async () => {
      const now = T0 + 1000;
      const sends = range(1, 10).map(() => tokenVerification({ createdAt: now }));
      const results = await Promise.all(sends.map((v) => store.startTokenVerification(v, now - RESEND_MS)));
      const created = results.filter((r) => r.created);
      assert.equal(created.length, 1, `created ${created.length} tokens`);
      const winner = created[0]?.requestId;
      assert.deepEqual(new Set(results.map((r) => r.requestId)), new Set([winner]));
      const rows = await Promise.all(sends.map((v) => store.findVerification(v.id)));
      assert.deepEqual(
        rows.filter((r) => r !== undefined).map((r) => [r.id, r.status]),
        [[winner, 'PENDING']],
      );
      assert.equal((await store.tokenState('alice')).current?.id, winner);
    },
  );

  it(
    'a completion reported as won is not undone by a concurrent transaction rolling back (regression: replay on SQLite)',
    async () => {
      const v = tokenVerification();
      await start(store, v);
      // A transaction in flight, a completion queued behind it, then a transaction that fails and rolls back.
      const duplicateIds = ['same-id', 'same-id'];
      const [, completed, failing] = await Promise.allSettled([
        store.upsertIdentities([identity('first')], () => 'first-id', T0),
        store.completeVerification(v.id, 'SUCCESS', null, T0 + 1000),
        store.upsertIdentities([identity('second'), identity('third')], () => duplicateIds.shift() ?? 'unexpected', T0),
      ]);
      assert.equal(failing.status, 'rejected');
      assert.deepEqual(completed, { status: 'fulfilled', value: true });
      assert.equal((await store.findVerification(v.id))?.status, 'SUCCESS', 'the winning completion was rolled back');
      assert.equal(await store.completeVerification(v.id, 'SUCCESS', null, T0 + 2000), false, 'a second correct answer must not win too');
    },
  );

  if (target.name === 'sqlite') {
    // Two stores on one file stand for two processes: only SQLite's own locking can keep them consistent.
    const withSecondProcess = async (work: (other: Store) => Promise<void>): Promise<void> => {
      const other = openStore(opened.url);
      try {
        await other.migrate();
        await work(other);
      } finally {
        await other.close();
      }
    };

    it('two processes on one SQLite file: 50 interleaved wrong guesses take exactly 5 tries', async () => {
      const v = tokenVerification();
      await start(store, v);
      await withSecondProcess(async (other) => {
        const stores = [store, other];
        const results = await Promise.all(range(1, 50).map((i) => wrongGuess(stores[i % 2]!, v, 5, T0 + 1000)));
        assert.deepEqual(ascending(results.filter((r): r is number => r !== undefined)), [1, 2, 3, 4, 5]);
        assert.equal((await other.findVerification(v.id))?.attempts, 5);
      });
    });

    it('two processes on one SQLite file: 40 interleaved recordFailure lose no update', async () => {
      const limit: FailurePolicy = { windowMs: 600_000, maxFailures: 10, lockoutMs: 900_000 };
      const now = T0 + 1000;
      await withSecondProcess(async (other) => {
        const stores = [store, other];
        const results = await Promise.all(range(1, 40).map((i) => stores[i % 2]!.recordFailure('alice', 'token', limit, now)));
        assert.deepEqual(ascending(results.map((r) => r.failures)), range(1, 40));
        for (const r of results) assert.equal(r.lockedUntil, r.failures >= 10 ? now + limit.lockoutMs : 0, `after failure ${r.failures}`);
      });
    });
  }
});

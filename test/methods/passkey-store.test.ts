// Defends the passkey store on every database, above all under concurrency: a challenge answered twice
// (replay), a counter moved back by a racing use, an identity given more passkeys than allowed, a first
// passkey added beside one that landed meanwhile, and passkeys outliving their identity.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import type { Store } from '../../src/core/ports.js';
import { SqlPasskeyStore, type Ceremony, type StoredPasskey } from '../../src/methods/passkey/store.js';
import { driverOf } from '../../src/store/index.js';
import { describeEachStore, type OpenedStore } from '../helpers/stores.js';

const T0 = 1_700_000_000_000;
const TTL_MS = 300_000;
let sequence = 0;

function passkey(identityId: string, overrides: Partial<StoredPasskey> = {}): StoredPasskey {
  return {
    id: `cred-${++sequence}`,
    identityId,
    name: 'Laptop',
    publicKey: 'pQECAyYgASFYIA',
    signCount: 0,
    userHandle: 'handle-1',
    transports: ['internal', 'hybrid'],
    deviceType: 'multiDevice',
    backedUp: true,
    createdAt: T0,
    lastUsedAt: null,
    ...overrides,
  };
}

function ceremony(overrides: Partial<Ceremony> = {}): Ceremony {
  return {
    requestId: `req-${++sequence}`,
    kind: 'authentication',
    clientId: 'client-a',
    identityId: null,
    challenge: 'Y2hhbGxlbmdl',
    userHandle: null,
    urlHash: null,
    returnUrl: null,
    createdAt: T0,
    expiresAt: T0 + TTL_MS,
    usedAt: null,
    ...overrides,
  };
}

describeEachStore('Passkey store', (target) => {
  let opened: OpenedStore;
  let store: Store;
  let passkeys: SqlPasskeyStore;
  let alice: string;
  let bob: string;

  beforeEach(async () => {
    opened = await target.open();
    store = opened.store;
    passkeys = new SqlPasskeyStore(driverOf(store));
    let n = 0;
    await store.upsertIdentities(
      [
        { alias: 'alice', status: 'active', attributes: {} },
        { alias: 'bob', status: 'active', attributes: {} },
      ],
      () => `id-${++n}`,
      T0,
    );
    alice = (await store.findIdentity('alice'))!.id;
    bob = (await store.findIdentity('bob'))!.id;
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  it('keeps what a passkey is, lists an identity\'s in order, and finds one by credential id', async () => {
    const first = passkey(alice, { name: 'Laptop', createdAt: T0 });
    const second = passkey(alice, { name: 'Phone', createdAt: T0 + 1, transports: [], deviceType: 'singleDevice', backedUp: false, signCount: 7 });
    for (const p of [second, first]) assert.equal(await passkeys.addPasskey(p, { maxPerIdentity: 10, onlyIfNone: false }), 'added');
    assert.deepEqual(await passkeys.listPasskeys(alice), [first, second]);
    assert.deepEqual(await passkeys.findPasskey(second.id), second);
    assert.deepEqual(await passkeys.listPasskeys(bob), []);
    assert.equal(await passkeys.findPasskey('no-such-credential'), undefined);
  });

  it('refuses a credential id registered already, even to another identity', async () => {
    const p = passkey(alice);
    assert.equal(await passkeys.addPasskey(p, { maxPerIdentity: 10, onlyIfNone: false }), 'added');
    assert.equal(await passkeys.addPasskey({ ...p, identityId: bob, name: 'Stolen' }, { maxPerIdentity: 10, onlyIfNone: false }), 'duplicate');
    assert.deepEqual((await passkeys.findPasskey(p.id))?.identityId, alice);
  });

  it('never lets concurrent registrations exceed the most passkeys an identity may hold', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => passkeys.addPasskey(passkey(alice), { maxPerIdentity: 3, onlyIfNone: false })));
    assert.equal(results.filter((r) => r === 'added').length, 3);
    assert.equal(results.filter((r) => r === 'full').length, 9);
    assert.equal((await passkeys.listPasskeys(alice)).length, 3);
  });

  it('adds a first passkey only while it is the first: of concurrent first registrations one lands', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => passkeys.addPasskey(passkey(alice), { maxPerIdentity: 10, onlyIfNone: true })));
    assert.deepEqual(results.filter((r) => r === 'added').length, 1);
    assert.deepEqual(results.filter((r) => r === 'not-first').length, 5);
  });

  it('renames and removes only the identity\'s own passkey', async () => {
    const p = passkey(alice);
    await passkeys.addPasskey(p, { maxPerIdentity: 10, onlyIfNone: false });
    assert.equal(await passkeys.renamePasskey(bob, p.id, 'Mine now'), false);
    assert.equal(await passkeys.removePasskey(bob, p.id), false);
    assert.equal((await passkeys.findPasskey(p.id))?.name, 'Laptop');
    assert.equal(await passkeys.renamePasskey(alice, p.id, 'Old laptop'), true);
    assert.equal((await passkeys.findPasskey(p.id))?.name, 'Old laptop');
    assert.equal(await passkeys.removePasskey(alice, p.id), true);
    assert.equal(await passkeys.findPasskey(p.id), undefined);
    assert.equal(await passkeys.removePasskey(alice, p.id), false);
  });

  it('moves a counter only from the value it was judged against: of racing uses one wins', async () => {
    const p = passkey(alice, { signCount: 10 });
    await passkeys.addPasskey(p, { maxPerIdentity: 10, onlyIfNone: false });
    const wins = await Promise.all([11, 12, 13, 14].map((n) => passkeys.recordUse(p.id, 10, n, false, T0 + n)));
    assert.equal(wins.filter(Boolean).length, 1);
    const after = await passkeys.findPasskey(p.id);
    assert.ok(after && after.signCount > 10 && after.lastUsedAt === T0 + after.signCount, JSON.stringify(after));
    assert.equal(after.backedUp, false);
    assert.equal(await passkeys.recordUse(p.id, 10, 99, true, T0), false, 'a use judged against the old value loses');
    // Authenticators without a counter: 0 stays 0 and each use is stamped.
    const zero = passkey(alice);
    await passkeys.addPasskey(zero, { maxPerIdentity: 10, onlyIfNone: false });
    assert.equal(await passkeys.recordUse(zero.id, 0, 0, true, T0 + 5), true);
    assert.equal((await passkeys.findPasskey(zero.id))?.lastUsedAt, T0 + 5);
  });

  it('answers a ceremony once: of concurrent answers exactly one consumes it', async () => {
    const c = ceremony({ identityId: alice });
    await passkeys.startCeremony(c, T0);
    const match = { requestId: c.requestId, kind: 'authentication' as const, clientId: 'client-a', hosted: false };
    const answers = await Promise.all(Array.from({ length: 10 }, () => passkeys.consumeCeremony(match, T0 + 1)));
    const consumed = answers.filter((a) => a !== undefined);
    assert.equal(consumed.length, 1);
    assert.deepEqual(consumed[0], { ...c, usedAt: T0 + 1 });
    assert.equal(await passkeys.consumeCeremony(match, T0 + 2), undefined, 'a replay finds nothing');
  });

  it('consumes nothing that does not match in every part, nor once expired', async () => {
    const registration = ceremony({ kind: 'registration', identityId: alice, userHandle: 'handle-1' });
    const hosted = ceremony({ urlHash: 'url-hash-1', returnUrl: 'https://app.example.com/back' });
    const api = ceremony();
    for (const c of [registration, hosted, api]) await passkeys.startCeremony(c, T0);
    const at = T0 + 1;
    assert.equal(await passkeys.consumeCeremony({ requestId: registration.requestId, kind: 'registration', clientId: 'client-a', hosted: false, identityId: bob }, at), undefined, 'another identity');
    assert.equal(await passkeys.consumeCeremony({ requestId: registration.requestId, kind: 'authentication', clientId: 'client-a', hosted: false }, at), undefined, 'another kind');
    assert.equal(await passkeys.consumeCeremony({ requestId: api.requestId, kind: 'authentication', clientId: 'client-b', hosted: false }, at), undefined, 'another client');
    assert.equal(await passkeys.consumeCeremony({ requestId: api.requestId, kind: 'authentication', clientId: 'client-a', hosted: true }, at), undefined, 'an API ceremony through the page');
    assert.equal(await passkeys.consumeCeremony({ requestId: hosted.requestId, kind: 'authentication', clientId: 'client-a', hosted: false }, at), undefined, 'a hosted ceremony through the API');
    assert.equal(await passkeys.consumeCeremony({ requestId: api.requestId, kind: 'authentication', clientId: 'client-a', hosted: false }, api.expiresAt), undefined, 'expired');
    assert.ok(await passkeys.consumeCeremony({ requestId: registration.requestId, kind: 'registration', clientId: 'client-a', hosted: false, identityId: alice }, at));
    assert.deepEqual(await passkeys.findCeremonyByUrl('url-hash-1'), hosted);
    assert.ok(await passkeys.consumeCeremony({ requestId: hosted.requestId, kind: 'authentication', clientId: 'client-a', hosted: true }, at));
    assert.equal((await passkeys.findCeremonyByUrl('url-hash-1'))?.usedAt, at);
  });

  it('deletes expired ceremonies as new ones start, a batch at a time', async () => {
    const old = Array.from({ length: 60 }, () => ceremony({ expiresAt: T0 + 10 }));
    for (const c of old) await passkeys.startCeremony(c, T0);
    await passkeys.startCeremony(ceremony({ urlHash: 'fresh' }), T0 + 11);
    const db = driverOf(store);
    const left = Number((await db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM passkey_ceremonies'))?.n);
    assert.equal(left, 60 - 50 + 1);
    await passkeys.startCeremony(ceremony(), T0 + 11);
    assert.equal(Number((await db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM passkey_ceremonies'))?.n), 2);
  });

  it('removes an identity\'s passkeys and ceremonies with the identity', async () => {
    const p = passkey(alice);
    await passkeys.addPasskey(p, { maxPerIdentity: 10, onlyIfNone: false });
    await passkeys.startCeremony(ceremony({ kind: 'registration', identityId: alice, urlHash: null }), T0);
    await passkeys.addPasskey(passkey(bob), { maxPerIdentity: 10, onlyIfNone: false });
    assert.equal(await store.deleteIdentity('alice'), true);
    assert.equal(await passkeys.findPasskey(p.id), undefined);
    const db = driverOf(store);
    assert.equal(Number((await db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM passkey_ceremonies WHERE identity_id = ?', [alice]))?.n), 0);
    assert.equal((await passkeys.listPasskeys(bob)).length, 1);
  });
});

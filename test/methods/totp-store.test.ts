// Defends the authenticator registration table on both databases: a time step accepted at most once
// (replay) and a pending registration activated at most once, also by concurrent callers and by two
// connections (two processes' stores) at once; an enrolment checked against one active registration never
// activates over another (the factor-change rule under a race); a deleted identity loses its registration.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import type { Store } from '../../src/core/ports.js';
import { SqlTotpStore, type TotpStore } from '../../src/methods/totp/store.js';
import { driverOf, openStore } from '../../src/store/index.js';
import { describeEachStore, type OpenedStore } from '../helpers/stores.js';

const T0 = 1_700_000_000_000;
const TTL_MS = 600_000;
let sequence = 0;
const id = (prefix: string) => `${prefix}-${++sequence}`;

describeEachStore('TOTP registrations', (target) => {
  let opened: OpenedStore;
  let store: Store;
  let totp: TotpStore;

  beforeEach(async () => {
    opened = await target.open();
    store = opened.store;
    totp = new SqlTotpStore(driverOf(store));
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  async function person(alias: string, status: 'active' | 'disabled' = 'active'): Promise<string> {
    await store.upsertIdentities([{ alias, status, attributes: {} }], () => id('identity'), T0);
    return (await store.findIdentity(alias))!.id;
  }

  /** A registration confirmed at step 100 (pending `first`, then active). */
  async function registered(alias: string): Promise<{ identityId: string; activeId: string }> {
    const identityId = await person(alias);
    const activeId = id('enrol');
    await totp.putPending(identityId, { id: activeId, sealedSecret: 'sealed-1', replaces: null, expiresAt: T0 + TTL_MS }, T0);
    assert.equal(await totp.activate(identityId, activeId, 100, T0 + 1), true);
    return { identityId, activeId };
  }

  it('finds nothing for an unknown or a disabled alias, and an empty registration for an identity without one', async () => {
    assert.equal(await totp.find('nobody'), undefined);
    await person('dora', 'disabled');
    assert.equal(await totp.find('dora'), undefined);
    const identityId = await person('erin');
    assert.deepEqual(await totp.find('erin'), { identityId, active: null, pending: null });
  });

  it("a check's read: the registration as find reads it, and the alias's TOTP lockout, known alias or not", async () => {
    const policy = { windowMs: 60_000, maxFailures: 1, lockoutMs: 60_000 };
    const { identityId, activeId } = await registered('gina');
    assert.deepEqual(await totp.findForCheck('gina'), { found: await totp.find('gina'), lockedUntil: 0 });
    assert.equal((await totp.findForCheck('gina')).found?.active?.id, activeId);
    // A lockout of another method is not this one's.
    await store.recordFailure('gina', 'kba', policy, T0);
    assert.equal((await totp.findForCheck('gina')).lockedUntil, 0);
    await store.recordFailure('gina', 'totp', policy, T0);
    const locked = await store.lockedUntil('gina', 'totp');
    assert.ok(locked > T0);
    assert.deepEqual(await totp.findForCheck('gina'), { found: { identityId, active: (await totp.find('gina'))!.active, pending: null }, lockedUntil: locked });
    // Lockouts are kept by alias: an unknown or disabled alias reads its own, as Store.lockedUntil does.
    await person('hana', 'disabled');
    for (const alias of ['nobody-here', 'hana']) {
      assert.deepEqual(await totp.findForCheck(alias), { found: undefined, lockedUntil: 0 });
      await store.recordFailure(alias, 'totp', policy, T0);
      assert.deepEqual(await totp.findForCheck(alias), { found: undefined, lockedUntil: await store.lockedUntil(alias, 'totp') });
      assert.ok((await totp.findForCheck(alias)).lockedUntil > T0);
    }
    assert.deepEqual(await totp.findForCheck('erin-unknown'), { found: undefined, lockedUntil: 0 });
    // Asked together (one statement), each alias gets its own answer, as when asked alone.
    const aliases = ['gina', 'nobody-here', 'hana', 'erin-unknown', 'gina'];
    const alone: unknown[] = [];
    for (const alias of aliases) alone.push(await totp.findForCheck(alias));
    assert.deepEqual(await Promise.all(aliases.map((alias) => totp.findForCheck(alias))), alone);
  });

  it('a pending registration becomes active with its confirming step; the pending part is then gone', async () => {
    const identityId = await person('alice');
    await totp.putPending(identityId, { id: 'enrol-a', sealedSecret: 'sealed-a', replaces: null, expiresAt: T0 + TTL_MS }, T0);
    assert.deepEqual((await totp.find('alice'))?.pending, { id: 'enrol-a', sealedSecret: 'sealed-a', replaces: null, expiresAt: T0 + TTL_MS });
    assert.equal(await totp.activate(identityId, 'enrol-other', 7, T0 + 5), false, 'another enrolment');
    assert.equal(await totp.activate(identityId, 'enrol-a', 7, T0 + 5), true);
    assert.deepEqual(await totp.find('alice'), { identityId, active: { id: 'enrol-a', sealedSecret: 'sealed-a', confirmedAt: T0 + 5, lastStep: 7 }, pending: null });
    assert.equal(await totp.activate(identityId, 'enrol-a', 8, T0 + 6), false, 'already active');
  });

  it('an expired pending registration is not activated', async () => {
    const identityId = await person('bob');
    await totp.putPending(identityId, { id: 'enrol-b', sealedSecret: 's', replaces: null, expiresAt: T0 + TTL_MS }, T0);
    assert.equal(await totp.activate(identityId, 'enrol-b', 1, T0 + TTL_MS), false);
    assert.equal((await totp.find('bob'))?.active, null);
  });

  it('a pending registration leaves the active one in place until it is confirmed', async () => {
    const { identityId, activeId } = await registered('carol');
    await totp.putPending(identityId, { id: 'enrol-c2', sealedSecret: 'sealed-2', replaces: activeId, expiresAt: T0 + TTL_MS }, T0 + 2);
    const before = await totp.find('carol');
    assert.equal(before?.active?.id, activeId);
    assert.equal(before?.pending?.id, 'enrol-c2');
    assert.equal(await totp.activate(identityId, 'enrol-c2', 200, T0 + 3), true);
    assert.deepEqual((await totp.find('carol'))?.active, { id: 'enrol-c2', sealedSecret: 'sealed-2', confirmedAt: T0 + 3, lastStep: 200 });
  });

  it('an enrolment checked as a first one does not activate over a registration confirmed meanwhile, nor one checked against a replaced registration', async () => {
    const identityId = await person('dave');
    // Two first enrolments race; the first is confirmed, then the second, written meanwhile as a first one, is refused.
    await totp.putPending(identityId, { id: 'enrol-1', sealedSecret: 's1', replaces: null, expiresAt: T0 + TTL_MS }, T0);
    assert.equal(await totp.activate(identityId, 'enrol-1', 10, T0 + 1), true);
    await totp.putPending(identityId, { id: 'enrol-2', sealedSecret: 's2', replaces: null, expiresAt: T0 + TTL_MS }, T0 + 2);
    assert.equal(await totp.activate(identityId, 'enrol-2', 11, T0 + 3), false);
    // Checked against enrol-1, but enrol-3 replaced enrol-1 before the confirmation.
    await totp.putPending(identityId, { id: 'enrol-3', sealedSecret: 's3', replaces: 'enrol-1', expiresAt: T0 + TTL_MS }, T0 + 4);
    assert.equal(await totp.activate(identityId, 'enrol-3', 12, T0 + 5), true);
    await totp.putPending(identityId, { id: 'enrol-4', sealedSecret: 's4', replaces: 'enrol-1', expiresAt: T0 + TTL_MS }, T0 + 6);
    assert.equal(await totp.activate(identityId, 'enrol-4', 13, T0 + 7), false);
    assert.equal((await totp.find('dave'))?.active?.id, 'enrol-3');
  });

  it('accepts only steps after the last accepted one, for the active registration only', async () => {
    const { identityId, activeId } = await registered('frank');
    assert.equal(await totp.acceptStep(identityId, activeId, 100, T0 + 10), false, 'the confirming step');
    assert.equal(await totp.acceptStep(identityId, activeId, 99, T0 + 10), false);
    assert.equal(await totp.acceptStep(identityId, 'an-old-registration', 101, T0 + 10), false);
    assert.equal(await totp.acceptStep(identityId, activeId, 101, T0 + 10), true);
    assert.equal(await totp.acceptStep(identityId, activeId, 101, T0 + 11), false);
    assert.equal((await totp.find('frank'))?.active?.lastStep, 101);
  });

  it('of 20 concurrent acceptances of one step, exactly one succeeds', async () => {
    const { identityId, activeId } = await registered('gina');
    const results = await Promise.all(Array.from({ length: 20 }, () => totp.acceptStep(identityId, activeId, 101, T0 + 10)));
    assert.equal(results.filter(Boolean).length, 1);
  });

  it('of 20 concurrent acceptances of one step through two connections (two processes), exactly one succeeds', async () => {
    const { identityId, activeId } = await registered('hugo');
    const second = openStore(opened.url, opened.schema ? { schema: opened.schema } : {});
    try {
      const other = new SqlTotpStore(driverOf(second));
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : totp).acceptStep(identityId, activeId, 101, T0 + 10)));
      assert.equal(results.filter(Boolean).length, 1);
    } finally {
      await second.close();
    }
  });

  it('of 20 concurrent confirmations of one pending registration, exactly one activates it', async () => {
    const identityId = await person('iris');
    await totp.putPending(identityId, { id: 'enrol-i', sealedSecret: 's', replaces: null, expiresAt: T0 + TTL_MS }, T0);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => totp.activate(identityId, 'enrol-i', 50 + (i % 3), T0 + 1)));
    assert.equal(results.filter(Boolean).length, 1);
  });

  it('remove deletes the active and the pending registration of the alias, whatever the identity status; deleting the identity does too', async () => {
    const { identityId } = await registered('jane');
    await totp.putPending(identityId, { id: 'enrol-j2', sealedSecret: 's', replaces: null, expiresAt: T0 + TTL_MS }, T0);
    await store.upsertIdentities([{ alias: 'jane', status: 'disabled', attributes: {} }], () => id('identity'), T0);
    assert.equal(await totp.remove('jane'), true);
    assert.equal(await totp.remove('jane'), false);
    assert.equal(await totp.remove('nobody'), false);
    await store.upsertIdentities([{ alias: 'jane', status: 'active', attributes: {} }], () => id('identity'), T0);
    assert.deepEqual(await totp.find('jane'), { identityId, active: null, pending: null });

    await registered('kate');
    assert.equal(await store.deleteIdentity('kate'), true);
    const rows = await driverOf(store).all<{ identity_id: string }>('SELECT identity_id FROM totp_registrations');
    assert.deepEqual(rows.map((r) => r.identity_id), []);
  });
});

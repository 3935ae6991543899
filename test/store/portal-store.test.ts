// The portal's storage contract on SQLite and PostgreSQL: an invitation is used once however many
// redeem it at the same moment, a newer one withdraws the older, sessions end by idle and absolute time
// in the statement that touches them, and both go with their identity.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { liveCutoffs } from '../../src/core/portal-session.js';
import type { PortalStore } from '../../src/core/portal-store.js';
import type { Store } from '../../src/core/ports.js';
import { portalStoreOf } from '../../src/store/index.js';
import { describeEachStore, type OpenedStore } from '../helpers/stores.js';

const TIMEOUTS = { idleSeconds: 60, maxSeconds: 600 };
const T0 = 1_800_000_000_000;

describeEachStore('portal store', (target) => {
  let opened: OpenedStore;
  let store: Store;
  let portal: PortalStore;
  let n = 0;

  before(async () => {
    opened = await target.open();
    store = opened.store;
    portal = portalStoreOf(store);
  });
  after(() => opened.cleanup());

  async function identity(): Promise<{ id: string; alias: string }> {
    const alias = `person.${++n}`;
    await store.upsertIdentities([{ alias, status: 'active', attributes: { email: `${alias}@example.com` } }], () => `id-${alias}`, T0);
    return { id: `id-${alias}`, alias };
  }

  it('redeems an invitation once, even when twenty redemptions race', async () => {
    const { id } = await identity();
    await portal.addInvitation({ tokenHash: `h-race-${n}`, identityId: id, createdAt: T0, expiresAt: T0 + 1000 });
    const results = await Promise.all(Array.from({ length: 20 }, () => portal.redeemInvitation(`h-race-${n}`, T0 + 1)));
    assert.deepEqual(
      results.filter((r) => r !== undefined),
      [id],
    );
    assert.equal(await portal.redeemInvitation(`h-race-${n}`, T0 + 2), undefined, 'and never again');
  });

  it('refuses an invitation at its expiry and after', async () => {
    const { id } = await identity();
    await portal.addInvitation({ tokenHash: `h-exp-${n}`, identityId: id, createdAt: T0, expiresAt: T0 + 1000 });
    assert.equal(await portal.redeemInvitation(`h-exp-${n}`, T0 + 1000), undefined);
    assert.equal(await portal.redeemInvitation('no-such-hash', T0), undefined);
  });

  it('withdraws the earlier invitation when a newer one is sent, and only that identity\'s', async () => {
    const first = await identity();
    const other = await identity();
    await portal.addInvitation({ tokenHash: 'old', identityId: first.id, createdAt: T0, expiresAt: T0 + 1000 });
    await portal.addInvitation({ tokenHash: 'other', identityId: other.id, createdAt: T0, expiresAt: T0 + 1000 });
    await portal.addInvitation({ tokenHash: 'new', identityId: first.id, createdAt: T0 + 1, expiresAt: T0 + 1001 });
    assert.equal(await portal.redeemInvitation('old', T0 + 2), undefined);
    assert.equal(await portal.redeemInvitation('new', T0 + 2), first.id);
    assert.equal(await portal.redeemInvitation('other', T0 + 2), other.id);
  });

  it('keeps a session alive while used within the idle timeout, up to the absolute one', async () => {
    const { id } = await identity();
    await portal.addSession({ idHash: 's-live', identityId: id, createdAt: T0, lastSeenAt: T0, verifiedAt: T0 });
    // Used every 50 s (idle timeout 60 s): alive until 600 s after it started.
    let now = T0;
    for (let step = 1; step <= 11; step++) {
      now = T0 + step * 50_000;
      const touched = await portal.touchSession('s-live', now, liveCutoffs(now, TIMEOUTS));
      assert.ok(touched, `alive at ${step * 50} s`);
      assert.equal(touched.lastSeenAt, now);
      assert.equal(touched.identityId, id);
    }
    now = T0 + 600_000;
    assert.equal(await portal.touchSession('s-live', now, liveCutoffs(now, TIMEOUTS)), undefined, 'ended at the absolute timeout');
  });

  it('ends a session left unused for the idle timeout, and never revives it', async () => {
    const { id } = await identity();
    await portal.addSession({ idHash: 's-idle', identityId: id, createdAt: T0, lastSeenAt: T0, verifiedAt: 0 });
    assert.equal(await portal.touchSession('s-idle', T0 + 60_000, liveCutoffs(T0 + 60_000, TIMEOUTS)), undefined);
    const earlier = await portal.touchSession('s-idle', T0 + 59_999, liveCutoffs(T0 + 59_999, TIMEOUTS));
    assert.ok(earlier, 'a touch within the idle time still finds it (it is not deleted by a refused touch)');
  });

  it('never moves the last use back when a clock runs behind', async () => {
    const { id } = await identity();
    await portal.addSession({ idHash: 's-clock', identityId: id, createdAt: T0, lastSeenAt: T0 + 5000, verifiedAt: 0 });
    const touched = await portal.touchSession('s-clock', T0 + 1000, liveCutoffs(T0 + 1000, TIMEOUTS));
    assert.equal(touched?.lastSeenAt, T0 + 5000);
  });

  it('records a verification in the session, never an older one over a newer', async () => {
    const { id } = await identity();
    await portal.addSession({ idHash: 's-ver', identityId: id, createdAt: T0, lastSeenAt: T0, verifiedAt: 0 });
    assert.equal(await portal.markSessionVerified('s-ver', T0 + 100), true);
    assert.equal(await portal.markSessionVerified('s-ver', T0 + 50), true);
    assert.equal((await portal.touchSession('s-ver', T0 + 200, liveCutoffs(T0 + 200, TIMEOUTS)))?.verifiedAt, T0 + 100);
    assert.equal(await portal.markSessionVerified('s-gone', T0), false);
  });

  it('deletes a session on sign-out', async () => {
    const { id } = await identity();
    await portal.addSession({ idHash: 's-out', identityId: id, createdAt: T0, lastSeenAt: T0, verifiedAt: 0 });
    await portal.deleteSession('s-out');
    assert.equal(await portal.touchSession('s-out', T0 + 1, liveCutoffs(T0 + 1, TIMEOUTS)), undefined);
  });

  it('loses the sessions and invitations of a deleted identity', async () => {
    const { id, alias } = await identity();
    await portal.addSession({ idHash: 's-del', identityId: id, createdAt: T0, lastSeenAt: T0, verifiedAt: 0 });
    await portal.addInvitation({ tokenHash: 'h-del', identityId: id, createdAt: T0, expiresAt: T0 + 1000 });
    assert.equal(await store.deleteIdentity(alias), true);
    assert.equal(await portal.touchSession('s-del', T0 + 1, liveCutoffs(T0 + 1, TIMEOUTS)), undefined);
    assert.equal(await portal.redeemInvitation('h-del', T0 + 1), undefined);
  });

  it('prunes ended sessions and expired invitations, at most `limit` of each per call, and nothing alive', async () => {
    // A database of its own, so that the counts are this test's rows only.
    const own = await target.open();
    const { store, portal } = { store: own.store, portal: portalStoreOf(own.store) };
    const identity = async (): Promise<{ id: string }> => {
      const alias = `pruned.${++n}`;
      await store.upsertIdentities([{ alias, status: 'active', attributes: {} }], () => `id-${alias}`, T0);
      return { id: `id-${alias}` };
    };
    try {
      const { id } = await identity();
      const now = T0 + 10_000_000;
      for (let i = 0; i < 3; i++) {
        await portal.addSession({ idHash: `p-idle-${i}`, identityId: id, createdAt: now - 100_000, lastSeenAt: now - 60_000, verifiedAt: 0 });
        // One identity each: a newer invitation withdraws the identity's earlier ones.
        await portal.addInvitation({ tokenHash: `p-inv-${i}`, identityId: (await identity()).id, createdAt: now - 2000, expiresAt: now - 1000 });
      }
      await portal.addSession({ idHash: 'p-old', identityId: id, createdAt: now - 600_000, lastSeenAt: now - 1, verifiedAt: 0 });
      await portal.addSession({ idHash: 'p-alive', identityId: id, createdAt: now - 1000, lastSeenAt: now - 1000, verifiedAt: 0 });
      await portal.addInvitation({ tokenHash: 'p-valid', identityId: id, createdAt: now, expiresAt: now + 1000 });
      const counts: number[] = [];
      for (let round = 0; round < 10; round++) {
        const count = await portal.pruneExpired(now, liveCutoffs(now, TIMEOUTS), 2);
        counts.push(count);
        if (count === 0) break;
      }
      assert.deepEqual(counts, [4, 3, 0], 'two sessions and two invitations a call: 4 ended sessions and 3 expired invitations');
      assert.ok(await portal.touchSession('p-alive', now, liveCutoffs(now, TIMEOUTS)), 'the live session stays');
      assert.equal(await portal.redeemInvitation('p-valid', now), id, 'the valid invitation stays');
    } finally {
      await own.cleanup();
    }
  });
});

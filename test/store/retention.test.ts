// Defends retention on every database: pruning deletes only what no answer depends on any more (a pending
// token, a running lockout, a live rate window, a recent audit event are kept, so pruning can never lift a
// limit or lose a decision), works through more rows than one batch, and on PostgreSQL runs in one process
// at a time.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import type { AuditEvent } from '../../src/core/audit.js';
import type { Verification } from '../../src/core/model.js';
import type { FailurePolicy, PruneResult, RetentionPolicy, Store } from '../../src/core/ports.js';
import { COUNTER_RETENTION_MS, Pruner, retentionPolicy } from '../../src/services/retention.js';
import { describeEachStore, storeTargets, type OpenedStore } from '../helpers/stores.js';

const T0 = 1_700_000_000_000;
const DAY_MS = 86_400_000;
const NOW = T0 + 30 * DAY_MS;
const CUTOFF = NOW - 7 * DAY_MS;

function policy(overrides: Partial<RetentionPolicy> = {}): RetentionPolicy {
  return {
    verificationsExpiredBefore: CUTOFF,
    lockoutWindowsStartedBefore: NOW - DAY_MS,
    countersStartedBefore: NOW - 2 * DAY_MS,
    auditEventsBefore: null,
    now: NOW,
    batchSize: 1000,
    ...overrides,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** prune, waiting out a prune of another test's process that holds the PostgreSQL lock for a moment. */
async function pruneNow(store: Store, p: RetentionPolicy): Promise<PruneResult> {
  for (let i = 0; i < 100; i++) {
    const result = await store.prune(p);
    if (result) return result;
    await sleep(20);
  }
  throw new Error('prune never got its lock');
}

let sequence = 0;

function finished(overrides: Partial<Verification> = {}): Verification {
  return {
    id: `v-${++sequence}`,
    method: 'kba',
    subject: 'alice',
    clientId: 'client-a',
    deliveryType: null,
    secretHash: null,
    status: 'SUCCESS',
    error: null,
    attempts: 1,
    createdAt: T0,
    expiresAt: T0 + 300_000,
    completedAt: T0,
    ...overrides,
  };
}

function auditEvent(at: number): AuditEvent {
  return {
    id: `a-${String(at).padStart(15, '0')}-${++sequence}`,
    at,
    method: 'token',
    operation: 'send',
    alias: 'alice',
    clientId: 'client-a',
    address: null,
    deliveryType: 'EMAIL_WORK',
    outcome: 'SENT',
    reason: null,
    requestId: null,
  };
}

const GENEROUS: FailurePolicy = { windowMs: 900_000, maxFailures: 1_000_000, lockoutMs: 900_000 };

describeEachStore('Retention', (target) => {
  let opened: OpenedStore;
  let store: Store;

  beforeEach(async () => {
    opened = await target.open();
    store = opened.store;
  });

  afterEach(async () => {
    await opened.cleanup();
  });

  it('deletes verifications expired before the cutoff with their provider state, and keeps the rest', async () => {
    const old = finished({ expiresAt: CUTOFF - 1 });
    const oldProvider = finished({ method: 'okta-verify', status: 'PENDING', completedAt: null, expiresAt: CUTOFF - 1000 });
    const recent = finished({ expiresAt: CUTOFF + 1 });
    const pending = finished({ method: 'rsa', status: 'PENDING', completedAt: null, expiresAt: NOW + 60_000 });
    await store.recordVerification(old);
    await store.recordVerification(recent);
    await store.startProviderVerification(oldProvider, '{"transaction":"old"}');
    await store.startProviderVerification(pending, '{"transaction":"live"}');

    const result = await pruneNow(store, policy());
    assert.equal(result.verifications, 2);
    assert.equal(await store.findVerification(old.id), undefined);
    assert.equal(await store.findVerification(oldProvider.id), undefined);
    assert.equal(await store.providerState(oldProvider.id), undefined);
    assert.equal((await store.findVerification(recent.id))?.status, 'SUCCESS');
    assert.equal(await store.providerState(pending.id), '{"transaction":"live"}');
  });

  it('forgets a subject whose token verification is gone, keeps one whose token is current', async () => {
    const sentLongAgo = T0;
    const gone = { id: `tok-${++sequence}`, subject: 'gone', clientId: 'c', deliveryType: 'EMAIL_WORK' as const, secretHash: 'h', createdAt: sentLongAgo, expiresAt: sentLongAgo + 300_000 };
    const current = { id: `tok-${++sequence}`, subject: 'current', clientId: 'c', deliveryType: 'EMAIL_WORK' as const, secretHash: 'h', createdAt: NOW - 1000, expiresAt: NOW + 300_000 };
    await store.startTokenVerification(gone, 0);
    await store.startTokenVerification(current, 0);

    const result = await pruneNow(store, policy());
    assert.deepEqual([result.verifications, result.tokenSubjects], [1, 1]);
    assert.equal((await store.tokenState('gone')).current, undefined);
    assert.equal((await store.tokenState('current')).current?.id, current.id);
    // The subject can be sent a token again as if it were new.
    const again = await store.startTokenVerification({ ...gone, id: `tok-${++sequence}`, createdAt: NOW, expiresAt: NOW + 300_000 }, NOW - 30_000);
    assert.equal(again.created, true);
  });

  it('deletes lockout rows only when their window has passed and their lock has ended', async () => {
    const longAgo = NOW - 2 * DAY_MS;
    await store.recordFailure('window-passed', 'token', GENEROUS, longAgo);
    await store.lock('lock-ended', 'kba', NOW - 1);
    await store.lock('still-locked', 'token', NOW + 60_000);
    await store.recordFailure('in-window', 'token', GENEROUS, NOW - 60_000);

    const result = await pruneNow(store, policy());
    assert.equal(result.lockouts, 2);
    assert.equal(await store.lockedUntil('still-locked', 'token'), NOW + 60_000);
    // The failure inside the window is still counted: the next one is the second.
    assert.equal((await store.recordFailure('in-window', 'token', GENEROUS, NOW)).failures, 2);
    assert.equal((await store.recordFailure('window-passed', 'token', GENEROUS, NOW)).failures, 1);
  });

  it('deletes rate counters whose window began before the cutoff', async () => {
    await store.hitCounter('old', 60_000, NOW - 3 * DAY_MS);
    await store.hitCounter('live', 60_000, NOW - 1000);
    await store.hitCounter('live', 60_000, NOW - 500);

    const result = await pruneNow(store, policy());
    assert.equal(result.counters, 1);
    assert.equal((await store.hitCounter('live', 60_000, NOW)).count, 3);
  });

  it('deletes audit events older than the audit cutoff, and none without one', async () => {
    await store.appendAudit(auditEvent(CUTOFF - 1));
    await store.appendAudit(auditEvent(CUTOFF + 1));
    assert.equal((await pruneNow(store, policy())).auditEvents, 0);
    assert.equal((await pruneNow(store, policy({ auditEventsBefore: CUTOFF }))).auditEvents, 1);
    const left = await store.queryAudit({ limit: 10 });
    assert.deepEqual(left.map((e) => e.at), [CUTOFF + 1]);
  });

  it('works through many more rows than one batch', async () => {
    for (let i = 0; i < 25; i++) await store.recordVerification(finished({ expiresAt: CUTOFF - 1 - i }));
    await store.recordVerification(finished({ expiresAt: CUTOFF + 1 }));
    const result = await pruneNow(store, policy({ batchSize: 4 }));
    assert.equal(result.verifications, 25);
    assert.equal((await pruneNow(store, policy({ batchSize: 4 }))).verifications, 0);
  });

  if (target.name === 'postgres') {
    it('does nothing, without waiting, while another process holds the prune lock', async () => {
      await store.recordVerification(finished({ expiresAt: CUTOFF - 1 }));
      const other = new pg.Client({ connectionString: opened.url });
      await other.connect();
      try {
        await other.query('SELECT pg_advisory_lock(7263542)');
        assert.equal(await store.prune(policy()), undefined);
        await other.query('SELECT pg_advisory_unlock(7263542)');
      } finally {
        await other.end();
      }
      assert.equal((await pruneNow(store, policy())).verifications, 1);
    });
  }
});

describe('the prune schedule', () => {
  const settings = { pruneIntervalSeconds: 300, verificationDays: 7, auditDays: 0, longestFailureWindowSeconds: 900 };

  it('turns the settings into cutoffs; an audit retention of 0 keeps audit events', () => {
    assert.deepEqual(retentionPolicy(settings, NOW, 10), {
      verificationsExpiredBefore: NOW - 7 * DAY_MS,
      lockoutWindowsStartedBefore: NOW - 900_000,
      countersStartedBefore: NOW - COUNTER_RETENTION_MS,
      auditEventsBefore: null,
      now: NOW,
      batchSize: 10,
    });
    assert.equal(retentionPolicy({ ...settings, auditDays: 30 }, NOW).auditEventsBefore, NOW - 30 * DAY_MS);
  });

  it('logs a prune that fails (database away) instead of throwing, and stops cleanly', async () => {
    const opened = await storeTargets()[0]!.open();
    const warnings: unknown[] = [];
    const logger = { info: () => undefined, warn: (entry: unknown) => void warnings.push(entry) };
    const pruner = new Pruner(opened.store, { now: () => NOW }, settings, logger as never);
    await opened.store.recordVerification(finished({ expiresAt: CUTOFF - 1 }));
    assert.equal((await pruner.runOnce())?.verifications, 1);
    await opened.cleanup();
    assert.equal(await pruner.runOnce(), undefined);
    assert.equal(warnings.length, 1);
    pruner.start();
    await pruner.stop();
  });
});

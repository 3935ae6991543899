// Defends the shared verification lifecycle on both databases: a pending verification is completed once
// however many callers race (one audit event, every caller told the winner's status), a decision made at
// once is recorded with the shared retention and audited, and concurrent polls of one verification share
// one look at the provider. Threat: a push answered twice (double-counted success, two audit rows), and a
// poll storm multiplying calls to a provider.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, it } from 'node:test';
import type { Decision as AuditDecision } from '../../src/core/audit.js';
import type { Store } from '../../src/core/ports.js';
import { DECIDED_RETENTION_MS, type StatusView } from '../../src/core/verification.js';
import { PollCoalescer, VerificationLifecycle } from '../../src/methods/lifecycle.js';
import { describeEachStore, type OpenedStore } from '../helpers/stores.js';

const NOW = 1_700_000_000_000;

describeEachStore('verification lifecycle', (target) => {
  let opened: OpenedStore;
  let store: Store;
  let audited: AuditDecision[];
  let lifecycle: VerificationLifecycle;

  beforeEach(async () => {
    opened = await target.open();
    store = opened.store;
    audited = [];
    lifecycle = new VerificationLifecycle('rsa', {
      store,
      clock: { now: () => NOW },
      randomBytes: (n) => randomBytes(n),
      audit: { record: async (d) => void audited.push(d) },
    });
  });
  afterEach(() => opened.cleanup());

  it('completes a pending verification once when twenty callers race, and tells each the winner', async () => {
    const id = await lifecycle.start({ operation: 'verify', subject: 'ann', clientId: 'c1', expiresAt: NOW + 60_000, providerState: '{}', sent: 'push sent' });
    const pending = (await store.findVerification(id))!;
    assert.equal(pending.status, 'PENDING');
    const views: StatusView[] = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? { status: 'SUCCESS', error: null } : { status: 'FAILED', error: `refused ${i}` }));
    const results = await Promise.all(views.map((view) => lifecycle.complete(pending, view)));

    assert.equal(results.filter((r) => r.won).length, 1);
    const stored = (await store.findVerification(id))!;
    const winner = { status: stored.status, error: stored.error };
    for (const result of results) assert.deepEqual(result.view, winner);
    assert.deepEqual(
      audited.map((d) => [d.operation, d.outcome, d.requestId]),
      [['verify', 'SENT', id], ['poll', winner.status, id]],
    );
  });

  it('records a decision made at once with the shared retention, and audits it', async () => {
    const id = await lifecycle.decide({ operation: 'verify', subject: 'ann', clientId: 'c1', status: 'FAILED', error: 'RSA SecurID authentication failed.' });
    const v = (await store.findVerification(id))!;
    assert.deepEqual([v.method, v.status, v.error, v.expiresAt], ['rsa', 'FAILED', 'RSA SecurID authentication failed.', NOW + DECIDED_RETENTION_MS]);
    assert.deepEqual(audited, [{ method: 'rsa', operation: 'verify', alias: 'ann', clientId: 'c1', outcome: 'FAILED', reason: 'RSA SecurID authentication failed.', requestId: id }]);
  });
});

it('shares one look among concurrent polls of a verification, and looks again once it is answered', async () => {
  const polls = new PollCoalescer();
  let looks = 0;
  let answer!: (view: StatusView) => void;
  const look = () => {
    looks++;
    return new Promise<StatusView>((resolve) => (answer = resolve));
  };
  const together = Array.from({ length: 10 }, () => polls.share('v1', look));
  const other = polls.share('v2', () => Promise.resolve({ status: 'FAILED', error: null }));
  answer({ status: 'SUCCESS', error: null });
  for (const view of await Promise.all(together)) assert.deepEqual(view, { status: 'SUCCESS', error: null });
  assert.equal((await other).status, 'FAILED');
  assert.equal(looks, 1);
  const later = polls.share('v1', look);
  answer({ status: 'PENDING', error: null });
  assert.equal((await later).status, 'PENDING');
  assert.equal(looks, 2);
});

// Defends the operator's hand actions on both databases: an unlock ends exactly one alias's token, KBA
// and TOTP lockouts and counted failures, a KBA reset removes exactly one identity's answers, and each leaves
// its audit event (client `operator`) so a hand action is never invisible.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { FailurePolicy } from '../../src/core/ports.js';
import { AuditTrail } from '../../src/services/audit.js';
import { OPERATOR_CLIENT_ID, OperatorActions } from '../../src/services/operator.js';
import { describeEachStore, type OpenedStore } from '../helpers/stores.js';

const NOW = Date.UTC(2030, 0, 1);
const POLICY: FailurePolicy = { windowMs: 900_000, maxFailures: 3, lockoutMs: 900_000 };

describeEachStore('OperatorActions', (target) => {
  let opened: OpenedStore;
  let actions: OperatorActions;
  before(async () => {
    opened = await target.open();
    const clock = { now: () => NOW };
    actions = new OperatorActions({ store: opened.store, clock, audit: new AuditTrail({ store: opened.store, clock, randomBytes: (n) => randomBytes(n) }) });
  });
  after(() => opened.cleanup());

  it('unlock ends both lockouts and the counted failures of one alias, and records it', async () => {
    const { store } = opened;
    for (const alias of ['carol', 'dave']) {
      for (let i = 0; i < POLICY.maxFailures; i++) await store.recordFailure(alias, 'token', POLICY, NOW - 1000);
      await store.lock(alias, 'kba', NOW + 60_000);
    }
    assert.ok((await store.lockedUntil('carol', 'token')) > NOW, 'the setup did not lock carol out');

    const result = await actions.unlock('carol');
    assert.deepEqual(result.wasLocked.map((l) => l.method), ['token', 'kba']);
    assert.equal(await store.lockedUntil('carol', 'token'), 0);
    assert.equal(await store.lockedUntil('carol', 'kba'), 0);
    // The failures are forgotten, not only the lock: one more wrong token does not lock again.
    assert.equal((await store.recordFailure('carol', 'token', POLICY, NOW)).failures, 1);
    assert.ok((await store.lockedUntil('dave', 'token')) > NOW);
    assert.ok((await store.lockedUntil('dave', 'kba')) > NOW);

    const events = await store.queryAudit({ alias: 'carol', limit: 10, order: 'oldest' });
    assert.deepEqual(
      events.map((e) => [e.method, e.operation, e.clientId, e.outcome, e.requestId]),
      [
        ['token', 'unlock', OPERATOR_CLIENT_ID, 'SUCCESS', null],
        ['kba', 'unlock', OPERATOR_CLIENT_ID, 'SUCCESS', null],
        ['totp', 'unlock', OPERATOR_CLIENT_ID, 'SUCCESS', null],
      ],
    );
  });

  it('reset-kba removes one identity\'s answers, records it, and answers undefined for an unknown alias', async () => {
    const { store } = opened;
    await store.upsertIdentities(
      [
        { alias: 'erin', status: 'active', attributes: {} },
        { alias: 'frank', status: 'active', attributes: {} },
      ],
      () => randomBytes(16).toString('hex'),
      NOW,
    );
    await store.putQuestion({ id: 'pet', texts: { '': 'Pet?' }, createdAt: NOW });
    const erin = (await store.findIdentity('erin'))!;
    const frank = (await store.findIdentity('frank'))!;
    for (const identity of [erin, frank]) await store.replaceAnswers(identity.id, [{ questionId: 'pet', answerHash: '$argon2id$h' }], NOW);

    assert.equal(await actions.resetKba('erin'), 1);
    assert.deepEqual(await store.listAnswers(erin.id), []);
    assert.equal((await store.listAnswers(frank.id)).length, 1);
    assert.equal(await actions.resetKba('nobody'), undefined);

    const [event, ...others] = await store.queryAudit({ alias: 'erin', limit: 10 });
    assert.deepEqual(others, []);
    assert.deepEqual([event?.method, event?.operation, event?.clientId, event?.reason], ['kba', 'reset', OPERATOR_CLIENT_ID, '1 answer(s) removed by an operator']);
    assert.deepEqual(await store.queryAudit({ alias: 'nobody', limit: 10 }), []);
  });
});

// Defends against hammering a provider that is down: the circuit opens after consecutive outages,
// lets one trial through after the cool-down, and closes only when that trial succeeds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOSED, admit, afterFailure, afterSuccess } from '../../src/core/circuit.js';

const policy = { failureThreshold: 3, coolDownMs: 1000 };

describe('circuit', () => {
  it('stays closed below the threshold and opens at it', () => {
    let state = CLOSED;
    state = afterFailure(state, policy, 0);
    state = afterFailure(state, policy, 10);
    assert.equal(admit(state, 20).allowed, true);
    state = afterFailure(state, policy, 20);
    assert.deepEqual(state, { kind: 'open', until: 1020 });
    assert.equal(admit(state, 500).allowed, false);
  });

  it('a success in between resets the count', () => {
    let state = afterFailure(afterFailure(CLOSED, policy, 0), policy, 1);
    state = afterSuccess();
    state = afterFailure(afterFailure(state, policy, 2), policy, 3);
    assert.equal(state.kind, 'closed');
  });

  it('after the cool-down one trial goes out; its failure reopens, its success closes', () => {
    const open = { kind: 'open', until: 1000 } as const;
    const trial = admit(open, 1000);
    assert.deepEqual(trial, { allowed: true, state: { kind: 'half-open' } });
    assert.equal(admit(trial.state, 1001).allowed, false, 'only one trial at a time');
    assert.deepEqual(afterFailure(trial.state, policy, 1500), { kind: 'open', until: 2500 });
    assert.deepEqual(afterSuccess(), { kind: 'closed', consecutiveFailures: 0 }, 'a success closes the circuit and forgets the failures');
  });

  it('opens at exactly the threshold, not one failure later, and a threshold of one opens at once', () => {
    const two = afterFailure(afterFailure(CLOSED, policy, 0), policy, 1);
    assert.deepEqual(two, { kind: 'closed', consecutiveFailures: 2 });
    assert.deepEqual(afterFailure(two, policy, 5), { kind: 'open', until: 1005 });
    assert.deepEqual(afterFailure(CLOSED, { failureThreshold: 1, coolDownMs: 10 }, 7), { kind: 'open', until: 17 });
  });

  it('refuses calls until exactly the end of the cool-down, and lets the trial out at that instant', () => {
    const open = { kind: 'open', until: 1000 } as const;
    assert.deepEqual(admit(open, 999), { allowed: false, state: open });
    assert.equal(admit(open, 1000).allowed, true);
  });

  // Regression: a call sent while the circuit was closed can fail after other calls have opened it. Counting
  // that late failure from zero closed the circuit again (or, earlier, gave a NaN count that never reopened).
  it('a late failure while the circuit is open keeps it open, with the same cool-down', () => {
    const open = afterFailure(afterFailure(afterFailure(CLOSED, policy, 0), policy, 1), policy, 2);
    assert.deepEqual(open, { kind: 'open', until: 1002 });
    const late = afterFailure(open, policy, 500);
    assert.deepEqual(late, { kind: 'open', until: 1002 });
    assert.equal(admit(late, 600).allowed, false, 'still refusing calls');
    assert.equal(admit(late, 1002).allowed, true, 'the trial goes out when the original cool-down ends');
  });
});

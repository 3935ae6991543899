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
    assert.deepEqual(afterSuccess(), CLOSED);
  });
});

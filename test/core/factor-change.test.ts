// The factor-change rule as a pure decision: its edges at exactly the window and at the lockout end.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { decideFactorChange, type FactorChangeFacts } from '../../src/core/factor-change.js';

const NOW = 1_700_000_000_000;
const WINDOW = 600_000;
const facts = (overrides: Partial<FactorChangeFacts>): FactorChangeFacts => ({ hasFactor: true, lockedUntil: 0, lastSuccessAt: NOW - 1000, now: NOW, windowMs: WINDOW, ...overrides });
const kind = (overrides: Partial<FactorChangeFacts>): string => decideFactorChange(facts(overrides)).kind;

it('a first factor needs no proof, even during a lockout', () => {
  assert.equal(kind({ hasFactor: false, lastSuccessAt: 0, lockedUntil: NOW + 1 }), 'allowed');
});

it('changing a factor needs a success no older than the window, the edge included', () => {
  assert.equal(kind({ lastSuccessAt: NOW - WINDOW }), 'allowed');
  assert.equal(kind({ lastSuccessAt: NOW - WINDOW - 1 }), 'needs-recent-verification');
  assert.equal(kind({ lastSuccessAt: 0 }), 'needs-recent-verification', 'never verified');
  assert.equal(kind({ lastSuccessAt: NOW + 5 }), 'allowed', 'a success stamped by a clock slightly ahead');
});

it('a lockout refuses the change until its end, recent success or not', () => {
  assert.equal(kind({ lockedUntil: NOW + 1 }), 'locked');
  assert.equal(kind({ lockedUntil: NOW }), 'allowed', 'a lockout ending now has ended');
  assert.equal(kind({ lockedUntil: NOW + 1, lastSuccessAt: 0 }), 'locked');
});

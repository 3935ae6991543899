// A circuit breaker's decisions, as a pure state machine over time: after enough consecutive failures
// the provider is left alone for a cool-down, then one trial call decides whether it is back.

export interface CircuitPolicy {
  readonly failureThreshold: number;
  readonly coolDownMs: number;
}

export type CircuitState =
  | { readonly kind: 'closed'; readonly consecutiveFailures: number }
  | { readonly kind: 'open'; readonly until: number }
  | { readonly kind: 'half-open' };

export const CLOSED: CircuitState = { kind: 'closed', consecutiveFailures: 0 };

/** Whether a call may go out now, and the state to keep if it does. */
export function admit(state: CircuitState, now: number): { allowed: boolean; state: CircuitState } {
  if (state.kind === 'open') {
    return now >= state.until ? { allowed: true, state: { kind: 'half-open' } } : { allowed: false, state };
  }
  // In half-open only the one trial call is out; others wait for its verdict.
  if (state.kind === 'half-open') return { allowed: false, state };
  return { allowed: true, state };
}

export function afterSuccess(): CircuitState {
  return CLOSED;
}

export function afterFailure(state: CircuitState, policy: CircuitPolicy, now: number): CircuitState {
  // A call already in flight when the circuit opened may fail late: the circuit stays open, its cool-down
  // unchanged (the failure tells nothing the opening did not; counting it from zero would close the circuit).
  if (state.kind === 'open') return state;
  if (state.kind === 'half-open') return { kind: 'open', until: now + policy.coolDownMs };
  const failures = state.consecutiveFailures + 1;
  return failures >= policy.failureThreshold ? { kind: 'open', until: now + policy.coolDownMs } : { kind: 'closed', consecutiveFailures: failures };
}

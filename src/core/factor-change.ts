// The factor-change rule (docs/security.md, "Changing a factor"): replacing a factor an identity already
// has needs proof of a current one, a successful verification of the identity moments ago, and is never
// possible while the identity is locked out. Enrolling a first factor needs neither.

export interface FactorChangeFacts {
  /** Whether the identity already has a factor of this kind (answers, an authenticator). */
  readonly hasFactor: boolean;
  /** The latest end of any lockout of the identity, 0 when none. */
  readonly lockedUntil: number;
  /** When a verification of the identity last succeeded, 0 when never. */
  readonly lastSuccessAt: number;
  readonly now: number;
  /** How recent that success must be. */
  readonly windowMs: number;
}

export type FactorChangeDecision = { readonly kind: 'allowed' } | { readonly kind: 'locked' } | { readonly kind: 'needs-recent-verification' };

export function decideFactorChange(facts: FactorChangeFacts): FactorChangeDecision {
  if (!facts.hasFactor) return { kind: 'allowed' };
  if (facts.lockedUntil > facts.now) return { kind: 'locked' };
  // A success stamped after `now` (another process's clock running ahead) still counts as recent.
  if (facts.lastSuccessAt > 0 && facts.now - facts.lastSuccessAt <= facts.windowMs) return { kind: 'allowed' };
  return { kind: 'needs-recent-verification' };
}

// The factor-change rule applied (docs/security.md, "Changing a factor"): reads what core/factor-change.ts
// decides on, the identity's lockouts in every method that keeps them and its latest success with any
// method, for each method whose factor an identity can replace (KBA answers now; authenticators later).
import { decideFactorChange, type FactorChangeDecision } from '../core/factor-change.js';
import type { Identity, Method } from '../core/model.js';
import type { Clock, LockoutStore, VerificationStore } from '../core/ports.js';

export interface FactorChangeDeps {
  readonly store: Pick<VerificationStore, 'lastSuccessAt'> & Pick<LockoutStore, 'lockedUntil'>;
  readonly clock: Clock;
  /** How recent a successful verification must be to replace a factor the identity already has. */
  readonly windowMs: number;
  /** The methods that keep per-identity lockouts (the registry's): a lockout in any of them refuses a change. */
  readonly lockoutMethods: readonly Method[];
}

export class FactorChangeRule {
  constructor(private readonly deps: FactorChangeDeps) {}

  /** Whether the identity may replace its factor now; `hasFactor` is read alongside the rest. */
  async decide(identity: Pick<Identity, 'alias' | 'id'>, hasFactor: boolean | Promise<boolean>): Promise<FactorChangeDecision> {
    const { store, clock, lockoutMethods } = this.deps;
    const [factor, lastSuccessAt, ...lockouts] = await Promise.all([
      hasFactor,
      store.lastSuccessAt([identity.alias, identity.id]),
      ...lockoutMethods.map((method) => store.lockedUntil(identity.alias, method)),
    ]);
    return decideFactorChange({ hasFactor: factor, lockedUntil: Math.max(0, ...lockouts), lastSuccessAt, now: clock.now(), windowMs: this.deps.windowMs });
  }
}

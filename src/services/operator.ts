// What an operator does for one person by hand (from the command line or the console): end their lockouts, or clear
// their security answers so they enrol again. Each action is one audit event, as a decision is.
import type { AuditSink, Clock, IdentityStore, KbaStore, LockoutStore } from '../core/ports.js';
import { LOCKOUT_METHODS, type Method } from '../methods/index.js';

/** The client id operator actions are recorded under: they come from no API client (a console operator's carry their email, src/core/operator.ts). */
export const OPERATOR_CLIENT_ID = 'operator';

export interface UnlockResult {
  /** The methods whose lockout was in force, with the time it would have ended (ms). */
  readonly wasLocked: ReadonlyArray<{ readonly method: Method; readonly until: number }>;
}

export class OperatorActions {
  constructor(
    private readonly deps: {
      readonly store: Pick<IdentityStore, 'findIdentity'> & Pick<KbaStore, 'listAnswers' | 'replaceAnswers'> & Pick<LockoutStore, 'lockedUntil' | 'clearFailures'>;
      readonly clock: Clock;
      readonly audit: AuditSink;
      /** The methods whose lockouts an unlock ends: every one that keeps them (the registry's) unless told otherwise. */
      readonly lockoutMethods?: readonly Method[];
    },
  ) {}

  /**
   * Forgets the alias's failures and ends its lockouts in every method that keeps them (token, KBA).
   * Lockouts are kept per alias whether or not the identity exists, so an unknown alias is unlocked too.
   */
  async unlock(alias: string, actor: string = OPERATOR_CLIENT_ID): Promise<UnlockResult> {
    const { store, clock, audit } = this.deps;
    const now = clock.now();
    const wasLocked: Array<{ method: Method; until: number }> = [];
    for (const method of this.deps.lockoutMethods ?? LOCKOUT_METHODS) {
      const until = await store.lockedUntil(alias, method);
      if (until > now) wasLocked.push({ method, until });
      await store.clearFailures(alias, method);
      const reason = until > now ? `lockout until ${new Date(until).toISOString()} ended by an operator` : 'failures cleared by an operator (no lockout in force)';
      await audit.record({ method, operation: 'unlock', alias, clientId: actor, outcome: 'SUCCESS', reason, requestId: null });
    }
    return { wasLocked };
  }

  /** Deletes every security answer of the identity; undefined when there is no such identity, else how many were removed. */
  async resetKba(alias: string, actor: string = OPERATOR_CLIENT_ID): Promise<number | undefined> {
    const { store, clock, audit } = this.deps;
    const identity = await store.findIdentity(alias);
    if (!identity) return undefined;
    const removed = (await store.listAnswers(identity.id)).length;
    await store.replaceAnswers(identity.id, [], clock.now());
    await audit.record({ method: 'kba', operation: 'reset', alias, clientId: actor, outcome: 'SUCCESS', reason: `${removed} answer(s) removed by an operator`, requestId: null });
    return removed;
  }
}

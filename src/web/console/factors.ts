// An identity's enrolled factors as the console shows and resets them: security answers, an
// authenticator app, passkeys. Every reset is audited with the operator's name.
import type { Identity } from '../../core/model.js';
import type { AuditSink, Store } from '../../core/ports.js';
import type { OperatorActions } from '../../services/operator.js';
import { SqlPasskeyStore } from '../../methods/passkey/store.js';
import { SqlTotpStore, resetTotp } from '../../methods/totp/index.js';
import type { SqlDatabase } from '../../store/driver.js';

export const CONSOLE_FACTORS = ['kba', 'totp', 'passkey'] as const;
export type ConsoleFactor = (typeof CONSOLE_FACTORS)[number];

export interface FactorView {
  readonly factor: ConsoleFactor;
  /** Answers, registrations or passkeys held; 0 when not enrolled. */
  readonly count: number;
}

export interface ConsoleFactors {
  list(identity: Identity): Promise<FactorView[]>;
  /** Removes the factor (all of its answers, the registration, every passkey); false when there was nothing. */
  reset(factor: ConsoleFactor, identity: Identity, actor: string): Promise<boolean>;
}

export function standardFactors(deps: { store: Store; driver: SqlDatabase; actions: OperatorActions; audit: AuditSink }): ConsoleFactors {
  const totp = new SqlTotpStore(deps.driver);
  const passkeys = new SqlPasskeyStore(deps.driver);
  return {
    async list(identity) {
      const [answers, registration, keys] = await Promise.all([deps.store.listAnswers(identity.id), totp.find(identity.alias), passkeys.listPasskeys(identity.id)]);
      return [
        { factor: 'kba', count: answers.length },
        { factor: 'totp', count: registration?.active ? 1 : 0 },
        { factor: 'passkey', count: keys.length },
      ];
    },
    async reset(factor, identity, actor) {
      if (factor === 'kba') return ((await deps.actions.resetKba(identity.alias, actor)) ?? 0) > 0;
      if (factor === 'totp') return resetTotp({ registrations: totp, audit: deps.audit }, actor, identity.alias);
      const held = await passkeys.listPasskeys(identity.id);
      for (const passkey of held) await passkeys.removePasskey(identity.id, passkey.id);
      if (held.length > 0) {
        await deps.audit.record({ method: 'passkey', operation: 'reset', alias: identity.alias, clientId: actor, outcome: 'SUCCESS', reason: `${held.length} passkey(s) removed by an operator`, requestId: null });
      }
      return held.length > 0;
    },
  };
}

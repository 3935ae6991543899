// What factors an identity has enrolled, across the methods a person enrols themselves: security answers,
// an active authenticator app, passkeys. The factor-change rule (src/core/factor-change.ts) asks this,
// not only the method being changed: otherwise whoever can enrol a first factor of one kind (a stolen
// personal client, an invitation link) could add it beside the person's other factor unchallenged, verify
// with it, and then replace the rest (test/security/factor-enrolment-takeover-chain.test.ts).
import type { Identity } from '../core/model.js';
import type { Store } from '../core/ports.js';

export type FactorKind = 'kba' | 'totp' | 'passkey';

export interface FactorSources {
  readonly store: Pick<Store, 'listAnswers'>;
  /** The active authenticator app of the identity with this alias, if any. */
  readonly totp: { find(alias: string): Promise<{ readonly active: unknown } | undefined> };
  readonly passkeys: { listPasskeys(identityId: string): Promise<readonly unknown[]> };
}

/** The kinds of factor `identity` has, in a fixed order. */
export async function factorsOf(sources: FactorSources, identity: Pick<Identity, 'id' | 'alias'>): Promise<FactorKind[]> {
  const [answers, totp, passkeys] = await Promise.all([
    sources.store.listAnswers(identity.id),
    sources.totp.find(identity.alias),
    sources.passkeys.listPasskeys(identity.id),
  ]);
  const kinds: FactorKind[] = [];
  if (answers.length > 0) kinds.push('kba');
  if (totp?.active) kinds.push('totp');
  if (passkeys.length > 0) kinds.push('passkey');
  return kinds;
}

/** Whether the identity has a factor of a kind other than `except` (any factor without `except`). */
export type HasOtherFactor = (identity: Pick<Identity, 'id' | 'alias'>, except?: FactorKind) => Promise<boolean>;

export function hasOtherFactorFrom(sources: FactorSources): HasOtherFactor {
  return async (identity, except) => (await factorsOf(sources, identity)).some((kind) => kind !== except);
}

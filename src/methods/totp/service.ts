// Authenticator apps (docs/totp.md): enrolment with a confirming code, checks of codes recorded as
// verifications (poll, audit, metrics, the per-client failed-check budget), the per-identity budget of wrong
// codes, and the operator's reset. The rules are in ./core.ts; the atomic writes in ./store.ts.
import { VerificationLifecycle, type PreparedDecision } from '../lifecycle.js';
import type { FactorChangeRule } from '../../services/factor-change.js';
import { forbidden } from '../../core/errors.js';
import type { VerificationStatus } from '../../core/model.js';
import type { AuditSink, Clock, DecidedRows, Store } from '../../core/ports.js';
import { generateId, type RandomBytes } from '../../core/secrets.js';
import {
  SECRET_BYTES,
  TOTP_ALGORITHMS,
  matchCode,
  otpauthUri,
  secretFromBase32,
  secretToBase32,
  type CodeMatch,
  type TotpParameters,
} from './core.js';
import type { TotpSettings } from './settings.js';
import type { TotpStore } from './store.js';
import type { HasOtherFactor } from '../../services/factors.js';

export interface TotpServiceDeps {
  readonly registrations: TotpStore;
  /** Lockouts, the recent-success proof, and the verifications that poll reports. */
  readonly store: Store;
  readonly sealer: { seal(plaintext: string): string; unseal(sealed: string): string };
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly settings: TotpSettings;
  /** Replacing an active registration needs a recent successful verification (docs/security.md). */
  readonly factorChange: FactorChangeRule;
  /** Whether the identity has a factor of another kind (security answers, a passkey). */
  readonly hasOtherFactor: HasOtherFactor;
  /** Told of every check and reset (never a code or a secret); awaited, so a failure fails the request. */
  readonly audit?: AuditSink;
}

/** GetSecretResponse of SailPoint's Auth MFA API, with the request id of the enrolment. */
export interface TotpEnrolment {
  readonly requestId: string;
  readonly username: string;
  /** Base32, shown this once and never again. */
  readonly secret: string;
  readonly totpUrl: string;
}

/** The spec's VerificationResponse. */
export interface TotpCheck {
  readonly requestId: string;
  readonly status: VerificationStatus;
  readonly error: string | null;
}

export interface TotpStatus {
  readonly registered: boolean;
  /** When the active registration was confirmed (ISO 8601), null without one. */
  readonly confirmedAt: string | null;
}

export const ERROR_TOTP_NOT_REGISTERED = 'No authenticator app is registered for this user.';
export const ERROR_TOTP_WRONG = 'The code is not valid.';
export const ERROR_TOTP_USED = 'The code was already used; wait for the next one.';
export const ERROR_TOTP_LOCKED = 'Too many wrong codes; authenticator verification is locked for a while.';
export const ERROR_TOTP_CHANGE_LOCKED = 'The identity is locked out; its authenticator app cannot be replaced until the lockout ends.';
export const ERROR_TOTP_CHANGE_NEEDS_PROOF = 'Setting up, replacing or removing an authenticator app when the identity has a factor needs a successful verification of this identity first (any method).';

/** The audit reason of a reset (operators reset through the API or the command line). */
const RESET_REASON_CLEARED = 'authenticator registration removed by an operator';
const RESET_REASON_OWNER = 'authenticator registration removed by its owner';

/**
 * Enrolments for an unknown or disabled alias write here instead, the same statement as for a real identity,
 * so that the answer and its timing do not tell who exists. No identity has this id; nothing reads the row.
 */
const NOBODY = '';

/** What is sealed at rest for a registration: the secret with the parameters it was enrolled under. */
interface SealedRegistration {
  readonly secret: string;
  readonly algorithm: TotpParameters['algorithm'];
  readonly digits: TotpParameters['digits'];
  readonly periodSeconds: number;
}

interface Opened {
  readonly secret: Uint8Array;
  readonly parameters: TotpParameters;
}

export class TotpService {
  /** A sealed registration nobody has, checked where there is none, so each path costs the same work. */
  private readonly decoy: string;
  private readonly lifecycle: VerificationLifecycle;

  constructor(private readonly deps: TotpServiceDeps) {
    this.decoy = this.seal(deps.randomBytes(SECRET_BYTES), deps.settings.parameters);
    this.lifecycle = new VerificationLifecycle('totp', deps);
  }

  /** POST /mfa/totp/enrol: a new pending registration, with its secret shown this once. */
  async enrol(alias: string): Promise<TotpEnrolment> {
    const { registrations, clock, settings, randomBytes } = this.deps;
    const found = await registrations.find(alias);
    if (found && (found.active || (await this.deps.hasOtherFactor({ id: found.identityId, alias }, 'totp')))) await this.checkFactorChange(alias, found.identityId);
    const now = clock.now();
    const requestId = generateId(randomBytes);
    const secret = randomBytes(SECRET_BYTES);
    await registrations.putPending(
      found?.identityId ?? NOBODY,
      { id: requestId, sealedSecret: this.seal(secret, settings.parameters), replaces: found?.active?.id ?? null, expiresAt: now + settings.enrolmentTtlSeconds * 1000 },
      now,
    );
    return { requestId, username: alias, secret: secretToBase32(secret), totpUrl: otpauthUri(settings.issuer, alias, secret, settings.parameters) };
  }

  /** POST /mfa/totp/confirm: a right code for the pending registration makes it the active one. */
  async confirm(alias: string, code: string): Promise<{ mfaVerified: boolean }> {
    const now = this.deps.clock.now();
    const found = await this.deps.registrations.find(alias);
    const pending = found?.pending && found.pending.expiresAt > now ? found.pending : undefined;
    const match = this.check(pending?.sealedSecret, code, now, null);
    if (!found || !pending || match.kind !== 'accepted') return { mfaVerified: false };
    // Again at the confirmation: another factor may have been added, or the proof aged, since the enrolment.
    if (found.active || (await this.deps.hasOtherFactor({ id: found.identityId, alias }, 'totp'))) await this.checkFactorChange(alias, found.identityId);
    // The confirming code's step becomes the last accepted one: it cannot be used again to authenticate.
    return { mfaVerified: await this.deps.registrations.activate(found.identityId, pending.id, match.step, now) };
  }

  /** POST /mfa/totp/authenticate: one check of a code, recorded as a verification that poll reports. */
  async authenticate(clientId: string, alias: string, code: string): Promise<TotpCheck> {
    const { store, registrations, clock, settings } = this.deps;
    const now = clock.now();
    const { found, lockedUntil } = await registrations.findForCheck(alias);
    const decide = (status: VerificationStatus, error: string | null) => this.decided(clientId, alias, status, error);
    if (lockedUntil > now) return decide('LOCKOUT', ERROR_TOTP_LOCKED);
    const active = found?.active;
    if (!found || !active) {
      this.check(undefined, code, now, null);
      return decide('NOT_ENOUGH_DATA', ERROR_TOTP_NOT_REGISTERED);
    }
    // Every check is counted, and no answer tells anything of its code before the count has committed:
    // concurrent checks cannot learn of more codes than the budget. The code is compared first, but a
    // check over the budget is answered LOCKOUT in the very transaction that counted it, whatever its
    // code, so neither its answer nor its time depends on the code. A wrong code is decided in that
    // transaction too (one commit); a right one goes on, and clears the count, as a success does for
    // every method.
    const match = this.check(active.sealedSecret, code, now, active.lastStep);
    let decided: PreparedDecision | undefined;
    const decideWithCount = (status: VerificationStatus, error: string | null): DecidedRows => {
      decided = this.lifecycle.prepare({ operation: 'authenticate', subject: alias, clientId, status, error });
      return decided.rows;
    };
    const attempt = await store.recordFailureWithDecision(
      alias,
      'totp',
      { windowMs: settings.failureWindowSeconds * 1000, maxFailures: settings.maxFailures, lockoutMs: settings.lockoutSeconds * 1000 },
      now,
      (count) => {
        if (count.failures > settings.maxFailures) return decideWithCount('LOCKOUT', ERROR_TOTP_LOCKED);
        if (match.kind === 'accepted') return undefined;
        if (count.failures >= settings.maxFailures) return decideWithCount('LOCKOUT', ERROR_TOTP_LOCKED);
        return decideWithCount('FAILED', match.kind === 'wrong' ? ERROR_TOTP_WRONG : ERROR_TOTP_USED);
      },
    ).catch((err: unknown) => {
      decided?.failed(err);
      throw err;
    });
    if (decided) {
      await decided.committed();
      const { status, error } = decided.rows.verification;
      return { requestId: decided.requestId, status, error };
    }
    // Of concurrent checks with one right code, the database lets exactly one record its step.
    if (match.kind === 'accepted' && (await registrations.acceptStep(found.identityId, active.id, match.step, now))) {
      await store.clearFailures(alias, 'totp');
      return decide('SUCCESS', null);
    }
    if (attempt.failures >= settings.maxFailures) return decide('LOCKOUT', ERROR_TOTP_LOCKED);
    return decide('FAILED', ERROR_TOTP_USED);
  }

  /** GET /mfa/totp/status. An unknown alias reads as one without a registration. */
  async status(alias: string): Promise<TotpStatus> {
    const active = (await this.deps.registrations.find(alias))?.active;
    return active ? { registered: true, confirmedAt: new Date(active.confirmedAt).toISOString() } : { registered: false, confirmedAt: null };
  }

  /**
   * The person removes their own authenticator app (the portal): a factor change, so only after a recent
   * successful verification. False when there was none.
   */
  async remove(clientId: string, alias: string): Promise<boolean> {
    const found = await this.deps.registrations.find(alias);
    if (!found?.active && !found?.pending) return false;
    await this.checkFactorChange(alias, found.identityId);
    const removed = await this.deps.registrations.remove(alias);
    if (removed) await this.deps.audit?.record({ method: 'totp', operation: 'reset', alias, clientId, outcome: 'SUCCESS', reason: RESET_REASON_OWNER, requestId: null });
    return removed;
  }

  /** DELETE /mfa/totp/registration and `users reset-totp`: see resetTotp. */
  reset(clientId: string, alias: string): Promise<boolean> {
    return resetTotp(this.deps, clientId, alias);
  }

  /**
   * The factor-change rule (docs/security.md): an active registration is replaced, or a first one added
   * beside a factor of another kind, only after a recent successful verification of the identity, and
   * never while it is locked out of any method.
   */
  private async checkFactorChange(alias: string, identityId: string): Promise<void> {
    const decision = await this.deps.factorChange.decide({ alias, id: identityId }, true);
    if (decision.kind === 'locked') throw forbidden(ERROR_TOTP_CHANGE_LOCKED);
    if (decision.kind === 'needs-recent-verification') throw forbidden(ERROR_TOTP_CHANGE_NEEDS_PROOF);
  }

  /** Compares a code with a sealed registration's; without one, with the decoy's (the same work), and never a match. */
  private check(sealed: string | undefined, code: string, nowMs: number, lastAcceptedStep: number | null): CodeMatch {
    const { secret, parameters } = this.open(sealed ?? this.decoy);
    const match = matchCode({ secret, parameters, code, nowMs, windowSteps: this.deps.settings.windowSteps, lastAcceptedStep });
    return sealed === undefined ? { kind: 'wrong' } : match;
  }

  private seal(secret: Uint8Array, parameters: TotpParameters): string {
    const payload: SealedRegistration = { secret: secretToBase32(secret), ...parameters };
    return this.deps.sealer.seal(JSON.stringify(payload));
  }

  private open(sealed: string): Opened {
    const payload = JSON.parse(this.deps.sealer.unseal(sealed)) as SealedRegistration;
    if (!TOTP_ALGORITHMS.includes(payload.algorithm)) throw new Error('sealed TOTP registration with an unknown algorithm');
    return {
      secret: secretFromBase32(payload.secret),
      parameters: { algorithm: payload.algorithm, digits: payload.digits, periodSeconds: payload.periodSeconds },
    };
  }

  private async decided(clientId: string, alias: string, status: VerificationStatus, error: string | null): Promise<TotpCheck> {
    const requestId = await this.lifecycle.decide({ operation: 'authenticate', subject: alias, clientId, status, error });
    return { requestId, status, error };
  }
}

/**
 * An operator's reset: removes the alias's authenticator registration (active and pending), audited, so
 * the person enrols again as for the first time. False when there was none (an unknown alias alike).
 */
export async function resetTotp(
  deps: { readonly registrations: TotpStore; readonly audit?: AuditSink | undefined },
  clientId: string,
  alias: string,
): Promise<boolean> {
  const removed = await deps.registrations.remove(alias);
  if (removed) await deps.audit?.record({ method: 'totp', operation: 'reset', alias, clientId, outcome: 'SUCCESS', reason: RESET_REASON_CLEARED, requestId: null });
  return removed;
}

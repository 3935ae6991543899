// The one-time token method: send, authenticate, poll. Decisions come from core/token-rules; every
// counter and status change is one atomic store call, so limits hold across requests and processes.
import { normalizedAddress } from '../../core/addresses.js';
import { rateLimited } from '../../core/errors.js';
import { DELIVERY_ROUTES, type Channel, type DeliveryType, type VerificationStatus } from '../../core/model.js';
import { auditOutcome, type AuditOutcome, type Decision } from '../../core/audit.js';
import type { AuditSink, Clock, IdentityStore, LockoutStore, Message, PreparedAudit, RateCounter, Sender, TokenStore, VerificationStore } from '../../core/ports.js';
import { constantTimeEqual, generateNumericToken, generateRequestId, keyedHash, type RandomBytes } from '../../core/secrets.js';
import {
  ERROR_LOCKED,
  earlyAnswer,
  lockAfterWrongGuess,
  precheckGuess,
  type TokenPolicy,
} from '../../core/token-rules.js';
import { DeliveryLatency, sleep } from './latency.js';
import { enforceLimits } from '../../services/rate-limits.js';

export interface SendLimits {
  readonly sendsPerClient: number;
  readonly sendsPerClientWindowSeconds: number;
  readonly sendsPerRecipient: number;
  readonly sendsPerRecipientWindowSeconds: number;
}

export interface ComposeInput {
  readonly channel: Channel;
  readonly to: string;
  readonly token: string;
  readonly ttlSeconds: number;
  readonly locale: string | undefined;
}

export interface TokenServiceDeps {
  readonly store: TokenStore & Pick<IdentityStore, 'findIdentity'> & Pick<VerificationStore, 'findVerification' | 'completeVerification'> & Pick<LockoutStore, 'lock' | 'clearFailures'>;
  readonly sender: Sender;
  readonly counter: RateCounter;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly hashKey: Buffer;
  readonly policy: TokenPolicy;
  readonly limits: SendLimits;
  /** Operator opt-in: say "unknown user" or "no address" instead of answering as if sent. */
  readonly explicitErrors: boolean;
  readonly compose: (input: ComposeInput) => Message;
  readonly onDeliveryError?: (err: unknown, requestId: string) => void;
  /** Told of every decision (docs/operations.md, "Audit log"); awaited, so a failure fails the request. */
  readonly audit?: AuditSink;
}

export interface SendResult {
  readonly requestId: string | null;
  readonly status: 'SUCCESS' | 'FAILED';
  readonly errorMessage: string | null;
}

interface CheckOutcome {
  readonly status: VerificationStatus;
  readonly reason: string | null;
  readonly requestId: string | null;
  /** The row prepared for the plain answer, and whether the store wrote it with the guess. */
  readonly prepared?: PreparedAudit;
  readonly written?: boolean;
}

export const ERROR_UNKNOWN_USER = 'Unknown user.';
export const ERROR_NO_ADDRESS = 'The user has no address for this delivery type.';

/** Audit reasons (never shown to callers, who get the answers above whatever happened). */
const REASON_UNKNOWN_IDENTITY = 'unknown or disabled identity; nothing sent';
const REASON_NO_ADDRESS = 'the identity has no address for this delivery type; nothing sent';
const REASON_DELIVERY_FAILED = 'the delivery service did not accept the message';
const REASON_ADDRESS_LIMITED = 'the address reached its send limit (shared by every identity that has it); nothing sent';
const REASON_NO_TOKEN = 'no token was sent for this alias and delivery type';
const REASON_CLOSED = 'the token is expired, used or superseded';
const REASON_WRONG = 'wrong token';

export class TokenService {
  private readonly latency = new DeliveryLatency();

  constructor(private readonly deps: TokenServiceDeps) {}

  async send(clientId: string, userAlias: string, deliveryType: DeliveryType): Promise<SendResult> {
    const { store, clock, policy, limits } = this.deps;
    const route = DELIVERY_ROUTES[deliveryType];
    await enforceLimits(this.deps.counter, clock, [
      { key: `send:client:${clientId}`, limit: limits.sendsPerClient, windowSeconds: limits.sendsPerClientWindowSeconds },
      { key: `send:recipient:${route.channel}:${userAlias}`, limit: limits.sendsPerRecipient, windowSeconds: limits.sendsPerRecipientWindowSeconds },
    ]);

    const [identity, state] = await Promise.all([store.findIdentity(userAlias), store.tokenState(userAlias)]);
    const now = clock.now();
    // Lockouts are kept per alias whether or not it exists, so this answer tells nothing either.
    const audit = (outcome: AuditOutcome, reason: string | null, requestId: string | null, to?: string) =>
      this.deps.audit?.record({ method: 'token', operation: 'send', alias: userAlias, clientId, outcome, reason, requestId, deliveryType, address: to ?? null });
    if (state.lockedUntil > now) {
      await audit('LOCKOUT', ERROR_LOCKED, null);
      return { requestId: null, status: 'FAILED', errorMessage: ERROR_LOCKED };
    }

    const knownAddress = identity?.status === 'active' ? identity.attributes[route.attribute] : undefined;
    const noAddressReason = identity?.status === 'active' ? REASON_NO_ADDRESS : REASON_UNKNOWN_IDENTITY;
    if (this.deps.explicitErrors && !knownAddress) {
      await audit('NOT_ENOUGH_DATA', noAddressReason, null);
      return { requestId: null, status: 'FAILED', errorMessage: identity?.status === 'active' ? ERROR_NO_ADDRESS : ERROR_UNKNOWN_USER };
    }

    // The per-recipient limit counted once more on the address itself, so identities sharing a mailbox or
    // phone share it. Only identities have addresses: a 429 here would tell a caller that this alias exists
    // and shares an address, so an address over its limit is answered like an alias without one (nothing
    // is sent), unless the operator opted in to explicit errors.
    const addressRetryAfter = await this.countAddress(route.channel, knownAddress, userAlias);
    if (addressRetryAfter !== undefined && this.deps.explicitErrors) throw rateLimited(addressRetryAfter);
    const address = addressRetryAfter === undefined ? knownAddress : undefined;
    const unsentReason = knownAddress ? REASON_ADDRESS_LIMITED : noAddressReason;

    // Without an address the verification is still recorded, with a token nobody receives, so that it
    // polls, expires and counts wrong guesses exactly like a real one.
    const id = generateRequestId(this.deps.randomBytes, now);
    const token = generateNumericToken(policy.length, this.deps.randomBytes);
    const { requestId, created } = await store.startTokenVerification(
      {
        id,
        subject: userAlias,
        clientId,
        deliveryType,
        secretHash: keyedHash(this.deps.hashKey, id, token),
        createdAt: now,
        expiresAt: now + policy.ttlSeconds * 1000,
      },
      now - policy.resendIntervalSeconds * 1000,
    );
    if (!created) return { requestId, status: 'SUCCESS', errorMessage: null };

    if (!address) {
      // The insert after the pause, as after a real delivery: both paths take the same time.
      await sleep(this.latency.sample(route.channel));
      await audit(knownAddress ? 'FAILED' : 'NOT_ENOUGH_DATA', unsentReason, requestId);
      return { requestId, status: 'SUCCESS', errorMessage: null };
    }
    const result = await this.deliver(requestId, route.channel, address, token, identity?.attributes['locale']);
    await (result.status === 'SUCCESS' ? audit('SENT', null, requestId, address) : audit('FAILED', REASON_DELIVERY_FAILED, requestId, address));
    return result;
  }

  /**
   * Counts a send to the address on the per-recipient limit; the seconds to wait when it is over, else
   * undefined. Without an address the alias is counted in its place, so both paths cost one counter hit.
   */
  private async countAddress(channel: Channel, address: string | undefined, userAlias: string): Promise<number | undefined> {
    const { counter, clock, limits } = this.deps;
    const key = address ? `send:address:${channel}:${normalizedAddress(channel, address)}` : `send:no-address:${channel}:${userAlias}`;
    const now = clock.now();
    const hit = await counter.hit(key, limits.sendsPerRecipientWindowSeconds * 1000, now);
    if (!address || hit.count <= limits.sendsPerRecipient) return undefined;
    return Math.max(1, Math.ceil((hit.resetAt - now) / 1000));
  }

  private async deliver(requestId: string, channel: Channel, to: string, token: string, locale: string | undefined): Promise<SendResult> {
    const started = performance.now();
    try {
      await this.deps.sender.send({ ...this.deps.compose({ channel, to, token, ttlSeconds: this.deps.policy.ttlSeconds, locale }), requestId });
      this.latency.record(channel, performance.now() - started);
      return { requestId, status: 'SUCCESS', errorMessage: null };
    } catch (err) {
      // The transport's own words name internal hosts and sometimes the address: they go to the log,
      // keyed by the request id, and the caller gets the channel and that id.
      this.deps.onDeliveryError?.(err, requestId);
      const errorMessage = `Unable to send the token by ${channel}: the delivery service did not accept the message (request ${requestId}).`;
      await this.deps.store.completeVerification(requestId, 'FAILED', errorMessage, this.deps.clock.now());
      return { requestId, status: 'FAILED', errorMessage };
    }
  }

  /**
   * `clientId` (the caller) is only recorded in the audit trail. `admit`, when given, holds the caller to
   * its failed-check budget (throws RATE_LIMITED) before anything is checked or recorded; its read goes
   * with the token state's.
   */
  async authenticate(userAlias: string, deliveryType: DeliveryType, token: string, clientId = '', admit?: () => Promise<void>): Promise<VerificationStatus> {
    const decision = (status: VerificationStatus, reason: string | null, requestId: string | null): Decision =>
      ({ method: 'token', operation: 'authenticate', alias: userAlias, clientId, outcome: auditOutcome(status), reason, requestId, deliveryType });
    const { status, reason, requestId, prepared, written } = await this.check(userAlias, deliveryType, token, decision, admit);
    const made = decision(status, reason, requestId);
    await (written ? prepared!.written() : prepared ? prepared.instead(made) : this.deps.audit?.record(made));
    return status;
  }

  private async check(
    userAlias: string,
    deliveryType: DeliveryType,
    token: string,
    decision: (status: VerificationStatus, reason: string | null, requestId: string | null) => Decision,
    admit: (() => Promise<void>) | undefined,
  ): Promise<CheckOutcome> {
    const { store, clock, policy } = this.deps;
    // Both reads asked for at once (the budget's first: both are begun once this turn's I/O is handled, in
    // the order asked, and the store answers them with one statement). Nothing is decided before both.
    const [, state] = await Promise.all([admit?.(), store.tokenState(userAlias)]);
    const check = precheckGuess(state.lockedUntil, state.current, deliveryType, clock.now());
    if (check.kind !== 'open') {
      const reason = check.kind === 'locked' ? ERROR_LOCKED : check.kind === 'no-token' ? REASON_NO_TOKEN : REASON_CLOSED;
      return { status: earlyAnswer(check), reason, requestId: check.kind === 'no-token' ? null : (state.current?.id ?? null) };
    }
    const v = check.verification;
    const outcome = (status: VerificationStatus, reason: string | null): CheckOutcome => ({ status, reason, requestId: v.id });

    const now = clock.now();
    const guess = { verificationId: v.id, subject: userAlias, method: 'token' as const, guessHash: keyedHash(this.deps.hashKey, v.id, token), maxAttempts: policy.maxAttempts, now };

    if (constantTimeEqual(guess.guessHash, v.secretHash ?? '')) {
      if (!(await store.acceptCorrectGuess(guess))) return outcome(await this.statusAfterRefusal(v.id), REASON_CLOSED);
      await store.clearFailures(userAlias, 'token');
      return outcome('SUCCESS', null);
    }

    // The plain answer's row goes with the guess (one commit for both) where the sink allows it; the store
    // leaves it out when the guess was not counted or locks, and those answers are recorded after.
    const plain = this.deps.audit?.prepare?.(decision('FAILED', REASON_WRONG, v.id));
    let counted;
    try {
      counted = await store.recordWrongGuess(
        guess,
        { windowMs: policy.failureWindowSeconds * 1000, maxFailures: policy.maxFailuresPerIdentity, lockoutMs: policy.lockoutSeconds * 1000 },
        plain?.event,
      );
    } catch (err) {
      plain?.failed(err);
      throw err;
    }
    const withPrepared = (answer: CheckOutcome): CheckOutcome => (plain ? { ...answer, prepared: plain } : answer);
    // No try taken: out of tries, closed meanwhile, or the same guess again (a client retry), which costs nothing.
    if (!counted) return withPrepared(outcome(await this.statusAfterRefusal(v.id), `${REASON_WRONG} (not counted: repeated, or no tries left)`));
    const lockUntil = lockAfterWrongGuess(counted.attemptsUsed, counted.failures.lockedUntil, policy, now);
    if (lockUntil === undefined) return { ...withPrepared(outcome('FAILED', REASON_WRONG)), written: counted.audited };
    await Promise.all([store.lock(userAlias, 'token', lockUntil), store.completeVerification(v.id, 'LOCKOUT', ERROR_LOCKED, now)]);
    return withPrepared(outcome('LOCKOUT', `${REASON_WRONG}; ${ERROR_LOCKED}`));
  }

  private async statusAfterRefusal(verificationId: string): Promise<VerificationStatus> {
    const latest = await this.deps.store.findVerification(verificationId);
    return latest?.status === 'LOCKOUT' ? 'LOCKOUT' : 'FAILED';
  }

}

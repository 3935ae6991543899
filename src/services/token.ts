// The one-time token method: send, authenticate, poll. Decisions come from core/token-rules; every
// counter and status change is one atomic store call, so limits hold across requests and processes.
import { DELIVERY_ROUTES, type Channel, type DeliveryType, type VerificationStatus } from '../core/model.js';
import type { Clock, Message, RateCounter, Sender, Store } from '../core/ports.js';
import { constantTimeEqual, generateId, generateNumericToken, keyedHash, type RandomBytes } from '../core/secrets.js';
import {
  ERROR_LOCKED,
  earlyAnswer,
  lockAfterWrongGuess,
  precheckGuess,
  type TokenPolicy,
} from '../core/token-rules.js';
import { DeliveryLatency, sleep } from './latency.js';
import { enforceLimits } from './rate-limits.js';

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
  readonly store: Store;
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
}

export interface SendResult {
  readonly requestId: string | null;
  readonly status: 'SUCCESS' | 'FAILED';
  readonly errorMessage: string | null;
}

export const ERROR_UNKNOWN_USER = 'Unknown user.';
export const ERROR_NO_ADDRESS = 'The user has no address for this delivery type.';

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
    if (state.lockedUntil > now) return { requestId: null, status: 'FAILED', errorMessage: ERROR_LOCKED };

    const address = identity?.status === 'active' ? identity.attributes[route.attribute] : undefined;
    if (this.deps.explicitErrors && !address) {
      return { requestId: null, status: 'FAILED', errorMessage: identity?.status === 'active' ? ERROR_NO_ADDRESS : ERROR_UNKNOWN_USER };
    }

    // Without an address the verification is still recorded, with a token nobody receives, so that it
    // polls, expires and counts wrong guesses exactly like a real one.
    const id = generateId(this.deps.randomBytes);
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
      await sleep(this.latency.sample(route.channel));
      return { requestId, status: 'SUCCESS', errorMessage: null };
    }
    return this.deliver(requestId, route.channel, address, token, identity?.attributes['locale']);
  }

  private async deliver(requestId: string, channel: Channel, to: string, token: string, locale: string | undefined): Promise<SendResult> {
    const started = performance.now();
    try {
      await this.deps.sender.send(this.deps.compose({ channel, to, token, ttlSeconds: this.deps.policy.ttlSeconds, locale }));
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

  async authenticate(userAlias: string, deliveryType: DeliveryType, token: string): Promise<VerificationStatus> {
    const { store, clock, policy } = this.deps;
    const state = await store.tokenState(userAlias);
    const check = precheckGuess(state.lockedUntil, state.current, deliveryType, clock.now());
    if (check.kind !== 'open') return earlyAnswer(check);
    const v = check.verification;

    const now = clock.now();
    const guess = { verificationId: v.id, subject: userAlias, method: 'token' as const, guessHash: keyedHash(this.deps.hashKey, v.id, token), maxAttempts: policy.maxAttempts, now };

    if (constantTimeEqual(guess.guessHash, v.secretHash ?? '')) {
      if (!(await store.acceptCorrectGuess(guess))) return this.statusAfterRefusal(v.id);
      await store.clearFailures(userAlias, 'token');
      return 'SUCCESS';
    }

    const counted = await store.recordWrongGuess(guess, {
      windowMs: policy.failureWindowSeconds * 1000,
      maxFailures: policy.maxFailuresPerIdentity,
      lockoutMs: policy.lockoutSeconds * 1000,
    });
    // No try taken: out of tries, closed meanwhile, or the same guess again (a client retry), which costs nothing.
    if (!counted) return this.statusAfterRefusal(v.id);
    const lockUntil = lockAfterWrongGuess(counted.attemptsUsed, counted.failures.lockedUntil, policy, now);
    if (lockUntil === undefined) return 'FAILED';
    await Promise.all([store.lock(userAlias, 'token', lockUntil), store.completeVerification(v.id, 'LOCKOUT', ERROR_LOCKED, now)]);
    return 'LOCKOUT';
  }

  private async statusAfterRefusal(verificationId: string): Promise<VerificationStatus> {
    const latest = await this.deps.store.findVerification(verificationId);
    return latest?.status === 'LOCKOUT' ? 'LOCKOUT' : 'FAILED';
  }

}

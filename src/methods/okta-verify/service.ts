// The Okta Verify push method: starts a push through Okta's Factors API, answers polls from Okta's
// transaction status without multiplying calls to Okta, and tests a configuration.
import { badRequest, rateLimited } from '../../core/errors.js';
import type { Verification } from '../../core/model.js';
import {
  ERROR_OKTA_MISSING_FORWARDING,
  ERROR_OKTA_NO_USER,
  ERROR_OKTA_NO_PUSH_FACTOR,
  ERROR_OKTA_RATE_LIMITED,
  ERROR_OKTA_TRANSACTION_GONE,
  decodePushState,
  encodePushState,
  forwardedAddress,
  pickPushFactor,
  pushCounterKey,
  pushExpiresAt,
  pushedUserCounterKey,
  resultStatus,
  retryAfterSeconds,
} from '../../core/okta-verify.js';
import type { AuditSink, Clock, CounterStore, VerificationStore } from '../../core/ports.js';
import type { ProviderConfig } from '../../core/provider-config.js';
import type { RandomBytes } from '../../core/secrets.js';
import type { StatusView, VerificationResponse } from '../../core/verification.js';
import { ProviderError, type ProviderGateway } from '../../providers/gateway.js';
import type { ProviderFetch } from '../../providers/http.js';
import { OktaClient } from '../../providers/okta/client.js';
import type { ProviderConfigs, ProviderTestResult } from '../../services/provider-configs.js';
import { PollCoalescer, VerificationLifecycle, type LifecycleDeps } from '../lifecycle.js';

export interface OktaSettings {
  /** Pushes one Okta login may be sent within the window (push-bombing cap). */
  readonly pushesPerWindow: number;
  readonly pushWindowSeconds: number;
  /** Ask Okta for a number-matching challenge (MfaOktaConfig has no place for this switch). */
  readonly numberMatching: boolean;
  /** How long one answer from Okta serves every poll of the same verification. */
  readonly pollCacheMs: number;
}

export interface OktaVerifyDeps {
  readonly store: Pick<CounterStore, 'hitCounter'> & Pick<VerificationStore, 'providerState'> & LifecycleDeps['store'];
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly configs: ProviderConfigs;
  readonly gateway: ProviderGateway;
  readonly settings: OktaSettings;
  /** Sent to Okta as User-Agent on the push (the spec says push verification requires one). */
  readonly userAgent: string;
  /** Told when a push is sent, fails to start, or ends (seen by a poll); awaited, so a failure fails the request. */
  readonly audit?: AuditSink;
  /** The HTTP client (src/providers/http.ts); the strict one when not given. */
  readonly fetch?: ProviderFetch;
}

/** The spec's VerificationResponse, and the number to pick when Okta asked for number matching. */
export interface OktaVerifyAnswer extends VerificationResponse {
  readonly error: string;
  /** The number the person must pick in Okta Verify, with a number-matching challenge. */
  readonly correctAnswer?: number;
}

/** A 429 from Okta keeps answering from the cache at most this long, however long Okta asks to wait. */
const MAX_RATE_LIMIT_CACHE_MS = 30_000;
/** The poll cache is swept of stale entries once it holds this many. */
const CACHE_SWEEP_SIZE = 1000;

export class OktaVerifyService {
  private readonly lifecycle: VerificationLifecycle;
  /** One upstream question per verification at a time: concurrent polls share it. */
  private readonly polls = new PollCoalescer();
  private readonly recent = new Map<string, { readonly view: StatusView; readonly until: number }>();

  constructor(private readonly deps: OktaVerifyDeps) {
    this.lifecycle = new VerificationLifecycle('okta-verify', deps);
  }

  /** POST /mfa/okta-verify/verify: sends the push and answers at once; the outcome comes by poll. */
  async verify(clientId: string, userId: string, forwarding: string | string[] | undefined): Promise<OktaVerifyAnswer> {
    const { clock, settings } = this.deps;
    const address = forwardedAddress(forwarding);
    if (!address) throw badRequest(ERROR_OKTA_MISSING_FORWARDING);
    const login = userId.trim();
    if (!login) throw badRequest('The request is not valid.', ['body.userId: must not be empty']);

    const config = await this.deps.configs.usable('okta-verify');
    if (typeof config === 'string') return this.failed(clientId, login, config);

    await this.countPush(pushCounterKey(login));

    const client = this.client(config);
    let push: { oktaUserId: string; factorId: string; transaction: Awaited<ReturnType<OktaClient['verifyFactor']>> };
    try {
      const user = await client.getUser(login);
      const factor = pickPushFactor(await client.listFactors(user.id));
      if (!factor) return this.failed(clientId, login, ERROR_OKTA_NO_PUSH_FACTOR);
      // The cap that stops push bombing: Okta resolves a login, its short name and the user id alike.
      await this.countPush(pushedUserCounterKey(user.id));
      const transaction = await client.verifyFactor(user.id, factor.id, {
        xForwardedFor: address,
        userAgent: this.deps.userAgent,
        useNumberMatchingChallenge: settings.numberMatching,
      });
      push = { oktaUserId: user.id, factorId: factor.id, transaction };
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.details.code === 'E0000007' && err.details.status === 404) return this.failed(clientId, login, ERROR_OKTA_NO_USER);
      return this.failed(clientId, login, describe(err));
    }

    const { transaction } = push;
    if (transaction.factorResult !== 'WAITING') {
      return this.failed(clientId, login, resultStatus(transaction.factorResult).error ?? `Okta Verify push ended with ${transaction.factorResult}.`);
    }
    if (!transaction.transactionId) return this.failed(clientId, login, 'Okta started the push but gave no transaction to poll.');

    const requestId = await this.lifecycle.start({
      operation: 'verify',
      subject: login,
      clientId,
      expiresAt: pushExpiresAt(transaction.expiresAt, clock.now()),
      providerState: encodePushState({ oktaUserId: push.oktaUserId, factorId: push.factorId, transactionId: transaction.transactionId }),
      sent: 'push sent',
    });
    return {
      requestId,
      status: 'PENDING',
      error: '',
      ...(transaction.correctAnswer !== undefined ? { correctAnswer: transaction.correctAnswer } : {}),
    };
  }

  /** Counts one push on the counter; past the cap within the window, RATE_LIMITED (429 with Retry-After). */
  private async countPush(key: string): Promise<void> {
    const { store, clock, settings } = this.deps;
    const now = clock.now();
    const hit = await store.hitCounter(key, settings.pushWindowSeconds * 1000, now);
    if (hit.count > settings.pushesPerWindow) throw rateLimited(retryAfterSeconds(hit.resetAt - now));
  }

  /** The ProviderPoller: where a PENDING push stands, asking Okta at most once per verification at a time. */
  readonly poll = async (v: Verification): Promise<StatusView> => {
    const cached = this.recent.get(v.id);
    if (cached && cached.until > this.deps.clock.now()) return cached.view;
    return this.polls.share(v.id, () => this.askOkta(v));
  };

  /** The ProviderTester: lists one user, which needs a working org URL and an accepted API token. */
  readonly test = async (config: ProviderConfig): Promise<ProviderTestResult> => {
    if (!config.host || !config.accessKey) return { ok: false, reason: 'The Okta org (host) and API token (accessKey) are required.' };
    try {
      await this.client(config).listOneUser();
      return { ok: true };
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      return { ok: false, reason: describe(err) };
    }
  };

  private async askOkta(v: Verification): Promise<StatusView> {
    const { store } = this.deps;
    const state = decodePushState(await store.providerState(v.id));
    if (!state) return this.complete(v, { status: 'FAILED', error: 'The Okta push transaction was not recorded.' });
    const config = await this.deps.configs.usable('okta-verify');
    if (typeof config === 'string') return this.complete(v, { status: 'FAILED', error: config });
    try {
      const transaction = await this.client(config).getTransaction(state.oktaUserId, state.factorId, state.transactionId);
      const { final, ...view } = resultStatus(transaction.factorResult);
      return final ? this.complete(v, view) : this.remember(v.id, view, this.deps.settings.pollCacheMs);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.details.status === 404) return this.complete(v, { status: 'FAILED', error: ERROR_OKTA_TRANSACTION_GONE });
      if (err.details.status === 429) {
        // Okta asked us to slow down: the verification is not failed, and polls wait on the cache.
        const waitMs = Math.min(Math.max(this.deps.settings.pollCacheMs, err.details.retryAfterMs ?? 0), MAX_RATE_LIMIT_CACHE_MS);
        return this.remember(v.id, { status: 'PENDING', error: ERROR_OKTA_RATE_LIMITED }, waitMs);
      }
      return this.remember(v.id, { status: 'PENDING', error: `Could not ask Okta where the push stands: ${err.message}` }, this.deps.settings.pollCacheMs);
    }
  }

  /** Records a final outcome once; if another poller recorded one first, that one is the answer. */
  private async complete(v: Verification, view: StatusView): Promise<StatusView> {
    const completed = await this.lifecycle.complete(v, view);
    return completed.won ? this.remember(v.id, completed.view, this.deps.settings.pollCacheMs) : completed.view;
  }

  private remember(id: string, view: StatusView, forMs: number): StatusView {
    const now = this.deps.clock.now();
    if (this.recent.size >= CACHE_SWEEP_SIZE) {
      for (const [key, entry] of this.recent) if (entry.until <= now) this.recent.delete(key);
    }
    if (forMs > 0) this.recent.set(id, { view, until: now + forMs });
    return view;
  }

  /** A verification that failed before any push was sent, decided at once so that poll reports it too. */
  private async failed(clientId: string, login: string, reason: string): Promise<OktaVerifyAnswer> {
    const requestId = await this.lifecycle.decide({ operation: 'verify', subject: login, clientId, status: 'FAILED', error: reason });
    return { requestId, status: 'FAILED', error: reason };
  }

  private client(config: ProviderConfig): OktaClient {
    return new OktaClient(config.host ?? '', config.accessKey ?? '', this.deps.gateway, () => this.deps.clock.now(), this.deps.fetch);
  }
}

/** The reason shown to the caller for a provider failure. */
function describe(err: ProviderError): string {
  if (err.details.status === 429) {
    const wait = err.details.retryAfterMs === undefined ? '' : ` (Okta asks to wait ${retryAfterSeconds(err.details.retryAfterMs)} s)`;
    return `${err.message}${wait}`;
  }
  return err.message;
}

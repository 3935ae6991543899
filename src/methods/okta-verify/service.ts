// The Okta Verify push method: starts a push through Okta's Factors API, answers polls from Okta's
// transaction status without multiplying calls to Okta, and tests a configuration.
import { badRequest, rateLimited } from '../../core/errors.js';
import type { Verification, VerificationStatus } from '../../core/model.js';
import {
  ERROR_MISSING_FORWARDING,
  ERROR_NO_OKTA_USER,
  ERROR_NO_PUSH_FACTOR,
  ERROR_OKTA_RATE_LIMITED,
  ERROR_TRANSACTION_GONE,
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
import { auditOutcome } from '../../core/audit.js';
import type { AuditSink, Clock, Store } from '../../core/ports.js';
import type { ProviderConfig } from '../../core/provider-config.js';
import { generateId, type RandomBytes } from '../../core/secrets.js';
import { statusAt, type StatusView } from '../../core/verification.js';
import { ProviderError, type ProviderGateway } from '../../providers/gateway.js';
import type { ProviderFetch } from '../../providers/http.js';
import { OktaClient } from '../../providers/okta/client.js';
import type { ProviderConfigs, ProviderTestResult } from '../../services/provider-configs.js';

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
  readonly store: Store;
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

export interface OktaVerifyAnswer {
  readonly requestId: string;
  readonly status: VerificationStatus;
  readonly error: string;
  /** The number the person must pick in Okta Verify, with a number-matching challenge. */
  readonly correctAnswer?: number;
}

/** A 429 from Okta keeps answering from the cache at most this long, however long Okta asks to wait. */
const MAX_RATE_LIMIT_CACHE_MS = 30_000;
/** The poll cache is swept of stale entries once it holds this many. */
const CACHE_SWEEP_SIZE = 1000;

export class OktaVerifyService {
  /** One upstream question per verification at a time: concurrent polls share it. */
  private readonly inFlight = new Map<string, Promise<StatusView>>();
  private readonly recent = new Map<string, { readonly view: StatusView; readonly until: number }>();

  constructor(private readonly deps: OktaVerifyDeps) {}

  /** POST /mfa/okta-verify/verify: sends the push and answers at once; the outcome comes by poll. */
  async verify(clientId: string, userId: string, forwarding: string | string[] | undefined): Promise<OktaVerifyAnswer> {
    const { store, clock, settings } = this.deps;
    const address = forwardedAddress(forwarding);
    if (!address) throw badRequest(ERROR_MISSING_FORWARDING);
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
      if (!factor) return this.failed(clientId, login, ERROR_NO_PUSH_FACTOR);
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
      if (err.details.code === 'E0000007' && err.details.status === 404) return this.failed(clientId, login, ERROR_NO_OKTA_USER);
      return this.failed(clientId, login, describe(err));
    }

    const { transaction } = push;
    if (transaction.factorResult !== 'WAITING') {
      return this.failed(clientId, login, resultStatus(transaction.factorResult).error ?? `Okta Verify push ended with ${transaction.factorResult}.`);
    }
    if (!transaction.transactionId) return this.failed(clientId, login, 'Okta started the push but gave no transaction to poll.');

    const started = clock.now();
    const v = this.verification(clientId, login, 'PENDING', null, started, pushExpiresAt(transaction.expiresAt, started));
    await store.startProviderVerification(v, encodePushState({ oktaUserId: push.oktaUserId, factorId: push.factorId, transactionId: transaction.transactionId }));
    await this.deps.audit?.record({ method: 'okta-verify', operation: 'verify', alias: login, clientId, outcome: 'SENT', reason: 'push sent', requestId: v.id });
    return {
      requestId: v.id,
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
    let flight = this.inFlight.get(v.id);
    if (!flight) {
      flight = this.askOkta(v).finally(() => this.inFlight.delete(v.id));
      this.inFlight.set(v.id, flight);
    }
    return flight;
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
    if (!state) return this.finish(v, { status: 'FAILED', error: 'The Okta push transaction was not recorded.' });
    const config = await this.deps.configs.usable('okta-verify');
    if (typeof config === 'string') return this.finish(v, { status: 'FAILED', error: config });
    try {
      const transaction = await this.client(config).getTransaction(state.oktaUserId, state.factorId, state.transactionId);
      const { final, ...view } = resultStatus(transaction.factorResult);
      return final ? this.finish(v, view) : this.remember(v.id, view, this.deps.settings.pollCacheMs);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.details.status === 404) return this.finish(v, { status: 'FAILED', error: ERROR_TRANSACTION_GONE });
      if (err.details.status === 429) {
        // Okta asked us to slow down: the verification is not failed, and polls wait on the cache.
        const waitMs = Math.min(Math.max(this.deps.settings.pollCacheMs, err.details.retryAfterMs ?? 0), MAX_RATE_LIMIT_CACHE_MS);
        return this.remember(v.id, { status: 'PENDING', error: ERROR_OKTA_RATE_LIMITED }, waitMs);
      }
      return this.remember(v.id, { status: 'PENDING', error: `Could not ask Okta where the push stands: ${err.message}` }, this.deps.settings.pollCacheMs);
    }
  }

  /** Records a final outcome once; if another poller recorded one first, that one is the answer. */
  private async finish(v: Verification, view: StatusView): Promise<StatusView> {
    const now = this.deps.clock.now();
    const won = await this.deps.store.completeVerification(v.id, view.status, view.error, now);
    if (won) {
      await this.deps.audit?.record({ method: 'okta-verify', operation: 'poll', alias: v.subject, clientId: v.clientId, outcome: auditOutcome(view.status), reason: view.error, requestId: v.id });
      return this.remember(v.id, view, this.deps.settings.pollCacheMs);
    }
    const current = await this.deps.store.findVerification(v.id);
    return current ? statusAt(current, now) : view;
  }

  private remember(id: string, view: StatusView, forMs: number): StatusView {
    const now = this.deps.clock.now();
    if (this.recent.size >= CACHE_SWEEP_SIZE) {
      for (const [key, entry] of this.recent) if (entry.until <= now) this.recent.delete(key);
    }
    if (forMs > 0) this.recent.set(id, { view, until: now + forMs });
    return view;
  }

  /** A verification that failed before any push was sent, kept so that poll reports it too. */
  private async failed(clientId: string, login: string, reason: string): Promise<OktaVerifyAnswer> {
    const now = this.deps.clock.now();
    const v = this.verification(clientId, login, 'FAILED', reason, now, now);
    await this.deps.store.recordVerification(v);
    await this.deps.audit?.record({ method: 'okta-verify', operation: 'verify', alias: login, clientId, outcome: 'FAILED', reason, requestId: v.id });
    return { requestId: v.id, status: 'FAILED', error: reason };
  }

  private verification(clientId: string, login: string, status: VerificationStatus, error: string | null, now: number, expiresAt: number): Verification {
    return {
      id: generateId(this.deps.randomBytes),
      method: 'okta-verify',
      subject: login,
      clientId,
      deliveryType: null,
      secretHash: null,
      status,
      error,
      attempts: 0,
      createdAt: now,
      expiresAt,
      completedAt: status === 'PENDING' ? null : now,
    };
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

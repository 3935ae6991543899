// The RSA SecurID method: starts a verification (push approval, answered later by polling; or a
// tokencode, decided at once), polls a pending push, and tests a configuration. Outcomes follow NOTES §3's
// mapping (src/core/rsa.ts); provider failures become FAILED answers, never a 500.
import type { Verification, VerificationStatus } from '../../core/model.js';
import type { AuditSink, Clock, IdentityStore, VerificationStore } from '../../core/ports.js';
import type { ProviderConfig } from '../../core/provider-config.js';
import {
  RSA_APPROVE,
  ERROR_RSA_BAD_STATE,
  ERROR_RSA_FAILED,
  ERROR_RSA_NOT_AVAILABLE,
  RSA_SECURID,
  decodePushState,
  encodePushState,
  rsaInitializeOutcome,
  rsaMethodOffered,
  rsaPushStatus,
  rsaReferenceId,
  rsaSubjectName,
  rsaTokencodeStatus,
  type RsaAuthnResponse,
  type RsaPushState,
  type RsaStartMethod,
} from '../../core/rsa.js';
import type { RandomBytes } from '../../core/secrets.js';
import type { StatusView, VerificationResponse } from '../../core/verification.js';
import { ProviderError, type GatewayLogger, type ProviderGateway } from '../../providers/gateway.js';
import type { ProviderFetch } from '../../providers/http.js';
import { RsaClient } from '../../providers/rsa/client.js';
import type { ProviderConfigs, ProviderTestResult } from '../../services/provider-configs.js';
import { PollCoalescer, VerificationLifecycle, type LifecycleDeps } from '../lifecycle.js';

export interface RsaStartInput {
  readonly userId: string;
  readonly method: RsaStartMethod;
  readonly tokencode?: string;
}

export interface RsaServiceDeps {
  readonly store: Pick<IdentityStore, 'findIdentity'> & Pick<VerificationStore, 'providerState' | 'updateProviderState'> & LifecycleDeps['store'];
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly configs: ProviderConfigs;
  /** Shared by every call to RSA, so that its circuit sees them all. */
  readonly gateway: ProviderGateway;
  readonly logger?: GatewayLogger;
  /** Told of every decision and of pushes sent (never the tokencode); awaited, so a failure fails the request. */
  readonly audit?: AuditSink;
  /** The HTTP client (src/providers/http.ts); the strict one when not given. */
  readonly fetch?: ProviderFetch;
}

/** How long RSA keeps a push attempt open, and how long we poll it (seconds). Overridable per configuration. */
export const DEFAULT_ATTEMPT_TIMEOUT_SECONDS = 180;
/** The subject the configuration test asks RSA about when configProperties.testSubject is not set. */
export const DEFAULT_TEST_SUBJECT = 'mfa-controller-connection-test';

const text = (config: ProviderConfig, name: string): string | undefined => {
  const value = config.configProperties[name];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
};

function attemptTimeoutSeconds(config: ProviderConfig): number {
  const value = Number(config.configProperties['attemptTimeoutSeconds']);
  return Number.isInteger(value) && value >= 30 && value <= 900 ? value : DEFAULT_ATTEMPT_TIMEOUT_SECONDS;
}

function unreachable(err: unknown): string {
  return err instanceof ProviderError ? err.message : 'RSA SecurID could not be reached';
}

export class RsaService {
  private readonly lifecycle: VerificationLifecycle;
  /** One upstream poll per verification at a time; concurrent pollers share its answer. */
  private readonly polls = new PollCoalescer();

  constructor(private readonly deps: RsaServiceDeps) {
    this.lifecycle = new VerificationLifecycle('rsa', deps);
  }

  private client(config: ProviderConfig): RsaClient {
    return new RsaClient(
      { host: config.host ?? '', clientKey: config.accessKey ?? '', clientId: text(config, 'clientId') ?? '' },
      this.deps.gateway,
      this.deps.randomBytes,
      this.deps.fetch,
    );
  }

  /** POST /mfa/rsa/verify. */
  async start(clientId: string, input: RsaStartInput): Promise<VerificationResponse> {
    const usable = await this.deps.configs.usable('rsa');
    if (typeof usable === 'string') return this.decide(clientId, input.userId, 'FAILED', usable);

    const identity = await this.deps.store.findIdentity(input.userId);
    const subjectName = identity && identity.status === 'active' ? rsaSubjectName(identity.alias, identity.attributes, usable.identityAttribute) : undefined;
    // Unknown, disabled, or without the attribute: answered as RSA's own refusal would be.
    if (subjectName === undefined) return this.decide(clientId, input.userId, 'FAILED', ERROR_RSA_FAILED);

    const client = this.client(usable);
    const timeoutSeconds = attemptTimeoutSeconds(usable);
    const assurancePolicyId = text(usable, 'assurancePolicyId');
    let initialized: RsaAuthnResponse;
    try {
      initialized = await client.initialize({ subjectName, ...(assurancePolicyId ? { assurancePolicyId } : {}), authnAttemptTimeoutSeconds: timeoutSeconds });
    } catch (err) {
      return this.decide(clientId, input.userId, 'FAILED', unreachable(err));
    }
    const early = rsaInitializeOutcome(initialized);
    if (early) return this.decide(clientId, input.userId, early.status, early.error);
    const { authnAttemptId, messageId } = initialized.context;
    if (!authnAttemptId || !messageId) return this.decide(clientId, input.userId, 'FAILED', 'RSA SecurID answered without an attempt id.');

    if (input.method === RSA_SECURID) {
      if (!rsaMethodOffered(initialized, RSA_SECURID)) return this.decide(clientId, input.userId, 'FAILED', ERROR_RSA_FAILED);
      try {
        const verified = await client.verify(authnAttemptId, messageId, [
          { methodId: RSA_SECURID, collectedInputs: [{ name: RSA_SECURID, value: input.tokencode ?? '' }] },
        ]);
        const outcome = rsaTokencodeStatus(verified);
        return this.decide(clientId, input.userId, outcome.status, outcome.error);
      } catch (err) {
        return this.decide(clientId, input.userId, 'FAILED', unreachable(err));
      }
    }

    if (!rsaMethodOffered(initialized, RSA_APPROVE)) return this.decide(clientId, input.userId, 'FAILED', ERROR_RSA_NOT_AVAILABLE);
    let pushed: RsaAuthnResponse;
    try {
      pushed = await client.verify(authnAttemptId, messageId, [{ methodId: RSA_APPROVE, collectedInputs: [] }]);
    } catch (err) {
      return this.decide(clientId, input.userId, 'FAILED', unreachable(err));
    }
    const outcome = rsaPushStatus(pushed);
    if (outcome.status !== 'PENDING') return this.decide(clientId, input.userId, outcome.status, outcome.error);
    const state: RsaPushState = {
      authnAttemptId: pushed.context.authnAttemptId ?? authnAttemptId,
      messageId: pushed.context.messageId ?? messageId,
      referenceId: rsaReferenceId(pushed),
    };
    const requestId = await this.lifecycle.start({
      operation: 'verify',
      subject: input.userId,
      clientId,
      expiresAt: this.deps.clock.now() + timeoutSeconds * 1000,
      providerState: encodePushState(state),
      sent: 'push sent',
    });
    return { requestId, status: 'PENDING' };
  }

  /** The ProviderPoller of rsa: asks RSA about a pending push, once at a time per verification. */
  readonly poll = (v: Verification): Promise<StatusView> => this.polls.share(v.id, () => this.pollOnce(v));

  private async pollOnce(v: Verification): Promise<StatusView> {
    const state = decodePushState(await this.deps.store.providerState(v.id));
    if (!state) return this.complete(v, 'FAILED', ERROR_RSA_BAD_STATE);
    const usable = await this.deps.configs.usable('rsa');
    if (typeof usable === 'string') return this.complete(v, 'FAILED', usable);

    let answer: RsaAuthnResponse;
    try {
      answer = await this.client(usable).verify(state.authnAttemptId, state.messageId, [
        { methodId: RSA_APPROVE, ...(state.referenceId ? { referenceId: state.referenceId } : {}), collectedInputs: [] },
      ]);
    } catch (err) {
      // RSA failing is not the person's answer: keep waiting until the attempt expires. A refusal of
      // the request itself (the chain broken, the key revoked) ends the attempt; a rate limit does not.
      if (err instanceof ProviderError && !err.details.outage && err.details.status !== 429) return this.complete(v, 'FAILED', err.message);
      return { status: 'PENDING', error: unreachable(err) };
    }
    const outcome = rsaPushStatus(answer);
    if (outcome.status === 'PENDING') {
      const next: RsaPushState = {
        authnAttemptId: answer.context.authnAttemptId ?? state.authnAttemptId,
        messageId: answer.context.messageId ?? state.messageId,
        referenceId: rsaReferenceId(answer) ?? state.referenceId,
      };
      await this.deps.store.updateProviderState(v.id, encodePushState(next));
      return outcome;
    }
    return this.complete(v, outcome.status, outcome.error);
  }

  /** Records a final outcome; if another poller recorded one first, that one is the answer. */
  private async complete(v: Verification, status: VerificationStatus, error: string | null): Promise<StatusView> {
    return (await this.lifecycle.complete(v, { status, error })).view;
  }

  /** A verification decided at once, kept so that poll reports it too. */
  private async decide(clientId: string, subject: string, status: VerificationStatus, error: string | null): Promise<VerificationResponse> {
    const requestId = await this.lifecycle.decide({ operation: 'verify', subject, clientId, status, error });
    return error === null ? { requestId, status } : { requestId, status, error };
  }

  /**
   * The ProviderTester of rsa: an initialize for a probe subject. Any well-formed answer, even FAIL for a
   * subject RSA does not know, proves that the URL and the client key work.
   */
  readonly test = async (config: ProviderConfig): Promise<ProviderTestResult> => {
    const client = this.client(config);
    let answer: RsaAuthnResponse;
    try {
      answer = await client.initialize({ subjectName: text(config, 'testSubject') ?? DEFAULT_TEST_SUBJECT }, { probe: true });
    } catch (err) {
      return { ok: false, reason: unreachable(err) };
    }
    const attemptId = answer.context.authnAttemptId;
    if (attemptId && (answer.attemptResponseCode === 'CHALLENGE' || answer.attemptResponseCode === 'IN_PROCESS')) {
      // Leave no open attempt behind; a failure here does not change the verdict.
      await client.cancel(attemptId, 'USER_ACTION', { probe: true }).catch(() => undefined);
    }
    return { ok: true };
  };
}

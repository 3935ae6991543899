// The RSA SecurID method: starts a verification (push approval, answered later by polling; or a
// tokencode, decided at once), polls a pending push, and tests a configuration. Outcomes follow NOTES §3's
// mapping (src/core/rsa.ts); provider failures become FAILED answers, never a 500.
import { recordDecided } from '../lifecycle.js';
import type { Verification, VerificationStatus } from '../../core/model.js';
import { auditOutcome } from '../../core/audit.js';
import type { AuditSink, Clock, Store } from '../../core/ports.js';
import type { ProviderConfig } from '../../core/provider-config.js';
import {
  RSA_APPROVE,
  RSA_ERROR_BAD_STATE,
  RSA_ERROR_FAILED,
  RSA_ERROR_NOT_AVAILABLE,
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
import { generateId, type RandomBytes } from '../../core/secrets.js';
import type { StatusView } from '../../core/verification.js';
import { ProviderError, ProviderGateway, type GatewayLogger } from '../../providers/gateway.js';
import type { ProviderFetch } from '../../providers/http.js';
import { RsaClient } from '../../providers/rsa/client.js';
import type { ProviderConfigs, ProviderTestResult } from '../../services/provider-configs.js';

export interface RsaStartInput {
  readonly userId: string;
  readonly method: RsaStartMethod;
  readonly tokencode?: string;
}

/** The spec's VerificationResponse. */
export interface RsaVerificationResponse {
  readonly requestId: string;
  readonly status: VerificationStatus;
  readonly error?: string;
}

export interface RsaServiceDeps {
  readonly store: Store;
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
/** How long a decided (tokencode) verification stays pollable. */
const DECIDED_RETENTION_MS = 10 * 60 * 1000;
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
  /** One upstream poll per verification at a time; concurrent pollers share its answer. */
  private readonly inFlight = new Map<string, Promise<StatusView>>();

  constructor(private readonly deps: RsaServiceDeps) {}

  private client(config: ProviderConfig): RsaClient {
    return new RsaClient(
      { host: config.host ?? '', clientKey: config.accessKey ?? '', clientId: text(config, 'clientId') ?? '' },
      this.deps.gateway,
      this.deps.randomBytes,
      this.deps.fetch,
    );
  }

  /** POST /mfa/rsa/verify. */
  async start(clientId: string, input: RsaStartInput): Promise<RsaVerificationResponse> {
    const usable = await this.deps.configs.usable('rsa');
    if (typeof usable === 'string') return this.decided(clientId, input.userId, 'FAILED', usable);

    const identity = await this.deps.store.findIdentity(input.userId);
    const subjectName = identity && identity.status === 'active' ? rsaSubjectName(identity.alias, identity.attributes, usable.identityAttribute) : undefined;
    // Unknown, disabled, or without the attribute: answered as RSA's own refusal would be.
    if (subjectName === undefined) return this.decided(clientId, input.userId, 'FAILED', RSA_ERROR_FAILED);

    const client = this.client(usable);
    const timeoutSeconds = attemptTimeoutSeconds(usable);
    const assurancePolicyId = text(usable, 'assurancePolicyId');
    let initialized: RsaAuthnResponse;
    try {
      initialized = await client.initialize({ subjectName, ...(assurancePolicyId ? { assurancePolicyId } : {}), authnAttemptTimeoutSeconds: timeoutSeconds });
    } catch (err) {
      return this.decided(clientId, input.userId, 'FAILED', unreachable(err));
    }
    const early = rsaInitializeOutcome(initialized);
    if (early) return this.decided(clientId, input.userId, early.status, early.error);
    const { authnAttemptId, messageId } = initialized.context;
    if (!authnAttemptId || !messageId) return this.decided(clientId, input.userId, 'FAILED', 'RSA SecurID answered without an attempt id.');

    if (input.method === RSA_SECURID) {
      if (!rsaMethodOffered(initialized, RSA_SECURID)) return this.decided(clientId, input.userId, 'FAILED', RSA_ERROR_FAILED);
      try {
        const verified = await client.verify(authnAttemptId, messageId, [
          { methodId: RSA_SECURID, collectedInputs: [{ name: RSA_SECURID, value: input.tokencode ?? '' }] },
        ]);
        const outcome = rsaTokencodeStatus(verified);
        return this.decided(clientId, input.userId, outcome.status, outcome.error);
      } catch (err) {
        return this.decided(clientId, input.userId, 'FAILED', unreachable(err));
      }
    }

    if (!rsaMethodOffered(initialized, RSA_APPROVE)) return this.decided(clientId, input.userId, 'FAILED', RSA_ERROR_NOT_AVAILABLE);
    let pushed: RsaAuthnResponse;
    try {
      pushed = await client.verify(authnAttemptId, messageId, [{ methodId: RSA_APPROVE, collectedInputs: [] }]);
    } catch (err) {
      return this.decided(clientId, input.userId, 'FAILED', unreachable(err));
    }
    const outcome = rsaPushStatus(pushed);
    if (outcome.status !== 'PENDING') return this.decided(clientId, input.userId, outcome.status, outcome.error);
    const state: RsaPushState = {
      authnAttemptId: pushed.context.authnAttemptId ?? authnAttemptId,
      messageId: pushed.context.messageId ?? messageId,
      referenceId: rsaReferenceId(pushed),
    };
    const now = this.deps.clock.now();
    const requestId = generateId(this.deps.randomBytes);
    await this.deps.store.startProviderVerification(
      {
        id: requestId,
        method: 'rsa',
        subject: input.userId,
        clientId,
        deliveryType: null,
        secretHash: null,
        status: 'PENDING',
        error: null,
        attempts: 0,
        createdAt: now,
        expiresAt: now + timeoutSeconds * 1000,
        completedAt: null,
      },
      encodePushState(state),
    );
    await this.deps.audit?.record({ method: 'rsa', operation: 'verify', alias: input.userId, clientId, outcome: 'SENT', reason: 'push sent', requestId });
    return { requestId, status: 'PENDING' };
  }

  /** The ProviderPoller of rsa: asks RSA about a pending push, once at a time per verification. */
  readonly poll = (v: Verification): Promise<StatusView> => {
    const running = this.inFlight.get(v.id);
    if (running) return running;
    const polling = this.pollOnce(v).finally(() => this.inFlight.delete(v.id));
    this.inFlight.set(v.id, polling);
    return polling;
  };

  private async pollOnce(v: Verification): Promise<StatusView> {
    const state = decodePushState(await this.deps.store.providerState(v.id));
    if (!state) return this.complete(v, 'FAILED', RSA_ERROR_BAD_STATE);
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
    if (await this.deps.store.completeVerification(v.id, status, error, this.deps.clock.now())) {
      await this.deps.audit?.record({ method: 'rsa', operation: 'poll', alias: v.subject, clientId: v.clientId, outcome: auditOutcome(status), reason: error, requestId: v.id });
      return { status, error };
    }
    const current = await this.deps.store.findVerification(v.id);
    return current ? { status: current.status, error: current.error } : { status, error };
  }

  /** A verification decided at once, kept so that poll reports it too. */
  private async decided(clientId: string, subject: string, status: VerificationStatus, error: string | null): Promise<RsaVerificationResponse> {
    const requestId = await recordDecided(this.deps, { method: 'rsa', operation: 'verify', subject, clientId, status, error, retentionMs: DECIDED_RETENTION_MS });
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

/** The gateway every RSA call goes through. */
export function rsaGateway(clock: Clock, logger?: GatewayLogger, options?: ConstructorParameters<typeof ProviderGateway>[2]): ProviderGateway {
  return new ProviderGateway('RSA SecurID', clock, options, logger);
}

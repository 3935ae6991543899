// Duo Web v2: checks the signed response the Duo prompt gave back, signs requests for the prompt, and
// tests the configured keys against Duo's Auth API. See docs/duo.md.
import { APP_EXPIRE_SECONDS, isSignError, signRequest, verifyResponseDetailed } from '../../core/duo-web.js';
import type { Identity, VerificationStatus } from '../../core/model.js';
import type { AuditSink, Clock, CounterStore, IdentityStore } from '../../core/ports.js';
import { errorNotConfigured, type ProviderConfig } from '../../core/provider-config.js';
import { badRequest, notFound } from '../../core/errors.js';
import { constantTimeEqual, keyedHash, type RandomBytes } from '../../core/secrets.js';
import type { DuoAuthApi } from '../../providers/duo/auth-api.js';
import type { ProviderConfigs, ProviderTestResult } from '../../services/provider-configs.js';
import type { VerificationResponse } from '../../core/verification.js';
import { VerificationLifecycle, type LifecycleDeps } from '../lifecycle.js';

/** One answer for a bad signature, an expired response, another user's response and an unknown alias. */
export const ERROR_DUO_INVALID = 'The Duo response is not valid for this user.';
export const ERROR_DUO_REPLAYED = 'This Duo response was already used.';
const ERROR_DUO_NOT_CONFIGURED = errorNotConfigured('duo-web');

/** Compared against when the alias has no Duo username, so both paths do the same work. */
const NOBODY = '\u0000no-duo-user\u0000';

export interface DuoServiceDeps {
  readonly store: Pick<IdentityStore, 'findIdentity' | 'findIdentityById'> & Pick<CounterStore, 'hitCounter'> & LifecycleDeps['store'];
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly configs: ProviderConfigs;
  readonly authApi: DuoAuthApi;
  /** Key of the replay fingerprints (a keyed hash, so the database holds no usable response). */
  readonly replayKey: Buffer;
  /** Told of every outcome (never the signed response); awaited, so a failure fails the request. */
  readonly audit?: AuditSink;
}

interface DuoKeys {
  readonly host: string;
  readonly ikey: string;
  readonly skey: string;
  readonly akey: string;
  readonly identityAttribute: string;
}

function keysOf(config: ProviderConfig): DuoKeys | undefined {
  const { ikey, skey } = config.configProperties;
  if (typeof ikey !== 'string' || typeof skey !== 'string' || !config.host || !config.accessKey || !config.identityAttribute) return undefined;
  return { host: config.host, ikey, skey, akey: config.accessKey, identityAttribute: config.identityAttribute };
}

export class DuoService {
  private readonly lifecycle: VerificationLifecycle;

  constructor(private readonly deps: DuoServiceDeps) {
    this.lifecycle = new VerificationLifecycle('duo-web', deps);
  }

  /**
   * POST /mfa/duo-web/verify. `userId` names the identity by its alias or its id (identityFor); the Duo
   * username is read from the configured identity attribute. Every outcome is recorded, so poll can
   * report it, and is a value: malformed input is a FAILED answer, never an exception.
   */
  async verify(clientId: string, userId: string, signedResponse: string): Promise<VerificationResponse> {
    const { store, clock, configs } = this.deps;
    const usable = await configs.usable('duo-web');
    const keys = typeof usable === 'string' ? undefined : keysOf(usable);
    if (typeof usable === 'string' || !keys) {
      return this.decide(clientId, userId, null, 'FAILED', typeof usable === 'string' ? usable : ERROR_DUO_NOT_CONFIGURED);
    }

    const identity = await this.identityFor(userId);
    const duoUser = identity?.status === 'active' ? identity.attributes[keys.identityAttribute] : undefined;
    const now = clock.now();
    const verified = verifyResponseDetailed(keys.ikey, keys.skey, keys.akey, signedResponse, Math.floor(now / 1000));
    // The signature is checked whether or not the alias exists, and the user compared against a
    // placeholder when it does not: an unknown alias costs and answers the same as a bad signature.
    const sameUser = constantTimeEqual(verified?.user ?? '', duoUser || NOBODY);
    if (!verified || !duoUser || !sameUser) return this.decide(clientId, userId, null, 'FAILED', ERROR_DUO_INVALID);

    // Replay: Duo's AUTH part is unique to one authentication and valid until it expires. The first
    // success counts it in the store's shared counter (one atomic upsert); any later use finds count > 1.
    // Keyed on the AUTH part alone, since the APP part is ours and a fresh one can be had for the asking.
    const authPart = signedResponse.slice(0, signedResponse.indexOf(':'));
    const fingerprint = keyedHash(this.deps.replayKey, 'duo-web/auth', authPart);
    // Long enough to cover every earlier use: any use came after Duo signed the part, less than
    // DUO_EXPIRE before its expiry; an hour more absorbs clock skew between Duo and this server.
    const windowMs = Math.max(0, verified.expiresAtSeconds * 1000 - now) + APP_EXPIRE_SECONDS * 1000;
    const uses = await store.hitCounter(`duo-replay:${fingerprint}`, windowMs, now);
    if (uses.count > 1) return this.decide(clientId, userId, fingerprint, 'FAILED', ERROR_DUO_REPLAYED);
    return this.decide(clientId, userId, fingerprint, 'SUCCESS', null);
  }

  /**
   * POST /mfa/duo-web/sign-request (extension): the sig_request for the Duo prompt of this identity, and
   * the host the prompt talks to.
   */
  async signRequestFor(userId: string): Promise<{ signedRequest: string; host: string }> {
    const usable = await this.deps.configs.usable('duo-web');
    if (typeof usable === 'string') throw badRequest(usable);
    const keys = keysOf(usable);
    if (!keys) throw badRequest(ERROR_DUO_NOT_CONFIGURED);
    const identity = await this.identityFor(userId);
    const duoUser = identity?.status === 'active' ? identity.attributes[keys.identityAttribute] : undefined;
    if (!duoUser) throw notFound('No active identity with a Duo username for this userId.');
    const signed = signRequest(keys.ikey, keys.skey, keys.akey, duoUser, Math.floor(this.deps.clock.now() / 1000));
    if (isSignError(signed)) throw badRequest('The Duo request could not be signed.', [signed.slice('ERR|'.length)]);
    return { signedRequest: signed, host: keys.host };
  }

  /** GET /mfa/duo-web/test: Duo's `/auth/v2/check` with the configured host and keys. */
  readonly test = async (config: ProviderConfig): Promise<ProviderTestResult> => {
    const keys = keysOf(config);
    if (!keys) return { ok: false, reason: ERROR_DUO_NOT_CONFIGURED };
    return this.deps.authApi.check({ host: keys.host, ikey: keys.ikey, skey: keys.skey });
  };

  /**
   * The identity a Duo `userId` names: its alias in this service, or its id, as SailPoint callers send
   * it (the spec's example is a 32-hex identity id). When a string is the alias of one identity and the
   * id of another, the alias wins: what callers sent before ids were accepted keeps its meaning (see
   * docs/duo.md). Both are looked up every time, so the time taken does not say which one matched.
   */
  private async identityFor(userId: string): Promise<Identity | undefined> {
    const [byAlias, byId] = await Promise.all([this.deps.store.findIdentity(userId), this.deps.store.findIdentityById(userId)]);
    return byAlias ?? byId;
  }

  /** Every outcome is decided at once and recorded, so that poll reports it. */
  private async decide(clientId: string, subject: string, secretHash: string | null, status: VerificationStatus, error: string | null): Promise<VerificationResponse> {
    const requestId = await this.lifecycle.decide({ operation: 'verify', subject, clientId, status, error, secretHash });
    return { requestId, status, error };
  }
}

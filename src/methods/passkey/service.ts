// The passkey method: registration and authentication ceremonies for an identity (through the API, for
// applications with their own front end, and through the hosted verification page), and the passkeys an
// identity holds. Every ceremony is one challenge, bound to its request id and answered once.
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { auditOutcome, type AuditOperation } from '../../core/audit.js';
import { ServiceError, badRequest, forbidden, notFound } from '../../core/errors.js';
import type { FactorChangeRule } from '../../services/factor-change.js';
import type { Identity, VerificationStatus } from '../../core/model.js';
import type { AuditSink, Clock, Store } from '../../core/ports.js';
import { generateRequestId, keyedHash, type RandomBytes } from '../../core/secrets.js';
import { UNKNOWN_REQUEST, statusAt } from '../../core/verification.js';
import {
  ERROR_ALREADY_REGISTERED,
  ERROR_ANSWERED,
  ERROR_CHANGE_LOCKED,
  ERROR_CHANGE_NEEDS_PROOF,
  ERROR_CLONED,
  ERROR_LINK_UNUSABLE,
  ERROR_NOT_ACCEPTED,
  ERROR_REGISTRATION_UNKNOWN,
  ERROR_RETURN_URL,
  MAX_NAME_LENGTH,
  allowedReturnUrl,
  cleanName,
  decideSignCount,
  defaultName,
  returnUrlWithRequestId,
  type PasskeySettings,
} from './core.js';
import type { Ceremony, PasskeyStore, StoredPasskey } from './store.js';

export interface PasskeyServiceDeps {
  readonly store: Pick<Store, 'findIdentity' | 'findIdentityById' | 'findVerification' | 'recordVerification' | 'completeVerification'>;
  readonly passkeys: PasskeyStore;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly settings: PasskeySettings;
  /** Keys the hashes of hosted verification URLs' tokens. */
  readonly urlKey: Buffer;
  /** How recent a successful verification must be to add a passkey beside another factor, or to remove one. */
  readonly factorChange: FactorChangeRule;
  /** Whether the identity has a factor of another kind (security answers, an authenticator app). */
  readonly hasOtherFactor: (identity: Identity) => Promise<boolean>;
  /** Told of every start and decision; awaited, so a failure fails the request. */
  readonly audit?: AuditSink;
}

export interface CeremonyStart<Options> {
  readonly requestId: string;
  readonly options: Options;
}

export interface RegistrationResult {
  readonly registered: boolean;
  readonly credentialId: string | null;
  readonly error?: string;
}

export interface AuthenticationResult {
  readonly requestId: string;
  readonly status: VerificationStatus;
  readonly error: string | null;
  /** Whose passkey answered, on SUCCESS (the portal signs that identity in); null otherwise. */
  readonly identityId: string | null;
}

export interface HostedResult {
  readonly status: VerificationStatus;
  /** Where the page sends the person next, with the request id added; absent without a return URL. */
  readonly returnUrl?: string;
}

/** A passkey as its owner sees it. */
export interface PasskeyView {
  readonly credentialId: string;
  readonly name: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  /** Synced to other devices (a multi-device passkey) and backed up. */
  readonly backedUp: boolean;
  readonly deviceType: 'singleDevice' | 'multiDevice';
}

const view = (p: StoredPasskey): PasskeyView => ({
  credentialId: p.id,
  name: p.name,
  createdAt: p.createdAt,
  lastUsedAt: p.lastUsedAt,
  backedUp: p.backedUp,
  deviceType: p.deviceType,
});

/** The path of the hosted page under the public URL; its token travels in the fragment, never to a log. */
export const HOSTED_PAGE_PATH = '/mfa/passkey/verify';

type Verdict = { readonly status: 'SUCCESS'; readonly identityId: string } | { readonly status: 'FAILED'; readonly error: string };

export class PasskeyService {
  constructor(private readonly deps: PasskeyServiceDeps) {}

  private get requireUserVerification(): boolean {
    return this.deps.settings.userVerification === 'required';
  }

  /** A fresh 32-byte challenge from the injected source. */
  private challenge(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.deps.randomBytes(32));
  }

  // registration

  /** Options for adding a passkey to `identity` (the factor-change rule applies when it has a factor already). */
  async registrationOptions(identity: Identity, clientId: string): Promise<CeremonyStart<PublicKeyCredentialCreationOptionsJSON>> {
    const { settings, passkeys, clock } = this.deps;
    const existing = await passkeys.listPasskeys(identity.id);
    await this.checkFactorChange(identity, existing.length > 0 || (await this.deps.hasOtherFactor(identity)));
    if (existing.length >= settings.maxPerIdentity) throw this.full();
    // One user handle per identity: random (never the identity's id or alias), reused for every passkey.
    const userHandle = existing[0]?.userHandle ?? isoBase64URL.fromBuffer(new Uint8Array(this.deps.randomBytes(32)));
    const options = await generateRegistrationOptions({
      rpName: settings.rpName,
      rpID: settings.rpId,
      userName: identity.alias,
      userDisplayName: identity.attributes['displayName'] ?? identity.alias,
      userID: isoBase64URL.toBuffer(userHandle),
      challenge: this.challenge(),
      timeout: settings.ttlSeconds * 1000,
      attestationType: 'none',
      // A passkey is discoverable: authentication asks for no credential list (see authenticationOptions).
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: settings.userVerification },
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: [...p.transports] })),
    });
    const now = clock.now();
    const requestId = generateRequestId(this.deps.randomBytes, now);
    await passkeys.startCeremony(
      { requestId, kind: 'registration', clientId, identityId: identity.id, challenge: options.challenge, userHandle, urlHash: null, returnUrl: null, createdAt: now, expiresAt: now + settings.ttlSeconds * 1000, usedAt: null },
      now,
    );
    return { requestId, options };
  }

  /** Checks the authenticator's answer to `requestId` and stores the passkey under `name` (or "Passkey N"). */
  async verifyRegistration(identity: Identity, clientId: string, requestId: string, response: RegistrationResponseJSON, name?: string): Promise<RegistrationResult> {
    const { settings, passkeys, clock } = this.deps;
    const given = name === undefined ? undefined : cleanName(name);
    if (name !== undefined && given === undefined) throw badRequest(`The name must be 1 to ${MAX_NAME_LENGTH} characters, without control characters.`);
    const ceremony = await passkeys.consumeCeremony({ requestId, kind: 'registration', clientId, hosted: false, identityId: identity.id }, clock.now());
    if (!ceremony) return { registered: false, credentialId: null, error: ERROR_REGISTRATION_UNKNOWN };
    // Again at the answer: the proof may have aged, or another factor been added, since the options.
    const existing = await passkeys.listPasskeys(identity.id);
    const first = !(existing.length > 0 || (await this.deps.hasOtherFactor(identity)));
    await this.checkFactorChange(identity, !first);

    let credential;
    try {
      const verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: ceremony.challenge,
        expectedOrigin: [...settings.origins],
        expectedRPID: settings.rpId,
        requireUserVerification: this.requireUserVerification,
      });
      if (!verified.verified) return { registered: false, credentialId: null, error: ERROR_NOT_ACCEPTED };
      credential = verified.registrationInfo;
    } catch {
      return { registered: false, credentialId: null, error: ERROR_NOT_ACCEPTED };
    }
    const passkey: StoredPasskey = {
      id: credential.credential.id,
      identityId: identity.id,
      name: given ?? defaultName(existing.map((p) => p.name)),
      publicKey: isoBase64URL.fromBuffer(credential.credential.publicKey),
      signCount: credential.credential.counter,
      userHandle: ceremony.userHandle ?? '',
      transports: credential.credential.transports ?? [],
      deviceType: credential.credentialDeviceType,
      backedUp: credential.credentialBackedUp,
      createdAt: clock.now(),
      lastUsedAt: null,
    };
    const rule = { maxPerIdentity: settings.maxPerIdentity, onlyIfNone: first };
    let outcome = await passkeys.addPasskey(passkey, rule);
    // A first passkey is stored only while it is the first; when another landed meanwhile, this one is
    // an addition beside a factor and goes through the rule again.
    if (outcome === 'not-first') {
      await this.checkFactorChange(identity, true);
      outcome = await passkeys.addPasskey(passkey, { ...rule, onlyIfNone: false });
    }
    if (outcome === 'full') throw this.full();
    if (outcome === 'duplicate') return { registered: false, credentialId: null, error: ERROR_ALREADY_REGISTERED };
    return { registered: true, credentialId: passkey.id };
  }

  // authentication through the API

  /**
   * Starts a verification of `userAlias` and answers its options. The options never list credentials
   * (allowCredentials is empty: the authenticator offers its discoverable passkeys), so they read the
   * same for an unknown alias, a known one without passkeys, and one with several (docs/passkeys.md).
   */
  async authenticationOptions(clientId: string, userAlias: string): Promise<CeremonyStart<PublicKeyCredentialRequestOptionsJSON>> {
    const { requestId, ceremony } = await this.openVerification(clientId, userAlias, null, null);
    return { requestId, options: await this.requestOptions(ceremony) };
  }

  /**
   * Checks an assertion for `requestId` (one answer per request: a second one, a replay, is refused).
   * `subjects`, when given, are the only verifications visible (a token acting for an identity).
   */
  async authenticate(clientId: string, requestId: string, response: AuthenticationResponseJSON, subjects?: readonly string[]): Promise<AuthenticationResult> {
    const v = await this.deps.store.findVerification(requestId);
    if (!v || v.clientId !== clientId || v.method !== 'passkey' || (subjects && !subjects.includes(v.subject))) {
      return { requestId, ...UNKNOWN_REQUEST, identityId: null };
    }
    const ceremony = await this.deps.passkeys.consumeCeremony({ requestId, kind: 'authentication', clientId, hosted: false }, this.deps.clock.now());
    if (!ceremony) {
      // Answered already (a replay) or expired: refused, and the verification keeps its own outcome.
      await this.record('authenticate', v.subject, clientId, 'FAILED', ERROR_ANSWERED, requestId);
      return { requestId, status: 'FAILED', error: ERROR_ANSWERED, identityId: null };
    }
    return this.decide(ceremony, v.subject, response, [...this.deps.settings.origins], 'authenticate');
  }

  // hosted verification

  /** Starts a verification answered on the hosted page at `verificationUrl`; `returnUrl` must be on the allow-list. */
  async startHosted(clientId: string, userAlias: string, returnUrl?: string): Promise<{ requestId: string; verificationUrl: string }> {
    let back: URL | undefined;
    if (returnUrl !== undefined) {
      back = allowedReturnUrl(this.deps.settings.returnUrls, returnUrl);
      if (!back) throw badRequest(ERROR_RETURN_URL);
    }
    const token = this.deps.randomBytes(32).toString('base64url');
    const { requestId } = await this.openVerification(clientId, userAlias, this.urlHash(token), back?.toString() ?? null);
    return { requestId, verificationUrl: `${this.deps.settings.pageBase}${HOSTED_PAGE_PATH}#${token}` };
  }

  /** The options the hosted page runs, for the token of its URL; 404 once it is used or expired. */
  async hostedOptions(token: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const ceremony = await this.deps.passkeys.findCeremonyByUrl(this.urlHash(token));
    if (!ceremony || ceremony.usedAt !== null || ceremony.expiresAt <= this.deps.clock.now()) throw notFound(ERROR_LINK_UNUSABLE);
    return this.requestOptions(ceremony);
  }

  /** Checks the hosted page's assertion; the URL is used up by it, whatever the outcome. */
  async completeHosted(token: string, response: AuthenticationResponseJSON): Promise<HostedResult> {
    const { passkeys, clock, store } = this.deps;
    const found = await passkeys.findCeremonyByUrl(this.urlHash(token));
    const ceremony = found && (await passkeys.consumeCeremony({ requestId: found.requestId, kind: 'authentication', clientId: found.clientId, hosted: true }, clock.now()));
    const v = ceremony && (await store.findVerification(ceremony.requestId));
    if (!ceremony || !v) throw notFound(ERROR_LINK_UNUSABLE);
    const { status } = await this.decide(ceremony, v.subject, response, [this.deps.settings.pageOrigin], 'verify');
    return ceremony.returnUrl === null ? { status } : { status, returnUrl: returnUrlWithRequestId(new URL(ceremony.returnUrl), ceremony.requestId) };
  }

  // the passkeys an identity holds

  async list(identity: Identity): Promise<PasskeyView[]> {
    return (await this.deps.passkeys.listPasskeys(identity.id)).map(view);
  }

  async rename(identity: Identity, credentialId: string, name: string): Promise<PasskeyView> {
    const cleaned = cleanName(name);
    if (cleaned === undefined) throw badRequest(`The name must be 1 to ${MAX_NAME_LENGTH} characters, without control characters.`);
    if (!(await this.deps.passkeys.renamePasskey(identity.id, credentialId, cleaned))) throw notFound('The identity has no passkey with this credential id.');
    const renamed = await this.deps.passkeys.findPasskey(credentialId);
    if (!renamed) throw notFound('The identity has no passkey with this credential id.');
    return view(renamed);
  }

  /** Removes a passkey: a factor change, so it needs a recent successful verification. */
  async remove(identity: Identity, credentialId: string): Promise<void> {
    await this.checkFactorChange(identity, true);
    if (!(await this.deps.passkeys.removePasskey(identity.id, credentialId))) throw notFound('The identity has no passkey with this credential id.');
  }

  // the steps

  private urlHash(token: string): string {
    return keyedHash(this.deps.urlKey, 'passkey-hosted-url', token);
  }

  private full(): ServiceError {
    return new ServiceError('CONFLICT', `An identity can hold at most ${this.deps.settings.maxPerIdentity} passkeys; remove one first.`);
  }

  /** A PENDING verification of `userAlias` with its ceremony; the alias need not name anyone. */
  private async openVerification(clientId: string, userAlias: string, urlHash: string | null, returnUrl: string | null): Promise<{ requestId: string; ceremony: Ceremony }> {
    const { store, passkeys, clock, settings } = this.deps;
    const identity = await store.findIdentity(userAlias);
    const now = clock.now();
    const requestId = generateRequestId(this.deps.randomBytes, now);
    const expiresAt = now + settings.ttlSeconds * 1000;
    const ceremony: Ceremony = {
      requestId,
      kind: 'authentication',
      clientId,
      identityId: identity?.status === 'active' ? identity.id : null,
      challenge: isoBase64URL.fromBuffer(this.challenge()),
      userHandle: null,
      urlHash,
      returnUrl,
      createdAt: now,
      expiresAt,
      usedAt: null,
    };
    await passkeys.startCeremony(ceremony, now);
    await store.recordVerification({
      id: requestId,
      method: 'passkey',
      subject: userAlias,
      clientId,
      deliveryType: null,
      secretHash: null,
      status: 'PENDING',
      error: null,
      attempts: 0,
      createdAt: now,
      expiresAt,
      completedAt: null,
    });
    await this.record('send', userAlias, clientId, 'PENDING', null, requestId);
    return { requestId, ceremony };
  }

  private requestOptions(ceremony: Ceremony): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return generateAuthenticationOptions({
      rpID: this.deps.settings.rpId,
      challenge: isoBase64URL.toBuffer(ceremony.challenge),
      timeout: Math.max(1000, ceremony.expiresAt - this.deps.clock.now()),
      userVerification: this.deps.settings.userVerification,
      allowCredentials: [],
    });
  }

  /** Decides a consumed ceremony's verification, records it, and answers. */
  private async decide(ceremony: Ceremony, subject: string, response: AuthenticationResponseJSON, origins: string[], operation: AuditOperation): Promise<AuthenticationResult> {
    const { store, clock } = this.deps;
    const verdict = await this.check(ceremony, response, origins);
    const error = verdict.status === 'SUCCESS' ? null : verdict.error;
    if (!(await store.completeVerification(ceremony.requestId, verdict.status, error, clock.now()))) {
      // Expired in between: the verification's own outcome stands.
      const current = await store.findVerification(ceremony.requestId);
      const shown = current ? statusAt(current, clock.now()) : UNKNOWN_REQUEST;
      return { requestId: ceremony.requestId, ...shown, identityId: null };
    }
    await this.record(operation, subject, ceremony.clientId, verdict.status, error, ceremony.requestId);
    return { requestId: ceremony.requestId, status: verdict.status, error, identityId: verdict.status === 'SUCCESS' ? verdict.identityId : null };
  }

  /**
   * Whether the assertion is a passkey of the ceremony's identity answering its challenge, from an
   * allowed origin, with user verification (by default), and a counter that moved forward. Every
   * refusal but the counter's reads the same, whoever the alias named.
   */
  private async check(ceremony: Ceremony, response: AuthenticationResponseJSON, origins: string[]): Promise<Verdict> {
    const { store, passkeys, settings, clock } = this.deps;
    const refused: Verdict = { status: 'FAILED', error: ERROR_NOT_ACCEPTED };
    // The same reads whether the alias named anyone, so an unknown alias is not answered sooner.
    const [identity, passkey] = await Promise.all([store.findIdentityById(ceremony.identityId ?? ''), passkeys.findPasskey(response.id)]);
    if (!identity || identity.status !== 'active' || !passkey || passkey.identityId !== identity.id) return refused;
    const userHandle = response.response.userHandle;
    if (userHandle !== undefined && userHandle !== passkey.userHandle) return refused;
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: ceremony.challenge,
        expectedOrigin: origins,
        expectedRPID: settings.rpId,
        // The counter is judged below, after the signature: a forged assertion must not count as evidence of a copy.
        credential: { id: passkey.id, publicKey: isoBase64URL.toBuffer(passkey.publicKey), counter: 0, transports: [...passkey.transports] },
        requireUserVerification: this.requireUserVerification,
      });
    } catch {
      return refused;
    }
    if (!verified.verified) return refused;
    const presented = verified.authenticationInfo.newCounter;
    if (decideSignCount(passkey.signCount, presented) === 'cloned') return { status: 'FAILED', error: ERROR_CLONED };
    // The counter moves only from the value judged above: a concurrent use that moved it first wins.
    if (!(await passkeys.recordUse(passkey.id, passkey.signCount, presented, verified.authenticationInfo.credentialBackedUp, clock.now()))) {
      return { status: 'FAILED', error: ERROR_CLONED };
    }
    return { status: 'SUCCESS', identityId: identity.id };
  }

  /**
   * The factor-change rule (docs/security.md): adding a passkey beside a factor the identity has, or
   * removing one, needs a recent successful verification of it, and never happens during a lockout.
   */
  private async checkFactorChange(identity: Identity, hasFactor: boolean): Promise<void> {
    const decision = await this.deps.factorChange.decide(identity, hasFactor);
    if (decision.kind === 'locked') throw forbidden(ERROR_CHANGE_LOCKED);
    if (decision.kind === 'needs-recent-verification') throw forbidden(ERROR_CHANGE_NEEDS_PROOF);
  }

  private async record(operation: AuditOperation, alias: string, clientId: string, status: VerificationStatus, reason: string | null, requestId: string): Promise<void> {
    await this.deps.audit?.record({ method: 'passkey', operation, alias, clientId, outcome: auditOutcome(status), reason, requestId });
  }
}

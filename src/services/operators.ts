// The console's operators (docs/console.md): created from the command line with a single-use enrolment
// link, enrolled and signed in with passkeys only, and their sessions. Ceremonies are one challenge each,
// stored until answered once; sessions are random secrets kept only as keyed hashes, as the portal's are.
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
import { maskAddress } from '../core/audit.js';
import { badRequest } from '../core/errors.js';
import type { OperatorSession, OperatorStore } from '../core/operator-store.js';
import {
  CONSOLE_CEREMONY_TTL_MS,
  CONSOLE_SESSION_TIMEOUTS,
  ENROLMENT_TTL_MS,
  cleanOperatorEmail,
  enrolmentHash,
  enrolmentLink,
  isEnrolmentTokenShape,
  newEnrolmentToken,
  operatorActor,
  type Operator,
  type OperatorRole,
} from '../core/operator.js';
import { csrfTokenFor, csrfTokenMatches, isSessionSecretShape, liveCutoffs, newSessionSecret, sessionIdHash, type CsrfScope } from '../core/portal-session.js';
import type { AuditSink, Clock, Message, Sender } from '../core/ports.js';
import { generateId, type RandomBytes } from '../core/secrets.js';
import { decideSignCount, type PasskeySettings } from '../methods/passkey/core.js';

export interface OperatorsDeps {
  readonly operators: OperatorStore;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  /** The relying party and origins of the service's pages (the passkey method's settings). */
  readonly passkey: Pick<PasskeySettings, 'rpId' | 'rpName' | 'pageOrigin' | 'userVerification'>;
  readonly publicUrl: string;
  /** Keys derived from the master secret: enrolment links, session hashes, form tokens. */
  readonly enrolmentKey: Buffer;
  readonly sessionKey: Buffer;
  readonly csrfKey: Buffer;
  readonly sender?: Sender;
  readonly audit: AuditSink;
  readonly onDeliveryError?: (err: unknown) => void;
}

export interface CreatedOperator {
  readonly operator: Operator;
  /** Works once, within ENROLMENT_TTL_MS; shown only to whoever ran the command. */
  readonly link: string;
  readonly expiresAt: number;
  readonly sentTo: string;
  readonly delivered: boolean;
}

/** A signed-in console session, as a request sees it. */
export interface ConsoleSession {
  readonly idHash: string;
  readonly operator: Operator;
  /** What every form of this session carries. */
  readonly csrfToken: string;
}

export const ERROR_LINK_UNUSABLE = 'This enrolment link has expired or has already been used.';
export const ERROR_PASSKEY_REFUSED = 'The passkey was not accepted.';

const PRUNE_PER_SIGN_IN = 100;
/** More than one per ceremony started, so expired rows never outgrow new ones. */
const PRUNE_PER_CEREMONY = 4;

/** The challenge an authenticator signed, read from its client data (the verification then checks it is that one). */
function challengeOf(response: { response?: { clientDataJSON?: unknown } }): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(String(response.response?.clientDataJSON ?? ''), 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' && data.challenge.length <= 200 ? data.challenge : undefined;
  } catch {
    return undefined;
  }
}

export class Operators {
  constructor(private readonly deps: OperatorsDeps) {}

  /** Adds the operator (or gives an existing one the role) and sends a new enrolment link; earlier links stop working. */
  async create(emailText: string, role: OperatorRole): Promise<CreatedOperator> {
    const { operators, clock, randomBytes } = this.deps;
    const email = cleanOperatorEmail(emailText);
    if (!email) throw badRequest('The email address is not valid.');
    const now = clock.now();
    const operator = await operators.upsertOperator({ id: generateId(randomBytes), email, role, createdAt: now });
    const token = newEnrolmentToken(randomBytes);
    const expiresAt = now + ENROLMENT_TTL_MS;
    await operators.addEnrolment(enrolmentHash(this.deps.enrolmentKey, token), operator.id, expiresAt);
    const link = enrolmentLink(this.deps.publicUrl, token);
    let delivered = false;
    if (this.deps.sender) {
      try {
        await this.deps.sender.send(enrolmentMessage(email, link));
        delivered = true;
      } catch (err) {
        this.deps.onDeliveryError?.(err);
      }
    }
    await this.deps.audit.record({ method: 'console', operation: 'change', alias: email, clientId: 'operator', outcome: 'SUCCESS', reason: `operator created or renewed (${role}); enrolment link issued`, requestId: null });
    return { operator, link, expiresAt, sentTo: maskAddress(email), delivered };
  }

  list(): Promise<Operator[]> {
    return this.deps.operators.listOperators();
  }

  // enrolment

  /** Options to register a passkey for the link's operator; undefined when the link is unusable. */
  async enrolmentOptions(token: unknown): Promise<PublicKeyCredentialCreationOptionsJSON | undefined> {
    const { operators, clock, passkey } = this.deps;
    if (!isEnrolmentTokenShape(token)) return undefined;
    const operatorId = await operators.peekEnrolment(enrolmentHash(this.deps.enrolmentKey, token), clock.now());
    const operator = operatorId === undefined ? undefined : await operators.findOperator(operatorId);
    if (!operator) return undefined;
    const existing = await operators.listPasskeys(operator.id);
    const options = await generateRegistrationOptions({
      rpName: passkey.rpName,
      rpID: passkey.rpId,
      userName: operator.email,
      userDisplayName: `${operator.email} (console)`,
      userID: new Uint8Array(this.deps.randomBytes(32)),
      challenge: new Uint8Array(this.deps.randomBytes(32)),
      timeout: CONSOLE_CEREMONY_TTL_MS,
      attestationType: 'none',
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      excludeCredentials: existing.map((p) => ({ id: p.id })),
    });
    await this.addCeremony(options.challenge, 'enrol', operator.id);
    return options;
  }

  /** Checks the new passkey, uses the link up, stores the passkey: the session secret of the signed-in operator, or an error text. */
  async enrol(token: unknown, response: RegistrationResponseJSON): Promise<{ secret: string } | { error: string }> {
    const { operators, clock, passkey } = this.deps;
    if (!isEnrolmentTokenShape(token)) return { error: ERROR_LINK_UNUSABLE };
    const challenge = challengeOf(response);
    const ceremony = challenge === undefined ? undefined : await operators.consumeCeremony(challenge, 'enrol', clock.now());
    if (!ceremony?.operatorId) return { error: ERROR_PASSKEY_REFUSED };
    let info;
    try {
      const verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge!, expectedOrigin: passkey.pageOrigin, expectedRPID: passkey.rpId, requireUserVerification: true });
      if (!verified.verified) return { error: ERROR_PASSKEY_REFUSED };
      info = verified.registrationInfo;
    } catch {
      return { error: ERROR_PASSKEY_REFUSED };
    }
    // The link is used up here, once: of two enrolments racing with one link, one stores its passkey.
    const operatorId = await operators.redeemEnrolment(enrolmentHash(this.deps.enrolmentKey, token), clock.now());
    if (operatorId === undefined || operatorId !== ceremony.operatorId) return { error: ERROR_LINK_UNUSABLE };
    const stored = await operators.addPasskey({
      id: info.credential.id,
      operatorId,
      publicKey: isoBase64URL.fromBuffer(info.credential.publicKey),
      signCount: info.credential.counter,
      transports: info.credential.transports ?? [],
      createdAt: clock.now(),
    });
    if (!stored) return { error: ERROR_PASSKEY_REFUSED };
    return { secret: await this.startSession(operatorId) };
  }

  // sign-in

  /** Options naming no credential: the authenticator offers its discoverable passkeys. */
  async signInOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: this.deps.passkey.rpId,
      challenge: new Uint8Array(this.deps.randomBytes(32)),
      timeout: CONSOLE_CEREMONY_TTL_MS,
      userVerification: 'required',
      allowCredentials: [],
    });
    await this.addCeremony(options.challenge, 'sign-in', null);
    return options;
  }

  /** Checks the assertion against its one challenge: the new session's secret, or undefined when refused. */
  async signIn(response: AuthenticationResponseJSON): Promise<string | undefined> {
    const { operators, clock, passkey } = this.deps;
    const challenge = challengeOf(response);
    if (challenge === undefined || typeof response.id !== 'string') return undefined;
    if (!(await operators.consumeCeremony(challenge, 'sign-in', clock.now()))) return undefined;
    const stored = await operators.findPasskey(response.id);
    if (!stored) return undefined;
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: passkey.pageOrigin,
        expectedRPID: passkey.rpId,
        credential: { id: stored.id, publicKey: isoBase64URL.toBuffer(stored.publicKey), counter: 0, transports: [] },
        requireUserVerification: true,
      });
    } catch {
      return undefined;
    }
    if (!verified.verified) return undefined;
    const presented = verified.authenticationInfo.newCounter;
    if (decideSignCount(stored.signCount, presented) === 'cloned') return undefined;
    if (!(await operators.advanceSignCount(stored.id, stored.signCount, presented))) return undefined;
    const operator = await operators.findOperator(stored.operatorId);
    if (!operator) return undefined;
    await this.deps.audit.record({ method: 'console', operation: 'sign-in', alias: operator.email, clientId: operatorActor(operator.email), outcome: 'SUCCESS', reason: null, requestId: null });
    return this.startSession(operator.id);
  }

  /** Stores a challenge, and removes a few expired rows, so unanswered ceremonies (anyone may start one) do not pile up. */
  private async addCeremony(challenge: string, kind: 'enrol' | 'sign-in', operatorId: string | null): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.operators.addCeremony(challenge, kind, operatorId, now + CONSOLE_CEREMONY_TTL_MS);
    await this.deps.operators.pruneExpired(now, liveCutoffs(now, CONSOLE_SESSION_TIMEOUTS), PRUNE_PER_CEREMONY);
  }

  // sessions

  private async startSession(operatorId: string): Promise<string> {
    const { operators, clock, randomBytes, sessionKey } = this.deps;
    const now = clock.now();
    const secret = newSessionSecret(randomBytes);
    await operators.addSession(sessionIdHash(sessionKey, secret), operatorId, now);
    await operators.pruneExpired(now, liveCutoffs(now, CONSOLE_SESSION_TIMEOUTS), PRUNE_PER_SIGN_IN);
    return secret;
  }

  /** The live session a cookie names, marked used now. */
  async resolve(secret: string | undefined): Promise<ConsoleSession | undefined> {
    if (secret === undefined || !isSessionSecretShape(secret)) return undefined;
    const { operators, clock, sessionKey } = this.deps;
    const now = clock.now();
    const idHash = sessionIdHash(sessionKey, secret);
    const found: OperatorSession | undefined = await operators.touchSession(idHash, now, liveCutoffs(now, CONSOLE_SESSION_TIMEOUTS));
    if (!found) {
      await operators.deleteSession(idHash);
      return undefined;
    }
    return { idHash, operator: found.operator, csrfToken: this.csrfToken('session', secret) };
  }

  async end(session: ConsoleSession): Promise<void> {
    await this.deps.operators.deleteSession(session.idHash);
  }

  csrfToken(scope: CsrfScope, cookieSecret: string): string {
    return csrfTokenFor(this.deps.csrfKey, scope, cookieSecret);
  }

  csrfMatches(scope: CsrfScope, cookieSecret: string, given: unknown): boolean {
    return csrfTokenMatches(this.deps.csrfKey, scope, cookieSecret, given);
  }
}

function enrolmentMessage(to: string, link: string): Message {
  return {
    channel: 'email',
    to,
    subject: 'Your access to the MFA console',
    body: `Hello,\n\nan administrator gave you access to the MFA service's console. Open this link within 24 hours and register a passkey:\n\n${link}\n\nThe link works once. If you did not expect this message, ignore it and tell your administrator; never pass the link on.`,
    locale: 'en',
  };
}

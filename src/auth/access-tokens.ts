// Short-lived signed JWTs for API clients: issued by /oauth/token, checked on every API call.
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { ClientStore, Clock } from '../core/ports.js';
import { generateId, type RandomBytes } from '../core/secrets.js';
import { SIGNING_ALG, type KeyRing } from './keyring.js';

export interface Principal {
  /** The OAuth client that holds the token (for an exchanged token, the service that exchanged it). */
  readonly clientId: string;
  readonly scopes: readonly string[];
  /**
   * The identity the token acts for (a personal client's, or the subject of a token exchange): its id,
   * which binds, and its alias when the token was issued, for messages.
   */
  readonly identity: { readonly id: string; readonly alias: string } | undefined;
  /** Expiry in epoch milliseconds. */
  readonly expiresAt: number;
  /** The signing key: a token stops verifying when its key is revoked. */
  readonly kid: string;
}

export class InvalidAccessToken extends Error {}

/** Private claims naming the identity a token acts for: its alias and its id (the id binds). */
export const IDENTITY_CLAIM = 'mfa_identity';
export const IDENTITY_ID_CLAIM = 'mfa_identity_id';

/**
 * How long a process trusts what it last read about a client (deleted? disabled?) and the signing keys
 * (revoked?): a revocation reaches every process within this time, at one small query per client and
 * per key list at most this often.
 */
export const REVOCATION_CHECK_MS = 500;

// The official SDK reuses one token for every call, so remembering verified tokens saves a signature
// check per request. Bounded: when full it starts over.
export const CACHE_LIMIT = 10_000;

export class AccessTokens {
  private readonly verified = new Map<string, Principal>();
  /**
   * Whether each client was usable when last read, and when: one read per client per REVOCATION_CHECK_MS.
   * `known` is the answer once the read has come back.
   */
  private readonly clientChecks = new Map<string, { readonly checkedAt: number; readonly usable: Promise<boolean>; known?: boolean }>();

  constructor(
    private readonly store: Pick<ClientStore, 'findClient'>,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly randomBytes: RandomBytes,
    private readonly issuer: string,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * A token for a client. With `identity` it acts for that identity; `exchanged` marks a token
   * obtained by token exchange, whose subject is the identity and whose actor is the client (RFC 8693 §4.1).
   */
  async issue(
    clientId: string,
    scopes: readonly string[],
    options: { identity?: { readonly id: string; readonly alias: string } | null; exchanged?: boolean } = {},
  ): Promise<{ token: string; expiresIn: number }> {
    const { kid, privateKey } = await this.keys.signingKey();
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const claims: Record<string, unknown> = { scope: scopes.join(' '), client_id: clientId };
    if (options.identity) {
      claims[IDENTITY_CLAIM] = options.identity.alias;
      claims[IDENTITY_ID_CLAIM] = options.identity.id;
    }
    if (options.exchanged) claims['act'] = { sub: clientId };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setSubject(options.exchanged && options.identity ? options.identity.alias : clientId)
      .setJti(generateId(this.randomBytes))
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.ttlSeconds)
      .sign(privateKey);
    return { token, expiresIn: this.ttlSeconds };
  }

  /**
   * The principal a bearer token stands for; throws InvalidAccessToken with the reason. A token whose
   * client was deleted or disabled, or whose signing key was revoked, stops verifying within
   * REVOCATION_CHECK_MS, in every process.
   */
  async verify(token: string): Promise<Principal> {
    const principal = await this.verifySignedToken(token);
    await this.keys.refresh(REVOCATION_CHECK_MS);
    if (!this.keys.verifies(principal.kid)) {
      this.verified.delete(token);
      throw new InvalidAccessToken('the signing key of this token was revoked');
    }
    if (!(await this.clientUsable(principal.clientId))) {
      this.verified.delete(token);
      throw new InvalidAccessToken('the client of this token was deleted or disabled');
    }
    return principal;
  }

  /**
   * The principal of a token verified before, when verify() would read nothing to confirm it: not expired,
   * its signing key and its client both checked within REVOCATION_CHECK_MS and found usable. Undefined
   * otherwise (call verify). Lets a busy client's requests pass the bearer check without waiting on a promise.
   */
  verifiedRecently(token: string): Principal | undefined {
    const principal = this.verified.get(token);
    if (!principal) return undefined;
    const now = this.clock.now();
    if (principal.expiresAt <= now || !this.keys.isFresh(REVOCATION_CHECK_MS) || !this.keys.verifies(principal.kid)) return undefined;
    const client = this.clientChecks.get(principal.clientId);
    if (!client || client.known !== true || now - client.checkedAt >= REVOCATION_CHECK_MS) return undefined;
    return principal;
  }

  private clientUsable(clientId: string): Promise<boolean> {
    const now = this.clock.now();
    const known = this.clientChecks.get(clientId);
    if (known && now - known.checkedAt < REVOCATION_CHECK_MS) return known.usable;
    const usable = this.store.findClient(clientId).then((c) => c !== undefined && c.disabledAt === null);
    const check: { readonly checkedAt: number; readonly usable: Promise<boolean>; known?: boolean } = { checkedAt: now, usable };
    // A failed read is not remembered: the next request asks again (and this one fails closed).
    usable.then(
      (answer) => void (check.known = answer),
      () => this.clientChecks.get(clientId) === check && this.clientChecks.delete(clientId),
    );
    if (this.clientChecks.size >= CACHE_LIMIT) this.clientChecks.clear();
    this.clientChecks.set(clientId, check);
    return usable;
  }

  private async verifySignedToken(token: string): Promise<Principal> {
    const now = this.clock.now();
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt > now) return cached;
      this.verified.delete(token);
      throw new InvalidAccessToken('JWT is expired');
    }
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      ({ payload, protectedHeader: { kid } } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid ? await this.keys.publicKey(header.kid) : undefined;
          if (!key) throw new InvalidAccessToken('unknown signing key');
          return key;
        },
        { algorithms: [SIGNING_ALG], typ: 'at+jwt', issuer: this.issuer, currentDate: new Date(now), requiredClaims: ['exp', 'sub', 'client_id'] },
      ));
    } catch (err) {
      throw new InvalidAccessToken(describe(err));
    }
    const alias = payload[IDENTITY_CLAIM];
    const identityId = payload[IDENTITY_ID_CLAIM];
    // Both or neither: a token naming an identity without its id (an older token) binds to nothing certain.
    if ((alias === undefined) !== (identityId === undefined) || (alias !== undefined && (typeof alias !== 'string' || typeof identityId !== 'string'))) {
      throw new InvalidAccessToken(`JWT claims "${IDENTITY_CLAIM}" and "${IDENTITY_ID_CLAIM}" are not valid`);
    }
    const principal: Principal = {
      clientId: String(payload['client_id']),
      scopes: typeof payload['scope'] === 'string' ? payload['scope'].split(' ').filter(Boolean) : [],
      identity: typeof alias === 'string' && typeof identityId === 'string' ? { id: identityId, alias } : undefined,
      expiresAt: (payload.exp ?? 0) * 1000,
      kid: kid ?? '',
    };
    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    this.verified.set(token, principal);
    return principal;
  }
}

function describe(err: unknown): string {
  if (err instanceof InvalidAccessToken) return err.message;
  if (err instanceof joseErrors.JWTExpired) return 'JWT is expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'JWT signature does not verify';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'JWT algorithm is not accepted';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `JWT claim "${err.claim}" is not valid`;
  return 'JWT is malformed';
}

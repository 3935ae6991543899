// Short-lived signed JWTs for API clients: issued by /oauth/token, checked on every API call.
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../core/ports.js';
import { generateId, type RandomBytes } from '../core/secrets.js';
import { SIGNING_ALG, type KeyRing } from './keyring.js';

export interface Principal {
  /** The OAuth client that holds the token (for an exchanged token, the service that exchanged it). */
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** The identity the token acts for: a personal client's, or the subject of a token exchange. */
  readonly identityAlias: string | undefined;
  /** Expiry in epoch milliseconds. */
  readonly expiresAt: number;
}

export class InvalidAccessToken extends Error {}

/** Private claim naming the identity a token acts for. */
export const IDENTITY_CLAIM = 'mfa_identity';

// The official SDK reuses one token for every call, so remembering verified tokens saves a signature
// check per request. Bounded: when full it starts over.
const CACHE_LIMIT = 10_000;

export class AccessTokens {
  private readonly verified = new Map<string, Principal>();

  constructor(
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly randomBytes: RandomBytes,
    private readonly issuer: string,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * A token for a client. With `identityAlias` it acts for that identity; `exchanged` marks a token
   * obtained by token exchange, whose subject is the identity and whose actor is the client (RFC 8693 §4.1).
   */
  async issue(
    clientId: string,
    scopes: readonly string[],
    options: { identityAlias?: string | null; exchanged?: boolean } = {},
  ): Promise<{ token: string; expiresIn: number }> {
    const { kid, privateKey } = await this.keys.signingKey();
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const claims: Record<string, unknown> = { scope: scopes.join(' '), client_id: clientId };
    if (options.identityAlias) claims[IDENTITY_CLAIM] = options.identityAlias;
    if (options.exchanged) claims['act'] = { sub: clientId };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setSubject(options.exchanged && options.identityAlias ? options.identityAlias : clientId)
      .setJti(generateId(this.randomBytes))
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.ttlSeconds)
      .sign(privateKey);
    return { token, expiresIn: this.ttlSeconds };
  }

  /** The principal a bearer token stands for; throws InvalidAccessToken with the reason. */
  async verify(token: string): Promise<Principal> {
    const now = this.clock.now();
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt > now) return cached;
      this.verified.delete(token);
      throw new InvalidAccessToken('JWT is expired');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
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
    const identity = payload[IDENTITY_CLAIM];
    const principal: Principal = {
      clientId: String(payload['client_id']),
      scopes: typeof payload['scope'] === 'string' ? payload['scope'].split(' ').filter(Boolean) : [],
      identityAlias: typeof identity === 'string' ? identity : undefined,
      expiresAt: (payload.exp ?? 0) * 1000,
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

// Short-lived signed JWTs for API clients: issued by /oauth/token, checked on every API call.
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../core/ports.js';
import { generateId, type RandomBytes } from '../core/secrets.js';
import { SIGNING_ALG, type KeyRing } from './keyring.js';

export interface Principal {
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** Expiry in epoch milliseconds. */
  readonly expiresAt: number;
}

export class InvalidAccessToken extends Error {}

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

  async issue(clientId: string, scopes: readonly string[]): Promise<{ token: string; expiresIn: number }> {
    const { kid, privateKey } = await this.keys.signingKey();
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const token = await new SignJWT({ scope: scopes.join(' '), client_id: clientId })
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setSubject(clientId)
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
        { algorithms: [SIGNING_ALG], typ: 'at+jwt', issuer: this.issuer, currentDate: new Date(now), requiredClaims: ['exp', 'sub'] },
      ));
    } catch (err) {
      throw new InvalidAccessToken(describe(err));
    }
    const principal: Principal = {
      clientId: String(payload.sub),
      scopes: typeof payload['scope'] === 'string' ? payload['scope'].split(' ').filter(Boolean) : [],
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

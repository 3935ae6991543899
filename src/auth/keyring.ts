// Signing keys for access tokens: kept in the store (private halves sealed), shared by every process,
// rotated by adding a new key and retiring the old one once no token it signed can still be valid.
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK, type KeyObject } from 'jose';
import type { Clock, SigningKeyRecord, SigningKeyStore } from '../core/ports.js';
import { generateId, type RandomBytes } from '../core/secrets.js';
import type { Sealer } from './seal.js';

export const SIGNING_ALG = 'EdDSA';

type Key = CryptoKey | KeyObject | Uint8Array;

interface LoadedKey {
  readonly record: SigningKeyRecord;
  readonly publicKey: Key;
}

export class KeyRing {
  private keys = new Map<string, LoadedKey>();
  private signing: { kid: string; privateKey: Key } | undefined;
  private lastReload = 0;
  private readonly recentMisses = new Map<string, number>();
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly store: SigningKeyStore,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly randomBytes: RandomBytes,
    /** How long a retired key still verifies: the longest access token lifetime. */
    private readonly retiredGraceMs: number,
  ) {}

  /** Loads the keys, creating the first one if the store has none. */
  async init(): Promise<void> {
    await this.reload();
    if (!this.signing) {
      await this.rotate();
    }
  }

  /**
   * Adds a new signing key and retires the others: they keep verifying for the grace period, or, with
   * `retirePrevious`, stop verifying at once (every process follows within REVOCATION_CHECK_MS).
   */
  async rotate(options: { retirePrevious?: boolean } = {}): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
    const kid = generateId(this.randomBytes);
    const now = this.clock.now();
    await this.store.addSigningKey({
      kid,
      alg: SIGNING_ALG,
      publicJwk: JSON.stringify({ ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' }),
      sealedPrivateJwk: this.sealer.seal(JSON.stringify(await exportJWK(privateKey))),
      createdAt: now,
      retiredAt: null,
      revokedAt: null,
    });
    if (options.retirePrevious) await this.store.revokeSigningKeys(kid, now);
    else await this.store.retireSigningKeys(kid, now);
    await this.reload();
    return kid;
  }

  /** Reads the key list again; keys already imported are reused, so this is one small query. */
  async reload(): Promise<void> {
    const now = this.clock.now();
    const records = await this.store.listSigningKeys();
    const keys = new Map<string, LoadedKey>();
    let signing: SigningKeyRecord | undefined;
    for (const record of records) {
      if (record.revokedAt !== null) continue;
      if (record.retiredAt !== null && record.retiredAt + this.retiredGraceMs < now) continue;
      const known = this.keys.get(record.kid);
      const publicKey = known?.publicKey ?? (await importJWK(JSON.parse(record.publicJwk) as JWK, record.alg));
      keys.set(record.kid, { record, publicKey });
      if (record.retiredAt === null && (!signing || record.createdAt >= signing.createdAt)) signing = record;
    }
    this.keys = keys;
    if (signing && signing.kid !== this.signing?.kid) {
      const privateJwk = JSON.parse(this.sealer.unseal(signing.sealedPrivateJwk)) as JWK;
      this.signing = { kid: signing.kid, privateKey: await importJWK(privateJwk, signing.alg) };
    }
    this.lastReload = now;
  }

  /** Whether the key list was read less than `maxAgeMs` ago (refresh would not read it). */
  isFresh(maxAgeMs: number): boolean {
    return this.clock.now() - this.lastReload < maxAgeMs;
  }

  /** Reads the key list again when the last read is older than `maxAgeMs`; concurrent callers share one read. */
  async refresh(maxAgeMs: number): Promise<void> {
    if (this.isFresh(maxAgeMs)) return;
    this.reloading ??= this.reload().finally(() => {
      this.reloading = undefined;
    });
    await this.reloading;
  }

  /** Whether tokens signed with this kid still verify, as of the last read of the key list. */
  verifies(kid: string): boolean {
    return this.keys.has(kid);
  }

  /**
   * The key to sign with. Read from the store each time (tokens are issued rarely: the SDK asks once), so
   * a rotation made by another process is followed at once.
   */
  async signingKey(): Promise<{ kid: string; privateKey: Key }> {
    await this.reload();
    if (!this.signing) throw new Error('key ring not initialised');
    return this.signing;
  }

  /**
   * The public key for a kid. A kid not seen before makes the ring read the store again, since another
   * process may have just added it (several processes starting together each create one). Forged kids
   * cannot turn this into a query per request: each kid is looked up at most once a second, and reloads
   * are at least 50 ms apart.
   */
  async publicKey(kid: string): Promise<Key | undefined> {
    const known = this.keys.get(kid);
    if (known) return known.publicKey;
    const now = this.clock.now();
    const missedAt = this.recentMisses.get(kid);
    if ((missedAt !== undefined && now - missedAt < 1000) || now - this.lastReload < 50) return undefined;
    await this.reload();
    const found = this.keys.get(kid)?.publicKey;
    if (!found) {
      if (this.recentMisses.size >= 1000) this.recentMisses.clear();
      this.recentMisses.set(kid, now);
    }
    return found;
  }

  /** The JWKS document: every key that still verifies. */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.reload();
    return { keys: [...this.keys.values()].map((k) => JSON.parse(k.record.publicJwk) as JWK) };
  }
}

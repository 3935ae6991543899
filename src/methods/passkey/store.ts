// What the passkey method keeps: credentials (public keys, counters, names) and ceremonies (one challenge
// each, answered once). Its own slice of storage, on the SQL driver both databases offer; every rule that
// must hold under concurrency (one answer per challenge, the counter only going up, the number of
// passkeys per identity) is decided by one conditional statement or under the identity's row lock.
import type { Param, SqlDatabase } from '../../store/driver.js';

export interface StoredPasskey {
  /** The WebAuthn credential id, base64url. */
  readonly id: string;
  readonly identityId: string;
  readonly name: string;
  /** The COSE public key, base64url. */
  readonly publicKey: string;
  readonly signCount: number;
  /** The WebAuthn user handle it was created for, base64url: an assertion must carry the same. */
  readonly userHandle: string;
  readonly transports: readonly string[];
  readonly deviceType: 'singleDevice' | 'multiDevice';
  readonly backedUp: boolean;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

export type CeremonyKind = 'registration' | 'authentication';

export interface Ceremony {
  /** The request id callers name it by; for an authentication, also the id of its verification. */
  readonly requestId: string;
  readonly kind: CeremonyKind;
  readonly clientId: string;
  /** Registration: the identity enrolling. Authentication: the identity named, null when the alias named none. */
  readonly identityId: string | null;
  /** base64url, as sent in the options. */
  readonly challenge: string;
  /** Registration: the user handle offered to the authenticator. */
  readonly userHandle: string | null;
  /** Hosted verification: keyed hash of the token in its URL; null for the API's ceremonies. */
  readonly urlHash: string | null;
  readonly returnUrl: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
}

/** Which ceremony an answer may consume: all of these must match, or nothing is consumed. */
export interface CeremonyMatch {
  readonly requestId: string;
  readonly kind: CeremonyKind;
  readonly clientId: string;
  /** A hosted ceremony is answered only through its page, an API one only through the API. */
  readonly hosted: boolean;
  /** When given, the ceremony must be this identity's. */
  readonly identityId?: string;
}

export type AddPasskeyOutcome = 'added' | 'duplicate' | 'full' | 'not-first';

export interface PasskeyStore {
  listPasskeys(identityId: string): Promise<StoredPasskey[]>;
  findPasskey(credentialId: string): Promise<StoredPasskey | undefined>;
  /**
   * Adds a passkey unless its credential id is registered already ('duplicate'), the identity holds
   * `maxPerIdentity` ('full'), or, with `onlyIfNone`, the identity has one by then ('not-first').
   */
  addPasskey(passkey: StoredPasskey, rule: { readonly maxPerIdentity: number; readonly onlyIfNone: boolean }): Promise<AddPasskeyOutcome>;
  /** True if the identity has this passkey (and it was renamed). */
  renamePasskey(identityId: string, credentialId: string, name: string): Promise<boolean>;
  removePasskey(identityId: string, credentialId: string): Promise<boolean>;
  /**
   * Moves the counter from `expectedCount` to `newCount` and stamps the use; false when the stored count
   * is no longer `expectedCount` (another use got there first), so a counter never goes back.
   */
  recordUse(credentialId: string, expectedCount: number, newCount: number, backedUp: boolean, now: number): Promise<boolean>;
  /** Stores a new ceremony; ceremonies expired before `now` are deleted a batch at a time on the way. */
  startCeremony(ceremony: Ceremony, now: number): Promise<void>;
  findCeremonyByUrl(urlHash: string): Promise<Ceremony | undefined>;
  /** Marks the matching ceremony answered if it is unanswered and unexpired; it comes back to exactly one caller. */
  consumeCeremony(match: CeremonyMatch, now: number): Promise<Ceremony | undefined>;
}

interface PasskeyRow {
  id: string;
  identity_id: string;
  name: string;
  public_key: string;
  sign_count: number | string;
  user_handle: string;
  transports: string;
  device_type: string;
  backed_up: number | string;
  created_at: number | string;
  last_used_at: number | string | null;
}

interface CeremonyRow {
  request_id: string;
  kind: string;
  client_id: string;
  identity_id: string | null;
  challenge: string;
  user_handle: string | null;
  url_hash: string | null;
  return_url: string | null;
  created_at: number | string;
  expires_at: number | string;
  used_at: number | string | null;
}

const PASSKEY_COLUMNS = 'id, identity_id, name, public_key, sign_count, user_handle, transports, device_type, backed_up, created_at, last_used_at';
const CEREMONY_COLUMNS = 'request_id, kind, client_id, identity_id, challenge, user_handle, url_hash, return_url, created_at, expires_at, used_at';

const toPasskey = (r: PasskeyRow): StoredPasskey => ({
  id: r.id,
  identityId: r.identity_id,
  name: r.name,
  publicKey: r.public_key,
  signCount: Number(r.sign_count),
  userHandle: r.user_handle,
  transports: JSON.parse(r.transports) as string[],
  deviceType: r.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
  backedUp: Number(r.backed_up) === 1,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
});

const toCeremony = (r: CeremonyRow): Ceremony => ({
  requestId: r.request_id,
  kind: r.kind === 'registration' ? 'registration' : 'authentication',
  clientId: r.client_id,
  identityId: r.identity_id,
  challenge: r.challenge,
  userHandle: r.user_handle,
  urlHash: r.url_hash,
  returnUrl: r.return_url,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  usedAt: r.used_at === null ? null : Number(r.used_at),
});

/** Expired ceremonies deleted per new one: growth stays bounded without a separate job. */
const PRUNE_BATCH = 50;

export class SqlPasskeyStore implements PasskeyStore {
  constructor(private readonly db: SqlDatabase) {}

  async listPasskeys(identityId: string): Promise<StoredPasskey[]> {
    const rows = await this.db.all<PasskeyRow>(`SELECT ${PASSKEY_COLUMNS} FROM passkey_credentials WHERE identity_id = ? ORDER BY created_at, id`, [identityId]);
    return rows.map(toPasskey);
  }

  async findPasskey(credentialId: string): Promise<StoredPasskey | undefined> {
    const row = await this.db.get<PasskeyRow>(`SELECT ${PASSKEY_COLUMNS} FROM passkey_credentials WHERE id = ?`, [credentialId]);
    return row && toPasskey(row);
  }

  addPasskey(p: StoredPasskey, rule: { readonly maxPerIdentity: number; readonly onlyIfNone: boolean }): Promise<AddPasskeyOutcome> {
    return this.db.transaction(async (tx) => {
      // The identity's row lock serialises concurrent registrations of one identity, so the count below
      // stays true until this transaction commits.
      await tx.run('UPDATE identities SET updated_at = updated_at WHERE id = ?', [p.identityId]);
      const held = Number((await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM passkey_credentials WHERE identity_id = ?', [p.identityId]))?.n ?? 0);
      if (rule.onlyIfNone && held > 0) return 'not-first';
      if (held >= rule.maxPerIdentity) return 'full';
      const added = await tx.run(
        `INSERT INTO passkey_credentials (${PASSKEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [p.id, p.identityId, p.name, p.publicKey, p.signCount, p.userHandle, JSON.stringify(p.transports), p.deviceType, p.backedUp ? 1 : 0, p.createdAt, p.lastUsedAt],
      );
      return added > 0 ? 'added' : 'duplicate';
    });
  }

  async renamePasskey(identityId: string, credentialId: string, name: string): Promise<boolean> {
    return (await this.db.run('UPDATE passkey_credentials SET name = ? WHERE identity_id = ? AND id = ?', [name, identityId, credentialId])) > 0;
  }

  async removePasskey(identityId: string, credentialId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM passkey_credentials WHERE identity_id = ? AND id = ?', [identityId, credentialId])) > 0;
  }

  async recordUse(credentialId: string, expectedCount: number, newCount: number, backedUp: boolean, now: number): Promise<boolean> {
    const changed = await this.db.run('UPDATE passkey_credentials SET sign_count = ?, backed_up = ?, last_used_at = ? WHERE id = ? AND sign_count = ?', [
      newCount,
      backedUp ? 1 : 0,
      now,
      credentialId,
      expectedCount,
    ]);
    return changed > 0;
  }

  async startCeremony(c: Ceremony, now: number): Promise<void> {
    await this.db.run(
      'DELETE FROM passkey_ceremonies WHERE request_id IN (SELECT request_id FROM passkey_ceremonies WHERE expires_at < ? LIMIT ?)',
      [now, PRUNE_BATCH],
    );
    await this.db.run(`INSERT INTO passkey_ceremonies (${CEREMONY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      c.requestId,
      c.kind,
      c.clientId,
      c.identityId,
      c.challenge,
      c.userHandle,
      c.urlHash,
      c.returnUrl,
      c.createdAt,
      c.expiresAt,
      c.usedAt,
    ]);
  }

  async findCeremonyByUrl(urlHash: string): Promise<Ceremony | undefined> {
    const row = await this.db.get<CeremonyRow>(`SELECT ${CEREMONY_COLUMNS} FROM passkey_ceremonies WHERE url_hash = ?`, [urlHash]);
    return row && toCeremony(row);
  }

  async consumeCeremony(match: CeremonyMatch, now: number): Promise<Ceremony | undefined> {
    const conditions = ['request_id = ?', 'kind = ?', 'client_id = ?', 'used_at IS NULL', 'expires_at > ?', match.hosted ? 'url_hash IS NOT NULL' : 'url_hash IS NULL'];
    const params: Param[] = [now, match.requestId, match.kind, match.clientId, now];
    if (match.identityId !== undefined) {
      conditions.push('identity_id = ?');
      params.push(match.identityId);
    }
    const row = await this.db.get<CeremonyRow>(`UPDATE passkey_ceremonies SET used_at = ? WHERE ${conditions.join(' AND ')} RETURNING ${CEREMONY_COLUMNS}`, params);
    return row && toCeremony(row);
  }
}

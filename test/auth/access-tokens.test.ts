// Defends the bearer tokens every API call relies on: only tokens this service signed, with every claim
// the checks read (a token of ours without `exp` would never expire), an exchanged token that names the
// identity as subject and the client as actor (RFC 8693 §4.1), and a cache of verified tokens that
// cannot grow without bound or outlive a revocation.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT, decodeJwt } from 'jose';
import { AccessTokens, CACHE_LIMIT, IDENTITY_CLAIM, IDENTITY_ID_CLAIM, InvalidAccessToken, REVOCATION_CHECK_MS } from '../../src/auth/access-tokens.js';
import { KeyRing, SIGNING_ALG } from '../../src/auth/keyring.js';
import { Sealer } from '../../src/auth/seal.js';
import type { ApiClient } from '../../src/core/model.js';
import type { SigningKeyRecord, Store } from '../../src/core/ports.js';

const ISSUER = 'https://mfa.example.test';
const TTL_SECONDS = 300;

/** Just the storage the key ring and the token checks use, in memory. */
function memoryStore() {
  const keys: SigningKeyRecord[] = [];
  const clients = new Map<string, ApiClient>();
  const store = {
    clientReads: 0,
    clients,
    async listSigningKeys() {
      return keys.map((k) => ({ ...k }));
    },
    async addSigningKey(key: SigningKeyRecord) {
      keys.push(key);
    },
    async retireSigningKeys(exceptKid: string, at: number) {
      for (const [i, k] of keys.entries()) if (k.kid !== exceptKid && k.retiredAt === null) keys[i] = { ...k, retiredAt: at };
    },
    async revokeSigningKeys(exceptKid: string, at: number) {
      for (const [i, k] of keys.entries()) if (k.kid !== exceptKid) keys[i] = { ...k, revokedAt: at };
    },
    async findClient(clientId: string) {
      store.clientReads++;
      return clients.get(clientId);
    },
  };
  return store;
}

const client = (clientId: string, disabledAt: number | null = null): ApiClient => ({
  clientId,
  name: clientId,
  secretHash: 'x',
  scopes: ['sp:mfa:verify'],
  identityId: null,
  identityAlias: null,
  createdAt: 0,
  disabledAt,
});

async function setUp() {
  const clock = { t: 1_700_000_000_000, now: () => clock.t };
  const store = memoryStore();
  store.clients.set('svc', client('svc'));
  const keys = new KeyRing(store as unknown as Store, new Sealer(randomBytes(32)), clock, randomBytes, TTL_SECONDS * 1000);
  await keys.init();
  const tokens = new AccessTokens(store, keys, clock, randomBytes, ISSUER, TTL_SECONDS);
  /** A token signed with the service's own key, with the claims given (for tokens issue() never makes). */
  const forge = async (claims: Record<string, unknown>, options: { sub?: string; exp?: boolean } = {}) => {
    const { kid, privateKey } = await keys.signingKey();
    const nowSeconds = Math.floor(clock.t / 1000);
    let jwt = new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' }).setIssuer(ISSUER).setIssuedAt(nowSeconds);
    if (options.sub !== undefined) jwt = jwt.setSubject(options.sub);
    if (options.exp !== false) jwt = jwt.setExpirationTime(nowSeconds + 60);
    return jwt.sign(privateKey);
  };
  return { clock, store, keys, tokens, forge };
}

const refusedWith = (message: RegExp) => (err: unknown) => err instanceof InvalidAccessToken && message.test(err.message);

describe('access tokens: issue and verify', () => {
  it('a service token names the client as subject, carries its scopes and expires after the lifetime', async () => {
    const { clock, tokens } = await setUp();
    const { token, expiresIn } = await tokens.issue('svc', ['sp:mfa:verify', 'sp:mfa:poll']);
    assert.equal(expiresIn, TTL_SECONDS);
    const claims = decodeJwt(token);
    assert.equal(claims.sub, 'svc');
    assert.equal(claims['client_id'], 'svc');
    assert.equal(claims['act'], undefined);
    assert.equal(claims.iss, ISSUER);
    assert.match(String(claims.jti), /^[0-9a-f]{32}$/);
    const principal = await tokens.verify(token);
    assert.deepEqual(principal.scopes, ['sp:mfa:verify', 'sp:mfa:poll']);
    assert.equal(principal.clientId, 'svc');
    assert.equal(principal.identity, undefined);
    assert.equal(principal.expiresAt, (Math.floor(clock.t / 1000) + TTL_SECONDS) * 1000);
  });

  it('an exchanged token has the identity as subject and the client as actor (RFC 8693)', async () => {
    const { tokens } = await setUp();
    const { token } = await tokens.issue('svc', ['sp:mfa:verify'], { identity: { id: 'id-7', alias: 'alice' }, exchanged: true });
    const claims = decodeJwt(token);
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(claims['act'], { sub: 'svc' });
    assert.equal(claims['client_id'], 'svc');
    assert.equal(claims[IDENTITY_CLAIM], 'alice');
    assert.equal(claims[IDENTITY_ID_CLAIM], 'id-7');
    const principal = await tokens.verify(token);
    assert.equal(principal.clientId, 'svc', 'the holder is the client, not the identity');
    assert.deepEqual(principal.identity, { id: 'id-7', alias: 'alice' });
  });

  it('a personal client\'s token acts for its identity but keeps the client as subject and has no actor', async () => {
    const { tokens } = await setUp();
    const claims = decodeJwt((await tokens.issue('svc', [], { identity: { id: 'id-7', alias: 'alice' } })).token);
    assert.equal(claims.sub, 'svc');
    assert.equal(claims['act'], undefined);
    assert.equal(claims[IDENTITY_ID_CLAIM], 'id-7');
  });

  it('a token of ours lacking exp, sub or client_id is refused', async () => {
    const { forge, tokens } = await setUp();
    await assert.rejects(tokens.verify(await forge({ client_id: 'svc' }, { sub: 'svc', exp: false })), refusedWith(/"exp"/));
    await assert.rejects(tokens.verify(await forge({ client_id: 'svc' })), refusedWith(/"sub"/));
    await assert.rejects(tokens.verify(await forge({}, { sub: 'svc' })), refusedWith(/"client_id"/));
    assert.equal((await tokens.verify(await forge({ client_id: 'svc' }, { sub: 'svc' }))).clientId, 'svc');
  });

  it('a token naming an identity needs both its alias and its id, as strings', async () => {
    const { forge, tokens } = await setUp();
    const invalid = refusedWith(/claims "mfa_identity" and "mfa_identity_id" are not valid/);
    await assert.rejects(tokens.verify(await forge({ client_id: 'svc', [IDENTITY_CLAIM]: 'alice' }, { sub: 'svc' })), invalid);
    await assert.rejects(tokens.verify(await forge({ client_id: 'svc', [IDENTITY_ID_CLAIM]: 'id-7' }, { sub: 'svc' })), invalid);
    await assert.rejects(tokens.verify(await forge({ client_id: 'svc', [IDENTITY_CLAIM]: 'alice', [IDENTITY_ID_CLAIM]: 7 }, { sub: 'svc' })), invalid);
    await assert.rejects(tokens.verify(await forge({ client_id: 'svc', [IDENTITY_CLAIM]: 1, [IDENTITY_ID_CLAIM]: 'id-7' }, { sub: 'svc' })), invalid);
  });

  it('a token stops verifying at its expiry, also when it was verified (and remembered) before', async () => {
    const { clock, tokens } = await setUp();
    const { token } = await tokens.issue('svc', []);
    await tokens.verify(token);
    clock.t += TTL_SECONDS * 1000 - 1000;
    await tokens.verify(token);
    clock.t += 1000;
    await assert.rejects(tokens.verify(token), refusedWith(/^JWT is expired$/));
    await assert.rejects(tokens.verify(token), refusedWith(/^JWT is expired$/), 'and again, not from a stale memory');
  });
});

describe('access tokens: revocation', () => {
  it('a disabled or deleted client\'s tokens stop verifying once the last read of it is older than REVOCATION_CHECK_MS', async () => {
    const { clock, store, tokens } = await setUp();
    const { token } = await tokens.issue('svc', []);
    await tokens.verify(token);
    store.clients.set('svc', client('svc', clock.t));
    clock.t += REVOCATION_CHECK_MS - 1;
    await tokens.verify(token);
    assert.equal(store.clientReads, 1, 'one read of the client within the interval');
    clock.t += 1;
    await assert.rejects(tokens.verify(token), refusedWith(/client of this token was deleted or disabled/));
    store.clients.set('svc', client('svc'));
    clock.t += REVOCATION_CHECK_MS;
    await tokens.verify(token);
    store.clients.delete('svc');
    clock.t += REVOCATION_CHECK_MS;
    await assert.rejects(tokens.verify(token), refusedWith(/deleted or disabled/));
  });

  it('a client read that fails refuses the token and is asked again next time', async () => {
    const { store, tokens } = await setUp();
    const { token } = await tokens.issue('svc', []);
    const findClient = store.findClient;
    store.findClient = async () => {
      throw new Error('database down');
    };
    await assert.rejects(tokens.verify(token), /database down/);
    store.findClient = findClient;
    assert.equal((await tokens.verify(token)).clientId, 'svc');
  });

  it('a token whose signing key was revoked stops verifying, remembered or not', async () => {
    const { clock, keys, tokens } = await setUp();
    const { token } = await tokens.issue('svc', []);
    await tokens.verify(token);
    await keys.rotate({ retirePrevious: true });
    clock.t += REVOCATION_CHECK_MS;
    await assert.rejects(tokens.verify(token), refusedWith(/signing key of this token was revoked/));
    await assert.rejects(tokens.verify(token), InvalidAccessToken);
  });
});

describe('access tokens: the check that reads nothing (verifiedRecently)', () => {
  it('answers only what verify would answer without a read: never before verify, nor past expiry or either interval', async () => {
    const { clock, keys, tokens } = await setUp();
    const { token } = await tokens.issue('svc', ['sp:mfa:verify']);
    assert.equal(tokens.verifiedRecently(token), undefined, 'a token never verified is not known');
    const principal = await tokens.verify(token);
    assert.equal(tokens.verifiedRecently(token), principal);
    const isFresh = keys.isFresh.bind(keys);
    keys.isFresh = () => false;
    assert.equal(tokens.verifiedRecently(token), undefined, 'the key list is due to be read again (the client is not)');
    keys.isFresh = isFresh;
    clock.t += REVOCATION_CHECK_MS;
    assert.equal(tokens.verifiedRecently(token), undefined, 'the key list and the client are due to be read again');
    await tokens.verify(token);
    assert.equal(tokens.verifiedRecently(token), principal);
    clock.t += REVOCATION_CHECK_MS;
    await keys.reload();
    assert.equal(tokens.verifiedRecently(token), undefined, 'the client read is older than the interval, however fresh the keys');
    clock.t = principal.expiresAt;
    await keys.reload();
    assert.equal(tokens.verifiedRecently(token), undefined, 'expired');
  });

  it('is undefined for a disabled client, a client whose read has not come back, and a revoked key', async () => {
    const { clock, store, keys, tokens } = await setUp();
    const { token } = await tokens.issue('svc', []);
    await tokens.verify(token);
    store.clients.set('svc', client('svc', clock.t));
    clock.t += REVOCATION_CHECK_MS;
    await assert.rejects(tokens.verify(token), refusedWith(/deleted or disabled/));
    assert.equal(tokens.verifiedRecently(token), undefined, 'the client was read as disabled');

    store.clients.set('svc', client('svc'));
    const findClient = store.findClient;
    let answer: (() => void) | undefined;
    store.findClient = (clientId: string) => new Promise((resolve) => (answer = () => resolve(findClient(clientId))));
    clock.t += REVOCATION_CHECK_MS;
    const verifying = tokens.verify(token);
    // The token was forgotten when refused: verify checks its signature again before it reads the client.
    for (let turns = 0; !answer && turns < 10_000; turns++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(answer, 'verify never read the client');
    assert.equal(tokens.verifiedRecently(token), undefined, 'the client read is still under way');
    answer();
    await verifying;
    assert.ok(tokens.verifiedRecently(token));

    await keys.rotate({ retirePrevious: true });
    assert.equal(tokens.verifiedRecently(token), undefined, 'the key list read by the rotation no longer holds its key');
  });
});

describe('access tokens: the cache of verified tokens', () => {
  it('is bounded: after CACHE_LIMIT other tokens, a remembered token is checked again', async () => {
    const { keys, tokens, forge } = await setUp();
    let lookups = 0;
    const publicKey = keys.publicKey.bind(keys);
    keys.publicKey = async (kid: string) => {
      lookups++;
      return publicKey(kid);
    };
    const first = await forge({ client_id: 'svc' }, { sub: 'svc' });
    const second = await forge({ client_id: 'svc', n: 'second' }, { sub: 'svc' });
    await tokens.verify(first);
    await tokens.verify(second);
    await tokens.verify(first);
    await tokens.verify(second);
    assert.equal(lookups, 2, 'remembered tokens are not checked again');
    for (let i = 0; i < CACHE_LIMIT; i++) await tokens.verify(await forge({ client_id: 'svc', n: i }, { sub: 'svc' }));
    const before = lookups;
    await tokens.verify(first);
    assert.equal(lookups, before + 1, 'the cache started over when full');
  });

  it('reads each client at most once per interval, and forgets the reads when too many clients were read', async () => {
    const { store, tokens, forge } = await setUp();
    store.clients.set('other', client('other'));
    const svc = await forge({ client_id: 'svc' }, { sub: 'svc' });
    const other = await forge({ client_id: 'other' }, { sub: 'other' });
    for (let i = 0; i < 2; i++) {
      await tokens.verify(svc);
      await tokens.verify(other);
    }
    assert.equal(store.clientReads, 2);
    for (let i = 0; i < CACHE_LIMIT; i++) {
      await assert.rejects(tokens.verify(await forge({ client_id: `gone-${i}` }, { sub: 'x' })), refusedWith(/deleted or disabled/));
    }
    const before = store.clientReads;
    await tokens.verify(svc);
    assert.equal(store.clientReads, before + 1, 'the reads were forgotten when full');
  });
});

describe('access tokens: why a token is refused', () => {
  it('names the reason: unknown key, bad signature, algorithm, claim, or malformed', async () => {
    const { keys, tokens, forge } = await setUp();
    const good = await forge({ client_id: 'svc' }, { sub: 'svc' });
    const [header, payload] = good.split('.') as [string, string, string];
    const unknownKid = Buffer.from(JSON.stringify({ alg: SIGNING_ALG, kid: 'no-such-kid', typ: 'at+jwt' })).toString('base64url');
    await assert.rejects(tokens.verify(`${unknownKid}.${payload}.${good.split('.')[2]}`), refusedWith(/^unknown signing key$/));
    const otherSignature = (await forge({ client_id: 'svc', n: 1 }, { sub: 'svc' })).split('.')[2];
    await assert.rejects(tokens.verify(`${header}.${payload}.${otherSignature}`), refusedWith(/^JWT signature does not verify$/));
    const { kid } = await keys.signingKey();
    const hs256 = await new SignJWT({ client_id: 'svc' }).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).setSubject('svc').setIssuer(ISSUER).setExpirationTime('1h').sign(new Uint8Array(32));
    await assert.rejects(tokens.verify(hs256), refusedWith(/^JWT algorithm is not accepted$/));
    const { privateKey } = await keys.signingKey();
    const foreignIssuer = await new SignJWT({ client_id: 'svc' }).setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' }).setSubject('svc').setIssuer('https://elsewhere').setExpirationTime('1h').sign(privateKey);
    await assert.rejects(tokens.verify(foreignIssuer), refusedWith(/^JWT claim "iss" is not valid$/));
    await assert.rejects(tokens.verify('garbage'), refusedWith(/^JWT is malformed$/));
  });

  it('reads the scope claim as a space-separated list, and no scopes from anything else', async () => {
    const { tokens, forge } = await setUp();
    assert.deepEqual((await tokens.verify(await forge({ client_id: 'svc', scope: ' idn:mfa:send  idn:mfa:poll ' }, { sub: 'svc' }))).scopes, ['idn:mfa:send', 'idn:mfa:poll']);
    assert.deepEqual((await tokens.verify(await forge({ client_id: 'svc', scope: ['idn:mfa:send'] }, { sub: 'svc' }))).scopes, []);
  });
});

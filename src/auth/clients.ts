// API clients for the client credentials grant. The secret is shown once and stored only as a digest.
import type { ApiClient } from '../core/model.js';
import type { ClientStore, Clock, IdentityStore } from '../core/ports.js';
import { badRequest } from '../core/errors.js';
import { constantTimeEqual, digest, type RandomBytes } from '../core/secrets.js';
import { ALL_SCOPES, IDENTITY_SCOPES, KNOWN_SCOPES } from './scopes.js';

export interface NewClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly identityAlias: string | null;
}

export async function createClient(
  store: Pick<IdentityStore, 'findIdentity'> & Pick<ClientStore, 'createClient'>,
  clock: Clock,
  randomBytes: RandomBytes,
  name: string,
  scopes: readonly string[],
  /** Makes a personal client, whose tokens act for this identity. */
  identityAlias: string | null = null,
): Promise<NewClientCredentials> {
  const unknown = scopes.filter((s) => !KNOWN_SCOPES.includes(s));
  if (unknown.length > 0) throw badRequest(`Unknown scope: ${unknown.join(', ')}`, [`Known scopes: ${KNOWN_SCOPES.join(' ')}`]);
  if (scopes.length === 0) throw badRequest('A client needs at least one scope.');
  if (!name.trim()) throw badRequest('A client needs a name.');
  let identityId: string | null = null;
  if (identityAlias !== null) {
    const identity = await store.findIdentity(identityAlias);
    if (!identity) throw badRequest(`No identity with alias ${identityAlias}.`);
    const beyond = scopes.filter((s) => s !== ALL_SCOPES && !IDENTITY_SCOPES.includes(s));
    if (beyond.length > 0) {
      throw badRequest(`A personal client acts for its identity only and cannot hold ${beyond.join(', ')}.`, [
        `Scopes a personal client may hold: ${[...IDENTITY_SCOPES, ALL_SCOPES].join(' ')} (${ALL_SCOPES} stands for the first five).`,
      ]);
    }
    identityId = identity.id;
  }
  const clientId = randomBytes(16).toString('hex');
  const clientSecret = randomBytes(32).toString('base64url');
  const unique = [...new Set(scopes)];
  await store.createClient({ clientId, name: name.trim(), secretHash: digest(clientSecret), scopes: unique, identityId, createdAt: clock.now() });
  return { clientId, clientSecret, name: name.trim(), scopes: unique, identityAlias };
}

// Compared against when the client id is unknown, so both cases do the same work.
const ABSENT_SECRET_HASH = digest('no such client');

/**
 * The client these credentials belong to, or undefined; the same work whether the id exists or not.
 * A disabled client is refused like a wrong secret.
 */
export async function authenticateClient(store: Pick<ClientStore, 'findClient'>, clientId: string, clientSecret: string): Promise<ApiClient | undefined> {
  const client = clientId.length <= 128 ? await store.findClient(clientId) : undefined;
  const matches = constantTimeEqual(digest(clientSecret), client?.secretHash ?? ABSENT_SECRET_HASH);
  return client && matches && client.disabledAt === null ? client : undefined;
}

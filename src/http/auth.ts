// Bearer token check for API routes: 401 with the spec's body when the token is missing or invalid,
// 403 ErrorResponseDto when it lacks every scope the route accepts, or when a token acting for an
// identity names anyone else.
import type { FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import { InvalidAccessToken, type AccessTokens, type Principal } from '../auth/access-tokens.js';
import { allows } from '../auth/scopes.js';
import { forbidden } from '../core/errors.js';
import type { Identity } from '../core/model.js';
import type { IdentityStore, ProviderConfigStore } from '../core/ports.js';
import { errorBody, sendUnauthorized } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The identity an identity-bound token acts for, read at this request (active, with its current alias). */
    actingIdentity?: Identity;
  }
  interface FastifyContextConfig {
    /** Any one of these scopes admits the caller. */
    scopes?: readonly string[];
    /**
     * The route names its user by the value of this provider's configured identity attribute (Okta's
     * userId is the login held in that attribute), besides the alias and the id.
     */
    userAttributeOf?: string;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

export function bearerAuth(tokens: AccessTokens): onRequestHookHandler {
  // A callback hook: a token verified before, with nothing to read again, passes without a promise.
  return function checkBearer(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    const header = request.headers.authorization;
    if (!header) return void sendUnauthorized(reply, 'missing bearer token');
    const match = BEARER.exec(header);
    if (!match?.[1]) return void sendUnauthorized(reply, 'malformed authorization header');
    const known = tokens.verifiedRecently(match[1]);
    if (known) return admitScopes(request, reply, known, done);
    tokens.verify(match[1]).then(
      (principal) => admitScopes(request, reply, principal, done),
      (err: unknown) => (err instanceof InvalidAccessToken ? void sendUnauthorized(reply, err.message) : done(err as Error)),
    );
  };
}

function admitScopes(request: FastifyRequest, reply: FastifyReply, principal: Principal, done: (err?: Error) => void): void {
  request.principal = principal;
  const accepted = request.routeOptions.config.scopes;
  if (accepted && !allows(principal.scopes, accepted, principal.identity !== undefined)) {
    reply.code(403).send(errorBody(403, 'The server understood the request but refuses to authorize it.', [`Requires one of the scopes: ${accepted.join(', ')}`]));
    return;
  }
  done();
}

/** The caller of an authenticated route (the hook guarantees it is set). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route is missing bearer authentication');
  return request.principal;
}

/** Body and query fields through which a caller names the person a call is about. */
const USER_FIELDS = ['userAlias', 'userId'] as const;

function namedUsers(request: FastifyRequest): string[] {
  const named: string[] = [];
  for (const source of [request.body, request.query]) {
    if (!source || typeof source !== 'object' || Array.isArray(source)) continue;
    for (const field of USER_FIELDS) {
      const value = (source as Record<string, unknown>)[field];
      if (value !== undefined) named.push(typeof value === 'string' ? value : JSON.stringify(value));
    }
  }
  return named;
}

/**
 * Identity binding (docs/security.md): a token acting for an identity acts for that identity only. Its
 * identity is read by id at each request (so a deleted or disabled identity, or a new one given the same
 * alias, is never reached through it), and any user the request names must be that identity, by alias or
 * by id. Runs after body validation, on every route of the API.
 */
export function identityBinding(store: Pick<IdentityStore, 'findIdentityById'> & Pick<ProviderConfigStore, 'findProviderConfig'>): preHandlerHookHandler {
  // A callback hook, so that tokens acting for no identity (service clients) pass it without a promise.
  return function checkIdentityBinding(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    const bound = request.principal?.identity;
    if (!bound) return done();
    bindIdentity(store, request, reply, bound.id).then(() => done(), done);
  };
}

async function bindIdentity(store: Pick<IdentityStore, 'findIdentityById'> & Pick<ProviderConfigStore, 'findProviderConfig'>, request: FastifyRequest, reply: FastifyReply, boundId: string): Promise<void> {
  const identity = await store.findIdentityById(boundId);
  if (!identity || identity.status !== 'active') {
    reply.code(403).send(errorBody(403, 'The server understood the request but refuses to authorize it.', ['The identity this token acts for is not active.']));
    return;
  }
  const names = [identity.alias, identity.id];
  const provider = request.routeOptions.config.userAttributeOf;
  if (provider) {
    const attribute = (await store.findProviderConfig(provider))?.identityAttribute;
    const value = attribute ? identity.attributes[attribute] : undefined;
    if (value) names.push(value);
  }
  const others = namedUsers(request).filter((name) => !names.includes(name));
  if (others.length > 0) {
    reply.code(403).send(errorBody(403, 'The server understood the request but refuses to authorize it.', ['This token acts for one identity and can name no other user.']));
    return;
  }
  request.actingIdentity = identity;
}

/** The identity the caller's token acts for; refused for a token that acts for none. */
export function actingIdentityOf(request: FastifyRequest): Identity {
  if (!request.actingIdentity) {
    throw forbidden('This call acts for an identity: use a personal client, or a token exchanged for an identity.');
  }
  return request.actingIdentity;
}

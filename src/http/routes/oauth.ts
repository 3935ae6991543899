// POST /oauth/token: the client credentials grant (RFC 6749 §4.4). The body may be url-encoded,
// multipart (what the official SDK sends) or JSON; the client may authenticate by HTTP Basic instead.
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AccessTokens } from '../../auth/access-tokens.js';
import { authenticateClient } from '../../auth/clients.js';
import { IMPERSONATE_SCOPE, allows, identityBound } from '../../auth/scopes.js';
import type { ClientStore, IdentityStore } from '../../core/ports.js';
import { handleError } from '../errors.js';

export interface OAuthRoutesDeps {
  readonly store: Pick<IdentityStore, 'findIdentity' | 'findIdentityById'> & Pick<ClientStore, 'findClient'>;
  readonly tokens: AccessTokens;
}

type OAuthError = 'invalid_request' | 'invalid_client' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Our subject token type for token exchange: the subject_token is an identity's alias. */
export const IDENTITY_ALIAS_TOKEN_TYPE = 'urn:mfa-controller:params:oauth:token-type:identity-alias';

function oauthError(reply: FastifyReply, error: OAuthError, description: string): FastifyReply {
  const status = error === 'invalid_client' ? 401 : 400;
  if (error === 'invalid_client') reply.header('www-authenticate', 'Basic realm="mfa-controller"');
  return reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description });
}

/** client_id and client_secret from an `Authorization: Basic` header (form-url-encoded, RFC 6749 §2.3.1). */
function basicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | undefined | 'malformed' {
  if (!header) return undefined;
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!match?.[1]) return 'malformed';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  try {
    const unescape = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { clientId: unescape(decoded.slice(0, colon)), clientSecret: unescape(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

const field = (body: Record<string, unknown>, name: string): string | undefined => {
  const value = body[name];
  return typeof value === 'string' ? value : undefined;
};

/** Requests whose body was read and whose handler ran: an error after that point is not a body error. */
const reachedHandler = new WeakSet<object>();

export const oauthRoutes: FastifyPluginAsync<OAuthRoutesDeps> = async (app, deps) => {
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  await app.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: { fields: 10, fieldSize: 4096, files: 0, parts: 10 },
  });

  // A body the parsers refuse (malformed JSON, too large, wrong media type, a file part) is an OAuth
  // invalid_request (RFC 6749 §5.2), not the API's ErrorResponseDto; anything else is the common 500.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode;
    // A multipart body busboy cannot read (a wrong boundary, a truncated part) fails before the handler
    // runs, with no status: the client's malformed body, not a fault (found by test/fuzz).
    if (status === undefined && !reachedHandler.has(request) && request.isMultipart()) {
      return reply.code(400).header('cache-control', 'no-store').send({ error: 'invalid_request', error_description: 'the multipart body is malformed' });
    }
    if (status === undefined || status < 400 || status >= 500) return handleError(error, request, reply);
    const code = status === 413 || status === 415 ? status : 400;
    return reply.code(code).header('cache-control', 'no-store').send({ error: 'invalid_request', error_description: error.message });
  });

  app.post('/oauth/token', async (request, reply) => {
    reachedHandler.add(request);
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>;
    const grantType = field(body, 'grant_type');
    if (!grantType) return oauthError(reply, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials' && grantType !== TOKEN_EXCHANGE_GRANT) {
      return oauthError(reply, 'unsupported_grant_type', `grant_type ${grantType} is not supported`);
    }

    const basic = basicCredentials(request.headers.authorization);
    if (basic === 'malformed') return oauthError(reply, 'invalid_client', 'malformed Basic credentials');
    const inBody = field(body, 'client_id') !== undefined || field(body, 'client_secret') !== undefined;
    if (basic && inBody) return oauthError(reply, 'invalid_request', 'use one client authentication method, not two');
    const clientId = basic?.clientId ?? field(body, 'client_id');
    const clientSecret = basic?.clientSecret ?? field(body, 'client_secret');
    if (!clientId || !clientSecret) return oauthError(reply, 'invalid_client', 'client credentials are required');

    const client = await authenticateClient(deps.store, clientId, clientSecret);
    if (!client) return oauthError(reply, 'invalid_client', 'client authentication failed');

    // One scope parameter, a string (RFC 6749 §3.3). A repeated or array `scope` is refused: read as
    // "absent" it would grant every scope of the client.
    const scopeParam = body['scope'];
    if (scopeParam !== undefined && typeof scopeParam !== 'string') {
      return oauthError(reply, 'invalid_scope', 'scope must be given once, as one space-separated string');
    }
    // A personal client, and any exchanged token, acts for an identity and holds identity-bound scopes only
    // (never exchange, administration, configuration or metrics).
    const actsForIdentity = client.identityId !== null || grantType === TOKEN_EXCHANGE_GRANT;
    const grantable = actsForIdentity ? identityBound(client.scopes) : client.scopes;
    const requested = scopeParam?.split(' ').filter(Boolean);
    const scopes = requested ? [...new Set(requested)] : grantable;
    // A requested scope is within the grant when the client holds it or a scope implying it (sp:scopes:all).
    const beyond = scopes.filter((s) => !allows(grantable, [s]));
    if (beyond.length > 0) return oauthError(reply, 'invalid_scope', `not granted to this client: ${beyond.join(' ')}`);

    const headers = { 'cache-control': 'no-store', pragma: 'no-cache' };
    if (grantType === 'client_credentials') {
      let identity: { id: string; alias: string } | null = null;
      if (client.identityId !== null) {
        const found = await deps.store.findIdentityById(client.identityId);
        if (!found || found.status !== 'active') return oauthError(reply, 'unauthorized_client', 'the identity of this personal client is not active');
        identity = { id: found.id, alias: found.alias };
      }
      const { token, expiresIn } = await deps.tokens.issue(client.clientId, scopes, { identity });
      return reply.headers(headers).send({ access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: scopes.join(' ') });
    }

    // Token exchange (RFC 8693): a service client holding mfa:impersonate gets a token acting for an identity.
    if (client.identityId !== null || !client.scopes.includes(IMPERSONATE_SCOPE)) {
      return oauthError(reply, 'unauthorized_client', `token exchange needs the scope ${IMPERSONATE_SCOPE}`);
    }
    const subjectToken = field(body, 'subject_token');
    const subjectTokenType = field(body, 'subject_token_type');
    if (!subjectToken || !subjectTokenType) return oauthError(reply, 'invalid_request', 'subject_token and subject_token_type are required');
    // An alias is at most 256 characters everywhere in the API (docs/security.md).
    if (subjectToken.length > 256) return oauthError(reply, 'invalid_request', 'subject_token is longer than 256 characters');
    if (subjectTokenType !== IDENTITY_ALIAS_TOKEN_TYPE) {
      return oauthError(reply, 'invalid_request', `subject_token_type must be ${IDENTITY_ALIAS_TOKEN_TYPE}`);
    }
    const requestedType = field(body, 'requested_token_type');
    if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE) {
      return oauthError(reply, 'invalid_request', `requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const identity = await deps.store.findIdentity(subjectToken);
    if (!identity || identity.status !== 'active') return oauthError(reply, 'invalid_request', 'the subject_token names no active identity');
    const { token, expiresIn } = await deps.tokens.issue(client.clientId, scopes, { identity: { id: identity.id, alias: identity.alias }, exchanged: true });
    return reply.headers(headers).send({
      access_token: token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope: scopes.join(' '),
    });
  });
};

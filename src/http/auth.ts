// Bearer token check for API routes: 401 with the spec's body when the token is missing or invalid,
// 403 ErrorResponseDto when it lacks every scope the route accepts.
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { InvalidAccessToken, type AccessTokens, type Principal } from '../auth/access-tokens.js';
import { allows } from '../auth/scopes.js';
import { errorBody, sendUnauthorized } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Any one of these scopes admits the caller. */
    scopes?: readonly string[];
  }
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

export function bearerAuth(tokens: AccessTokens): onRequestHookHandler {
  return async function checkBearer(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    if (!header) return sendUnauthorized(reply, 'missing bearer token');
    const match = BEARER.exec(header);
    if (!match?.[1]) return sendUnauthorized(reply, 'malformed authorization header');
    try {
      request.principal = await tokens.verify(match[1]);
    } catch (err) {
      if (err instanceof InvalidAccessToken) return sendUnauthorized(reply, err.message);
      throw err;
    }
    const accepted = request.routeOptions.config.scopes;
    if (accepted && !allows(request.principal.scopes, accepted)) {
      return reply.code(403).send(errorBody(403, 'The server understood the request but refuses to authorize it.', [`Requires one of the scopes: ${accepted.join(', ')}`]));
    }
  };
}

/** The caller of an authenticated route (the hook guarantees it is set). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route is missing bearer authentication');
  return request.principal;
}

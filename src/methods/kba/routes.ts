// The security-question calls: the configuration calls of an identity, GET {base}/kba/config (the catalog
// as the identity sees it) and POST {base}/kba/config/answers (enrolment), registered under /v3 and /beta
// at /mfa and at /mfa/v1 for the versioned MFA Configuration API; and POST /mfa/kba/authenticate, the
// check, under /v3 and /beta. Each inside an authenticated context.
import type { FastifyPluginAsync } from 'fastify';
import type { KbaAnswerItem, KbaService } from './service.js';
import { actingIdentityOf, principalOf } from '../../http/auth.js';
import { schemaOf } from '../../http/spec.js';

export interface KbaConfigRoutesOptions {
  readonly kbaService: KbaService;
  /** Where the calls live: /mfa unless told otherwise. */
  readonly base?: string;
}

export const ANSWERS_BODY = { type: 'array', items: schemaOf('KbaAnswerRequestItem') };

/** The request id of a KBA check travels in this header: the spec's KbaAuthResponse has no field for it. */
export const REQUEST_ID_HEADER = 'x-mfa-request-id';

/** Every KBA call under /v3 and /beta: the configuration calls at /mfa and the check. */
export function kbaRoutes(kbaService: KbaService): FastifyPluginAsync {
  return async (app) => {
    await app.register(kbaConfigRoutes, { kbaService });

    app.post<{ Body: KbaAnswerItem[] }>(
      '/mfa/kba/authenticate',
      {
        config: { scopes: ['idn:mfa-kba:authenticate'], limitsFailedChecks: true },
        schema: { body: ANSWERS_BODY, response: { 200: schemaOf('KbaAuthResponse') } },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const identity = actingIdentityOf(request);
        const { requestId, ...answer } = await kbaService.authenticate(identity, principal.clientId, request.body);
        reply.header(REQUEST_ID_HEADER, requestId);
        return answer;
      },
    );
  };
}

export const kbaConfigRoutes: FastifyPluginAsync<KbaConfigRoutesOptions> = async (app, deps) => {
  const base = deps.base ?? '/mfa';

  app.get<{ Querystring: { allLanguages?: 'true' | 'false' } }>(
    `${base}/kba/config`,
    {
      config: { scopes: ['idn:mfa-kba:read'] },
      schema: {
        querystring: { type: 'object', properties: { allLanguages: { type: 'string', enum: ['true', 'false'] } } },
        response: { 200: { type: 'array', items: schemaOf('KbaQuestion') } },
      },
    },
    async (request) => {
      const identity = actingIdentityOf(request);
      return deps.kbaService.questions(identity, request.query.allLanguages === 'true');
    },
  );

  app.post<{ Body: KbaAnswerItem[] }>(
    `${base}/kba/config/answers`,
    {
      config: { scopes: ['idn:mfa-kba:authenticate'] },
      schema: { body: ANSWERS_BODY, response: { 200: { type: 'array', items: schemaOf('KbaAnswerResponseItem') } } },
    },
    async (request) => {
      return deps.kbaService.setAnswers(actingIdentityOf(request), principalOf(request).clientId, request.body);
    },
  );
};

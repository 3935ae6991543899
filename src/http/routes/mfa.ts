// The MFA Controller API, registered once under /v3 and once under /beta.
import type { FastifyPluginAsync } from 'fastify';
import type { DeliveryType, Method } from '../../core/model.js';
import type { Clock, Store } from '../../core/ports.js';
import { pollVerification, type ProviderPoller } from '../../methods/poll.js';
import type { KbaAnswerItem, KbaService } from '../../methods/kba/service.js';
import type { TokenService } from '../../methods/token/service.js';
import type { AccessTokens } from '../../auth/access-tokens.js';
import { actingIdentityOf, bearerAuth, identityBinding, principalOf } from '../auth.js';
import { boundUserFields, failedCheckGate } from '../bounds.js';
import type { FailedCheckLimit } from '../../services/failed-checks.js';
import { schemaOf } from '../spec.js';
import { ANSWERS_BODY, kbaConfigRoutes } from '../../methods/kba/routes.js';
import { providerRoutes, type ProviderRoutesDeps } from './providers.js';

export interface MfaRoutesDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly tokens: AccessTokens;
  readonly tokenService: TokenService;
  readonly kbaService: KbaService;
  readonly providers: ProviderRoutesDeps;
  readonly pollers: Readonly<Partial<Record<Method, ProviderPoller>>>;
  /** Routes of the provider methods (Duo, Okta, RSA), registered behind the same bearer check. */
  readonly methodRoutes: readonly FastifyPluginAsync[];
  /** The per-client budget of failed checks, applied to routes marked `limitsFailedChecks`. */
  readonly failedChecks: FailedCheckLimit;
}

/** The request id of a KBA check travels in this header: the spec's KbaAuthResponse has no field for it. */
export const REQUEST_ID_HEADER = 'x-mfa-request-id';

const METHOD_PARAM = {
  type: 'object',
  required: ['method'],
  properties: { method: { type: 'string', enum: ['okta-verify', 'duo-web', 'kba', 'token', 'rsa'] } },
} as const;

export const mfaRoutes: FastifyPluginAsync<MfaRoutesDeps> = async (app, deps) => {
  app.addHook('onRequest', bearerAuth(deps.tokens));
  // Before any route below (and the method routes' plugins) is added, so they apply to every one.
  app.addHook('onRoute', boundUserFields);
  app.addHook('preHandler', identityBinding(deps.store));
  app.addHook('preHandler', failedCheckGate(deps.failedChecks));
  await app.register(providerRoutes, deps.providers);
  await app.register(kbaConfigRoutes, { kbaService: deps.kbaService });
  for (const routes of deps.methodRoutes) await app.register(routes);

  app.post<{ Body: { userAlias: string; deliveryType: DeliveryType } }>(
    '/mfa/token/send',
    {
      config: { scopes: ['idn:mfa:send'] },
      schema: { body: schemaOf('SendTokenRequest'), response: { 200: schemaOf('SendTokenResponse') } },
    },
    async (request) => {
      const { userAlias, deliveryType } = request.body;
      return deps.tokenService.send(principalOf(request).clientId, userAlias, deliveryType);
    },
  );

  app.post<{ Body: { token: string; userAlias: string; deliveryType: DeliveryType } }>(
    '/mfa/token/authenticate',
    {
      config: { scopes: ['idn:mfa:verify'], limitsFailedChecks: true },
      schema: { body: schemaOf('TokenAuthRequest'), response: { 200: schemaOf('TokenAuthResponse') } },
    },
    async (request) => {
      const { token, userAlias, deliveryType } = request.body;
      return { status: await deps.tokenService.authenticate(userAlias, deliveryType, token, principalOf(request).clientId) };
    },
  );

  app.post<{ Body: KbaAnswerItem[] }>(
    '/mfa/kba/authenticate',
    {
      config: { scopes: ['idn:mfa-kba:authenticate'], limitsFailedChecks: true },
      schema: { body: ANSWERS_BODY, response: { 200: schemaOf('KbaAuthResponse') } },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const identity = actingIdentityOf(request);
      const { requestId, ...answer } = await deps.kbaService.authenticate(identity, principal.clientId, request.body);
      reply.header(REQUEST_ID_HEADER, requestId);
      return answer;
    },
  );

  app.post<{ Params: { method: Method }; Body: { requestId: string } }>(
    '/mfa/:method/poll',
    {
      config: { scopes: ['idn:mfa:poll'] },
      schema: { params: METHOD_PARAM, body: schemaOf('VerificationPollRequest'), response: { 200: schemaOf('VerificationResponse') } },
    },
    async (request) => {
      // A token acting for an identity polls only that identity's verifications.
      const acting = request.actingIdentity;
      const subjects = acting ? [acting.alias, acting.id] : undefined;
      return pollVerification(deps.store, deps.clock, deps.pollers, principalOf(request).clientId, request.params.method, request.body.requestId, subjects);
    },
  );
};

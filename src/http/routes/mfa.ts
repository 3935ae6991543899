// The MFA Controller API, registered once under /v3 and once under /beta.
import type { FastifyPluginAsync } from 'fastify';
import type { DeliveryType, Method } from '../../core/model.js';
import type { Clock, Store } from '../../core/ports.js';
import { pollVerification } from '../../services/poll.js';
import type { TokenService } from '../../services/token.js';
import type { AccessTokens } from '../../auth/access-tokens.js';
import { bearerAuth, principalOf } from '../auth.js';
import { schemaOf } from '../spec.js';

export interface MfaRoutesDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly tokens: AccessTokens;
  readonly tokenService: TokenService;
}

const METHOD_PARAM = {
  type: 'object',
  required: ['method'],
  properties: { method: { type: 'string', enum: ['okta-verify', 'duo-web', 'kba', 'token', 'rsa'] } },
} as const;

export const mfaRoutes: FastifyPluginAsync<MfaRoutesDeps> = async (app, deps) => {
  app.addHook('onRequest', bearerAuth(deps.tokens));

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
      config: { scopes: ['idn:mfa:verify'] },
      schema: { body: schemaOf('TokenAuthRequest'), response: { 200: schemaOf('TokenAuthResponse') } },
    },
    async (request) => {
      const { token, userAlias, deliveryType } = request.body;
      return { status: await deps.tokenService.authenticate(userAlias, deliveryType, token) };
    },
  );

  app.post<{ Params: { method: Method }; Body: { requestId: string } }>(
    '/mfa/:method/poll',
    {
      config: { scopes: ['idn:mfa:poll'] },
      schema: { params: METHOD_PARAM, body: schemaOf('VerificationPollRequest'), response: { 200: schemaOf('VerificationResponse') } },
    },
    async (request) => pollVerification(deps.store, deps.clock, principalOf(request).clientId, request.params.method, request.body.requestId),
  );
};

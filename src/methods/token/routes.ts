// POST /mfa/token/send and POST /mfa/token/authenticate, registered inside the authenticated /v3 and /beta
// contexts.
import type { FastifyPluginAsync } from 'fastify';
import type { DeliveryType } from '../../core/model.js';
import { principalOf } from '../../http/auth.js';
import { schemaOf } from '../../http/spec.js';
import type { TokenService } from './service.js';

export function tokenRoutes(service: TokenService): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: { userAlias: string; deliveryType: DeliveryType } }>(
      '/mfa/token/send',
      {
        config: { scopes: ['idn:mfa:send'] },
        schema: { body: schemaOf('SendTokenRequest'), response: { 200: schemaOf('SendTokenResponse') } },
      },
      async (request) => {
        const { userAlias, deliveryType } = request.body;
        return service.send(principalOf(request).clientId, userAlias, deliveryType);
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
        return { status: await service.authenticate(userAlias, deliveryType, token, principalOf(request).clientId) };
      },
    );
  };
}

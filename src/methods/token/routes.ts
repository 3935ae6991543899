// POST /mfa/token/send and POST /mfa/token/authenticate, registered inside the authenticated /v3 and /beta
// contexts.
import type { FastifyPluginAsync } from 'fastify';
import type { DeliveryType } from '../../core/model.js';
import { principalOf } from '../../http/auth.js';
import { schemaOf } from '../../http/spec.js';
import type { FailedCheckLimit } from '../../services/failed-checks.js';
import type { TokenService } from './service.js';

export function tokenRoutes(service: TokenService, failedChecks: Pick<FailedCheckLimit, 'admit'>): FastifyPluginAsync {
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
        // The failed-check budget is admitted by the service (not the `limitsFailedChecks` hook), reading the
        // client's count together with the token's state.
        config: { scopes: ['idn:mfa:verify'] },
        schema: { body: schemaOf('TokenAuthRequest'), response: { 200: schemaOf('TokenAuthResponse') } },
      },
      async (request) => {
        const { token, userAlias, deliveryType } = request.body;
        const { clientId } = principalOf(request);
        return { status: await service.authenticate(userAlias, deliveryType, token, clientId, () => failedChecks.admit(clientId)) };
      },
    );
  };
}

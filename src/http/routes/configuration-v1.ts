// The MFA Configuration API as SailPoint also publishes it on its own, versioned (api-specs
// idn/apis/mfa-configuration, version v1): GET/PUT /mfa/v1/okta-verify/config and /mfa/v1/duo-web/config,
// GET /mfa/v1/kba/config, POST /mfa/v1/kba/config/answers and GET /mfa/v1/{method}/test, at the root of
// the server (no /v3 or /beta). The same handlers and scopes as the controller's calls; v1 has no delete
// and no RSA (this service's extension stays under /v3 and /beta).
import type { FastifyPluginAsync } from 'fastify';
import type { AccessTokens } from '../../auth/access-tokens.js';
import type { KbaService } from '../../methods/kba/service.js';
import type { Store } from '../../core/ports.js';
import { bearerAuth, identityBinding } from '../auth.js';
import { kbaConfigRoutes } from '../../methods/kba/routes.js';
import { providerRoutes, type ProviderRoutesDeps } from './providers.js';

export interface ConfigurationV1RoutesDeps {
  readonly store: Store;
  readonly tokens: AccessTokens;
  readonly kbaService: KbaService;
  readonly providers: ProviderRoutesDeps;
}

/** Where the versioned configuration API lives. */
export const CONFIGURATION_V1_BASE = '/mfa/v1';

export const configurationV1Routes: FastifyPluginAsync<ConfigurationV1RoutesDeps> = async (app, deps) => {
  app.addHook('onRequest', bearerAuth(deps.tokens));
  // The same identity binding as under /v3 and /beta: the KBA calls act for the token's identity.
  app.addHook('preHandler', identityBinding(deps.store));
  await app.register(providerRoutes, { ...deps.providers, base: CONFIGURATION_V1_BASE, methods: ['okta-verify', 'duo-web'], withDelete: false });
  await app.register(kbaConfigRoutes, { kbaService: deps.kbaService, base: CONFIGURATION_V1_BASE });
};

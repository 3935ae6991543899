// The MFA Configuration API as SailPoint also publishes it on its own, versioned (api-specs
// idn/apis/mfa-configuration, version v1): GET/PUT /mfa/v1/okta-verify/config and /mfa/v1/duo-web/config,
// GET /mfa/v1/kba/config, POST /mfa/v1/kba/config/answers and GET /mfa/v1/{method}/test, at the root of
// the server (no /v3 or /beta). The same handlers and scopes as the controller's calls; v1 has no delete
// and no RSA (this service's extension stays under /v3 and /beta). Which methods take part is read from
// their descriptors (src/methods).
import type { FastifyPluginAsync } from 'fastify';
import type { AccessTokens } from '../../auth/access-tokens.js';
import type { IdentityStore, ProviderConfigStore } from '../../core/ports.js';
import { CONFIGURATION_V1_PROVIDER_METHODS } from '../../methods/index.js';
import type { BuiltMethod } from '../../methods/method.js';
import { bearerAuth, identityBinding } from '../auth.js';
import { providerRoutes, type ProviderRoutesDeps } from './providers.js';

export interface ConfigurationV1RoutesDeps {
  readonly store: Pick<IdentityStore, 'findIdentityById'> & Pick<ProviderConfigStore, 'findProviderConfig'>;
  readonly tokens: AccessTokens;
  readonly providers: ProviderRoutesDeps;
  /** The methods' own v1 routes (KBA's configuration calls). */
  readonly methods: readonly BuiltMethod[];
}

/** Where the versioned configuration API lives. */
export const CONFIGURATION_V1_BASE = '/mfa/v1';

export const configurationV1Routes: FastifyPluginAsync<ConfigurationV1RoutesDeps> = async (app, deps) => {
  app.addHook('onRequest', bearerAuth(deps.tokens));
  // The same identity binding as under /v3 and /beta: the KBA calls act for the token's identity.
  app.addHook('preHandler', identityBinding(deps.store));
  await app.register(providerRoutes, { ...deps.providers, base: CONFIGURATION_V1_BASE, methods: CONFIGURATION_V1_PROVIDER_METHODS, withDelete: false });
  for (const method of deps.methods) {
    if (method.configurationV1Routes) await app.register(method.configurationV1Routes, { base: CONFIGURATION_V1_BASE });
  }
};

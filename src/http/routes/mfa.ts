// The MFA Controller API, registered once under /v3 and once under /beta: the provider configuration
// calls, each method's own routes (from its descriptor, src/methods), and the poll every method shares.
import type { FastifyPluginAsync } from 'fastify';
import type { AccessTokens } from '../../auth/access-tokens.js';
import type { Clock, IdentityStore, ProviderConfigStore, VerificationStore } from '../../core/ports.js';
import { METHODS, type Method } from '../../methods/index.js';
import type { BuiltMethod } from '../../methods/method.js';
import { pollVerification, type ProviderPoller } from '../../methods/poll.js';
import type { FailedCheckLimit } from '../../services/failed-checks.js';
import { bearerAuth, identityBinding, principalOf } from '../auth.js';
import { boundUserFields, failedCheckGate } from '../bounds.js';
import { schemaOf } from '../spec.js';
import { providerRoutes, type ProviderRoutesDeps } from './providers.js';

export interface MfaRoutesDeps {
  readonly store: Pick<IdentityStore, 'findIdentityById'> & Pick<ProviderConfigStore, 'findProviderConfig'> & Pick<VerificationStore, 'findVerification'>;
  readonly clock: Clock;
  readonly tokens: AccessTokens;
  readonly providers: ProviderRoutesDeps;
  /** Each method's routes, registered behind the same hooks as every call here. */
  readonly methods: readonly BuiltMethod[];
  /** The methods that ask a provider where a pending verification stands. */
  readonly pollers: Readonly<Partial<Record<Method, ProviderPoller>>>;
  /** The per-client budget of failed checks, applied to routes marked `limitsFailedChecks`. */
  readonly failedChecks: FailedCheckLimit;
}

const METHOD_PARAM = {
  type: 'object',
  required: ['method'],
  properties: { method: { type: 'string', enum: [...METHODS] } },
} as const;

export const mfaRoutes: FastifyPluginAsync<MfaRoutesDeps> = async (app, deps) => {
  app.addHook('onRequest', bearerAuth(deps.tokens));
  // Before any route below (and the methods' plugins) is added, so they apply to every one.
  app.addHook('onRoute', boundUserFields);
  app.addHook('preHandler', identityBinding(deps.store));
  app.addHook('preHandler', failedCheckGate(deps.failedChecks));
  await app.register(providerRoutes, deps.providers);
  for (const method of deps.methods) {
    if (method.routes) await app.register(method.routes);
  }

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

// The MFA Configuration calls of every method with a provider configuration (its descriptor's `provider`):
// GET/PUT /mfa/{id}/config in the schema it names, GET /mfa/{method}/test, DELETE /mfa/{method}/delete. The
// spec's are duo-web and okta-verify; RSA SecurID has the same calls as a documented extension. The
// versioned MFA Configuration API v1 registers the same handlers under /mfa/v1 (routes/configuration-v1.ts).
import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../core/errors.js';
import { errorNotConfigured, type ProviderConfigInput } from '../../core/provider-config.js';
import { PROVIDER_METHODS, providerMethodsInSpecOrder, providerOf, type ProviderMethod } from '../../methods/index.js';
import type { ProviderConfigs, ProviderTester } from '../../services/provider-configs.js';
import { schemaOf } from '../spec.js';

export interface ProviderRoutesDeps {
  readonly configs: ProviderConfigs;
  readonly testers: Readonly<Partial<Record<ProviderMethod, ProviderTester>>>;
}

export interface ProviderRoutesOptions extends ProviderRoutesDeps {
  /** Where the calls live: /mfa (under /v3 and /beta) unless told otherwise. */
  readonly base?: string;
  /** The methods with config calls, and the ones test (and delete) accept: every provider method unless told otherwise. */
  readonly methods?: readonly ProviderMethod[];
  /** DELETE {base}/{method}/delete; the versioned v1 API has no delete. */
  readonly withDelete?: boolean;
}

const READ = ['idn:mfa-configuration:read', 'idn:mfa-configuration:manage'];
const MANAGE = ['idn:mfa-configuration:manage'];

// The spec's enum for test and delete, in its order, and this service's own provider methods after it.
const methodParam = (methods: readonly ProviderMethod[]) =>
  ({
    type: 'object',
    required: ['method'],
    properties: { method: { type: 'string', enum: providerMethodsInSpecOrder(methods, '/mfa/{method}/test', 'get') } },
  }) as const;

/** Registered inside authenticated contexts (/v3, /beta, and the v1 configuration API). */
export const providerRoutes: FastifyPluginAsync<ProviderRoutesOptions> = async (app, deps) => {
  const base = deps.base ?? '/mfa';
  const methods = deps.methods ?? PROVIDER_METHODS;
  const params = methodParam(methods);
  for (const method of methods) {
    const schema = schemaOf(providerOf(method).schema);
    app.get(`${base}/${method}/config`, { config: { scopes: READ }, schema: { response: { 200: schema } } }, async () => deps.configs.view(method));
    app.put<{ Body: ProviderConfigInput }>(
      `${base}/${method}/config`,
      { config: { scopes: MANAGE }, schema: { body: schema, response: { 200: schema } } },
      async (request) => deps.configs.put(method, request.body),
    );
  }

  app.get<{ Params: { method: ProviderMethod } }>(
    `${base}/:method/test`,
    { config: { scopes: READ }, schema: { params, response: { 200: schemaOf('MfaConfigTestResponse') } } },
    async (request) => {
      const usable = await deps.configs.usable(request.params.method);
      if (typeof usable === 'string') return { state: 'FAILED', error: usable };
      const tester = deps.testers[request.params.method];
      if (!tester) return { state: 'FAILED', error: `Testing ${request.params.method} is not supported.` };
      const result = await tester(usable);
      return result.ok ? { state: 'SUCCESS' } : { state: 'FAILED', error: result.reason };
    },
  );

  if (deps.withDelete === false) return;
  app.delete<{ Params: { method: ProviderMethod } }>(
    `${base}/:method/delete`,
    { config: { scopes: MANAGE }, schema: { params, response: { 200: schemaOf('MfaOktaConfig') } } },
    async (request) => {
      const removed = await deps.configs.delete(request.params.method);
      if (!removed) throw notFound(errorNotConfigured(request.params.method));
      return removed;
    },
  );
};

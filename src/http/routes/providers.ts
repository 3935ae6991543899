// The MFA Configuration calls for outside providers: GET/PUT /mfa/duo-web/config and
// /mfa/okta-verify/config, GET /mfa/{method}/test, DELETE /mfa/{method}/delete. RSA SecurID has the same
// calls as a documented extension (/mfa/rsa/config, and rsa accepted by test and delete).
import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../core/errors.js';
import type { ProviderConfigInput, ProviderMethod } from '../../core/provider-config.js';
import type { ProviderConfigs, ProviderTester } from '../../services/provider-configs.js';
import { schemaOf } from '../spec.js';

export interface ProviderRoutesDeps {
  readonly configs: ProviderConfigs;
  readonly testers: Readonly<Partial<Record<ProviderMethod, ProviderTester>>>;
}

const READ = ['idn:mfa-configuration:read', 'idn:mfa-configuration:manage'];
const MANAGE = ['idn:mfa-configuration:manage'];

const CONFIG_SCHEMA: Readonly<Record<ProviderMethod, string>> = {
  'duo-web': 'MfaDuoConfig',
  'okta-verify': 'MfaOktaConfig',
  rsa: 'MfaDuoConfig',
};

// The spec's enum for test and delete, plus rsa (this service's extension).
const METHOD_PARAM = {
  type: 'object',
  required: ['method'],
  properties: { method: { type: 'string', enum: ['okta-verify', 'duo-web', 'rsa'] } },
} as const;

/** Registered inside the authenticated /v3 and /beta contexts. */
export const providerRoutes: FastifyPluginAsync<ProviderRoutesDeps> = async (app, deps) => {
  for (const method of ['duo-web', 'okta-verify', 'rsa'] as const) {
    const schema = schemaOf(CONFIG_SCHEMA[method]);
    app.get(`/mfa/${method}/config`, { config: { scopes: READ }, schema: { response: { 200: schema } } }, async () => deps.configs.view(method));
    app.put<{ Body: ProviderConfigInput }>(
      `/mfa/${method}/config`,
      { config: { scopes: MANAGE }, schema: { body: schema, response: { 200: schema } } },
      async (request) => deps.configs.put(method, request.body),
    );
  }

  app.get<{ Params: { method: ProviderMethod } }>(
    '/mfa/:method/test',
    { config: { scopes: READ }, schema: { params: METHOD_PARAM, response: { 200: schemaOf('MfaConfigTestResponse') } } },
    async (request) => {
      const usable = await deps.configs.usable(request.params.method);
      if (typeof usable === 'string') return { state: 'FAILED', error: usable };
      const tester = deps.testers[request.params.method];
      if (!tester) return { state: 'FAILED', error: `Testing ${request.params.method} is not supported.` };
      const result = await tester(usable);
      return result.ok ? { state: 'SUCCESS' } : { state: 'FAILED', error: result.reason };
    },
  );

  app.delete<{ Params: { method: ProviderMethod } }>(
    '/mfa/:method/delete',
    { config: { scopes: MANAGE }, schema: { params: METHOD_PARAM, response: { 200: schemaOf('MfaOktaConfig') } } },
    async (request) => {
      const removed = await deps.configs.delete(request.params.method);
      if (!removed) throw notFound(`MFA method ${request.params.method} is not configured.`);
      return removed;
    },
  );
};

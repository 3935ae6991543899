// The MFA Configuration calls for outside providers: GET/PUT /mfa/duo-web/config and
// /mfa/okta-verify/config, GET /mfa/{method}/test, DELETE /mfa/{method}/delete. RSA SecurID has the same
// calls as a documented extension (/mfa/rsa/config, and rsa accepted by test and delete). The versioned
// MFA Configuration API v1 registers the same handlers under /mfa/v1 (routes/configuration-v1.ts).
import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../core/errors.js';
import type { ProviderConfigInput, ProviderMethod } from '../../core/provider-config.js';
import type { ProviderConfigs, ProviderTester } from '../../services/provider-configs.js';
import { schemaOf } from '../spec.js';

export interface ProviderRoutesDeps {
  readonly configs: ProviderConfigs;
  readonly testers: Readonly<Partial<Record<ProviderMethod, ProviderTester>>>;
}

export interface ProviderRoutesOptions extends ProviderRoutesDeps {
  /** Where the calls live: /mfa (under /v3 and /beta) unless told otherwise. */
  readonly base?: string;
  /** The methods with config calls, and the ones test (and delete) accept: every provider unless told otherwise. */
  readonly methods?: readonly ProviderMethod[];
  /** DELETE {base}/{method}/delete; the versioned v1 API has no delete. */
  readonly withDelete?: boolean;
}

const READ = ['idn:mfa-configuration:read', 'idn:mfa-configuration:manage'];
const MANAGE = ['idn:mfa-configuration:manage'];

const CONFIG_SCHEMA: Readonly<Record<ProviderMethod, string>> = {
  'duo-web': 'MfaDuoConfig',
  'okta-verify': 'MfaOktaConfig',
  rsa: 'MfaDuoConfig',
};

// The spec's enum for test and delete, plus rsa (this service's extension).
const ALL_METHODS: readonly ProviderMethod[] = ['duo-web', 'okta-verify', 'rsa'];

const methodParam = (methods: readonly ProviderMethod[]) =>
  ({
    type: 'object',
    required: ['method'],
    properties: { method: { type: 'string', enum: [...methods] } },
  }) as const;

/** Registered inside authenticated contexts (/v3, /beta, and the v1 configuration API). */
export const providerRoutes: FastifyPluginAsync<ProviderRoutesOptions> = async (app, deps) => {
  const base = deps.base ?? '/mfa';
  const methods = deps.methods ?? ALL_METHODS;
  const params = methodParam(methods);
  for (const method of methods) {
    const schema = schemaOf(CONFIG_SCHEMA[method]);
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
      if (!removed) throw notFound(`MFA method ${request.params.method} is not configured.`);
      return removed;
    },
  );
};

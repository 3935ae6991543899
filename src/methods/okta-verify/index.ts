// Okta Verify push (docs/okta.md): a push through Okta's Factors API, its outcome asked of Okta by poll.
import { defineMethod } from '../method.js';
import { oktaProvider } from './provider.js';
import { oktaRoutes } from './routes.js';
import { OktaVerifyService } from './service.js';

export const oktaVerify = defineMethod({
  id: 'okta-verify',
  settings: (config) => config.okta,
  provider: oktaProvider,
  openapi: {
    official: [
      ['/mfa/okta-verify/verify', 'post'],
      ['/mfa/okta-verify/config', 'get'],
      ['/mfa/okta-verify/config', 'put'],
    ],
    configurationV1: [
      ['/mfa/okta-verify/config', 'get'],
      ['/mfa/okta-verify/config', 'put'],
    ],
  },
  examples: {
    requests: {
      'POST /mfa/okta-verify/verify': (source) => ({ userId: source.email() }),
    },
  },
  build(context, settings) {
    const service = new OktaVerifyService({
      store: context.store,
      clock: context.clock,
      randomBytes: context.randomBytes,
      configs: context.providers.configs,
      gateway: context.providers.gateway({ name: 'okta', component: 'okta', timeoutMs: settings.timeoutMs }),
      fetch: context.providers.fetch,
      settings,
      userAgent: 'mfa-controller/0.1.0 (Okta Verify push)',
      audit: context.audit,
    });
    return { routes: oktaRoutes(service), poller: service.poll, tester: service.test };
  },
});

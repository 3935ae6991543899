// Duo Web v2 (docs/duo.md): the Duo prompt's signed response checked here, the prompt's request signed here.
import { DuoAuthApi } from '../../providers/duo/auth-api.js';
import { defineMethod } from '../method.js';
import { DUO_EXAMPLE_IKEY, duoProvider } from './provider.js';
import { duoRoutes } from './routes.js';
import { DuoService } from './service.js';

export const duoWeb = defineMethod({
  id: 'duo-web',
  settings: () => undefined,
  provider: duoProvider,
  openapi: {
    official: [
      ['/mfa/duo-web/verify', 'post'],
      ['/mfa/duo-web/config', 'get'],
      ['/mfa/duo-web/config', 'put'],
    ],
    configurationV1: [
      ['/mfa/duo-web/config', 'get'],
      ['/mfa/duo-web/config', 'put'],
    ],
    extensions: {
      '/mfa/duo-web/sign-request': {
        post: {
          operationId: 'signDuoRequest',
          tags: ['MFA Controller'],
          summary: 'Duo Web v2 sig_request for an identity\'s Duo prompt (extension; scope idn:mfa:verify; docs/duo.md)',
          description: 'Body {userId}: the identity alias. Answers {signedRequest, host}: the sig_request for the Duo iframe prompt, signed for the Duo username held in the configured identity attribute, and the Duo API host.',
          responses: { '200': { description: 'The signed request and the Duo host.' }, '400': { description: 'Duo is not configured or enabled.' }, '404': { description: 'No active identity with a Duo username.' } },
        },
      },
    },
  },
  examples: {
    requests: {
      'POST /mfa/duo-web/verify': (source) => {
        // A response of the right shape for the example configuration: signed with a wrong key, so it fails.
        const part = (prefix: string) =>
          `${prefix}|${Buffer.from(`${source.alias()}|${DUO_EXAMPLE_IKEY}|${source.nowSeconds() + source.integer(-600, 600)}`).toString('base64url')}|${source.hex(20)}`;
        return { userId: source.alias(), signedResponse: `${part('AUTH')}:${part('APP')}` };
      },
      'POST /mfa/duo-web/sign-request': (source) => ({ userId: source.alias() }),
    },
  },
  build(context) {
    const service = new DuoService({
      store: context.store,
      clock: context.clock,
      randomBytes: context.randomBytes,
      configs: context.providers.configs,
      authApi: new DuoAuthApi(context.providers.gateway({ name: 'duo', component: 'duo' }), context.clock, context.providers.fetch),
      replayKey: context.deriveKey('duo-replay'),
      audit: context.audit,
    });
    return { routes: duoRoutes(service), tester: service.test };
  },
});

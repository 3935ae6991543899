// RSA SecurID (docs/rsa.md): push approval answered by poll, or a tokencode decided at once. The spec polls
// rsa but has no call to start or configure it: those are this service's extensions.
import { defineMethod, type OpenApiOperation } from '../method.js';
import { rsaProvider } from './provider.js';
import { rsaRoutes } from './routes.js';
import { RsaService } from './service.js';

const configOperation = (operationId: string, summary: string, responses: OpenApiOperation['responses']): OpenApiOperation => ({
  operationId,
  tags: ['MFA Configuration'],
  summary,
  responses,
});

export const rsa = defineMethod({
  id: 'rsa',
  settings: () => undefined,
  provider: rsaProvider,
  openapi: {
    extensions: {
      '/mfa/rsa/verify': {
        post: {
          operationId: 'sendRsaVerifyRequest',
          tags: ['MFA Controller'],
          summary: 'Start an RSA SecurID verification (extension; scope idn:mfa:verify; docs/rsa.md)',
          description: 'Body {userId, method: APPROVE | SECURID, tokencode?}. APPROVE sends a push and answers PENDING; poll /mfa/rsa/poll for the outcome. SECURID checks the tokencode at once and answers SUCCESS or FAILED. Answers VerificationResponse.',
          responses: { '200': { description: 'VerificationResponse.' }, '400': { description: 'The body is not valid.' } },
        },
      },
      '/mfa/rsa/config': {
        get: configOperation('getMFARsaConfig', 'RSA SecurID configuration, client key masked (extension; MfaDuoConfig shape)', { '200': { description: 'The configuration.' } }),
        put: configOperation('setMFARsaConfig', 'Set the RSA SecurID configuration (extension; MfaDuoConfig shape)', { '200': { description: 'The configuration.' }, '400': { description: 'What is missing or wrong.' } }),
      },
    },
  },
  examples: {
    requests: {
      'POST /mfa/rsa/verify': (source) =>
        source.chance(0.5) ? { userId: source.alias(), method: 'SECURID', tokencode: source.digits(8) } : { userId: source.alias(), method: 'APPROVE' },
    },
  },
  build(context) {
    const service = new RsaService({
      store: context.store,
      clock: context.clock,
      randomBytes: context.randomBytes,
      configs: context.providers.configs,
      gateway: context.providers.gateway({ name: 'RSA SecurID', component: 'rsa' }),
      fetch: context.providers.fetch,
      audit: context.audit,
    });
    return { routes: rsaRoutes(service), poller: service.poll, tester: service.test };
  },
});

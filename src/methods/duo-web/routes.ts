// POST /mfa/duo-web/verify (official) and POST /mfa/duo-web/sign-request (extension), registered inside
// the authenticated /v3 and /beta contexts.
import type { FastifyPluginAsync } from 'fastify';
import type { DuoService } from './service.js';
import { principalOf } from '../../http/auth.js';
import { schemaOf } from '../../http/spec.js';

const SIGN_REQUEST_BODY = {
  type: 'object',
  required: ['userId'],
  properties: { userId: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;

const SIGN_REQUEST_RESPONSE = {
  type: 'object',
  properties: { signedRequest: { type: 'string' }, host: { type: 'string' } },
} as const;

export function duoRoutes(service: DuoService): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: { userId: string; signedResponse: string } }>(
      '/mfa/duo-web/verify',
      {
        config: { scopes: ['idn:mfa:verify'], limitsFailedChecks: true },
        schema: { body: schemaOf('DuoVerificationRequest'), response: { 200: schemaOf('VerificationResponse') } },
      },
      async (request) => service.verify(principalOf(request).clientId, request.body.userId, request.body.signedResponse),
    );

    app.post<{ Body: { userId: string } }>(
      '/mfa/duo-web/sign-request',
      {
        config: { scopes: ['idn:mfa:verify'] },
        schema: { body: SIGN_REQUEST_BODY, response: { 200: SIGN_REQUEST_RESPONSE } },
      },
      async (request) => service.signRequestFor(request.body.userId),
    );
  };
}

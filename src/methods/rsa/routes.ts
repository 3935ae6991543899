// POST /mfa/rsa/verify: this service's extension that starts an RSA SecurID verification (the spec polls
// rsa but has no call to start one). Registered inside the authenticated /v3 and /beta contexts.
import type { FastifyPluginAsync } from 'fastify';
import type { RsaService, RsaStartInput } from './service.js';
import { principalOf } from '../../http/auth.js';
import { schemaOf } from '../../http/spec.js';

export const RSA_VERIFY_BODY = {
  type: 'object',
  required: ['userId', 'method'],
  additionalProperties: false,
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 256, description: 'The identity alias.' },
    method: { type: 'string', enum: ['APPROVE', 'SECURID'], description: 'APPROVE: push approval, answered by polling; SECURID: a tokencode, decided at once.' },
    // A passcode is an optional PIN followed by the tokencode shown on the token.
    tokencode: { type: 'string', pattern: '^[0-9A-Za-z]{4,32}$', description: 'The SecurID passcode (required with SECURID, refused with APPROVE).' },
  },
  if: { properties: { method: { const: 'SECURID' } } },
  then: { required: ['tokencode'] },
  else: { not: { required: ['tokencode'] } },
} as const;

export function rsaRoutes(service: RsaService): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: RsaStartInput }>(
      '/mfa/rsa/verify',
      {
        config: { scopes: ['idn:mfa:verify'], limitsFailedChecks: true },
        schema: { body: RSA_VERIFY_BODY, response: { 200: schemaOf('VerificationResponse') } },
      },
      async (request) => service.start(principalOf(request).clientId, request.body),
    );
  };
}

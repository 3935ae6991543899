// POST /mfa/okta-verify/verify, registered inside the authenticated /v3 and /beta contexts.
import type { FastifyPluginAsync } from 'fastify';
import type { OktaVerifyService } from './service.js';
import { principalOf } from '../../http/auth.js';
import { schemaOf } from '../../http/spec.js';

/** The number to pick in a number-matching push: VerificationResponse has no field for it. */
export const NUMBER_CHALLENGE_HEADER = 'x-mfa-number-challenge';

export function oktaRoutes(service: OktaVerifyService): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: { userId: string } }>(
      '/mfa/okta-verify/verify',
      {
        config: { scopes: ['idn:mfa:verify'], userAttributeOf: 'okta-verify', limitsFailedChecks: true },
        schema: { body: schemaOf('OktaVerificationRequest'), response: { 200: schemaOf('VerificationResponse') } },
      },
      async (request, reply) => {
        const { correctAnswer, ...answer } = await service.verify(principalOf(request).clientId, request.body.userId, request.headers['slpt-forwarding']);
        if (correctAnswer !== undefined) reply.header(NUMBER_CHALLENGE_HEADER, String(correctAnswer));
        return answer;
      },
    );
  };
}

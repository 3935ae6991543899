// The authenticator-app calls under /v3 and /beta (docs/totp.md), registered inside the authenticated
// context, so the bearer check, identity binding and the failed-check budget apply as to every method.
// Poll is the shared POST /mfa/{method}/poll.
import type { FastifyPluginAsync } from 'fastify';
import { ADMIN_SCOPE } from '../../auth/scopes.js';
import { notFound } from '../../core/errors.js';
import { principalOf } from '../../http/auth.js';
import { schemaOf } from '../../http/spec.js';
import type { TotpService } from './service.js';

/** Enrolment, confirmation, checks and status: any client that verifies codes for a person (sp:scopes:all grants it). */
export const TOTP_USER_SCOPES = ['idn:mfa:verify'] as const;
/** The operator's reset: the configuration scope (granted by sp:scopes:all to service clients only) or the operator API's. */
export const TOTP_RESET_SCOPES = ['idn:mfa-configuration:manage', ADMIN_SCOPE] as const;

const USER_ALIAS = { type: 'string', minLength: 1, maxLength: 256, description: 'The identity alias.' } as const;
const TOTP_CODE = { type: 'string', pattern: '^[0-9]{6,8}$', description: 'The code the authenticator app shows now.' } as const;

export const TOTP_ENROL_BODY = { type: 'object', required: ['userAlias'], additionalProperties: false, properties: { userAlias: USER_ALIAS } } as const;
export const TOTP_CODE_BODY = {
  type: 'object',
  required: ['userAlias', 'totpCode'],
  additionalProperties: false,
  properties: { userAlias: USER_ALIAS, totpCode: TOTP_CODE },
} as const;
export const TOTP_ALIAS_QUERY = { type: 'object', required: ['userAlias'], properties: { userAlias: USER_ALIAS } } as const;

export const TOTP_ENROLMENT = {
  type: 'object',
  required: ['requestId', 'username', 'secret', 'totpUrl'],
  properties: {
    requestId: { type: 'string', description: 'Identifies this enrolment.' },
    username: { type: 'string', description: 'The alias the registration is for.' },
    secret: { type: 'string', description: 'The shared secret in base32, shown this once.' },
    totpUrl: { type: 'string', description: 'otpauth://totp/ key URI for the app (as a QR code).' },
  },
} as const;
export const TOTP_VERIFIED = { type: 'object', required: ['mfaVerified'], properties: { mfaVerified: { type: 'boolean' } } } as const;
export const TOTP_STATUS = {
  type: 'object',
  required: ['registered', 'confirmedAt'],
  properties: {
    registered: { type: 'boolean', description: 'Whether the identity has an active (confirmed) registration.' },
    confirmedAt: { type: ['string', 'null'], description: 'When it was confirmed (ISO 8601).' },
  },
} as const;

interface CodeBody {
  readonly userAlias: string;
  readonly totpCode: string;
}

export function totpRoutes(service: TotpService): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: { userAlias: string } }>(
      '/mfa/totp/enrol',
      { config: { scopes: TOTP_USER_SCOPES }, schema: { body: TOTP_ENROL_BODY, response: { 200: TOTP_ENROLMENT } } },
      async (request) => service.enrol(request.body.userAlias),
    );

    app.post<{ Body: CodeBody }>(
      '/mfa/totp/confirm',
      { config: { scopes: TOTP_USER_SCOPES }, schema: { body: TOTP_CODE_BODY, response: { 200: TOTP_VERIFIED } } },
      async (request) => service.confirm(request.body.userAlias, request.body.totpCode),
    );

    app.post<{ Body: CodeBody }>(
      '/mfa/totp/authenticate',
      {
        config: { scopes: TOTP_USER_SCOPES, limitsFailedChecks: true },
        schema: { body: TOTP_CODE_BODY, response: { 200: schemaOf('VerificationResponse') } },
      },
      async (request) => service.authenticate(principalOf(request).clientId, request.body.userAlias, request.body.totpCode),
    );

    app.get<{ Querystring: { userAlias: string } }>(
      '/mfa/totp/status',
      { config: { scopes: TOTP_USER_SCOPES }, schema: { querystring: TOTP_ALIAS_QUERY, response: { 200: TOTP_STATUS } } },
      async (request) => service.status(request.query.userAlias),
    );

    app.delete<{ Querystring: { userAlias: string } }>(
      '/mfa/totp/registration',
      { config: { scopes: TOTP_RESET_SCOPES }, schema: { querystring: TOTP_ALIAS_QUERY } },
      async (request, reply) => {
        if (!(await service.reset(principalOf(request).clientId, request.query.userAlias))) {
          throw notFound(`No authenticator registration for ${request.query.userAlias}.`);
        }
        return reply.code(204).send();
      },
    );
  };
}

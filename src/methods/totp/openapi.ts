// The authenticator-app operations in /openapi.json (this service's extension, shaped like SailPoint's
// unpublished Auth MFA TOTP API), under /v3 and /beta.
import { TOTP_ALIAS_QUERY, TOTP_CODE_BODY, TOTP_ENROL_BODY, TOTP_ENROLMENT, TOTP_RESET_SCOPES, TOTP_STATUS, TOTP_USER_SCOPES, TOTP_VERIFIED } from './routes.js';

type Json = Record<string, unknown>;

const TAGS = ['MFA Controller'];
const json = (schema: unknown): Json => ({ content: { 'application/json': { schema } } });
const ERROR = { $ref: '#/components/schemas/ErrorResponseDto' };
const VERIFICATION_RESPONSE = { $ref: '#/components/schemas/VerificationResponse' };
const USER_ALIAS_PARAMETER = { name: 'userAlias', in: 'query', required: true, schema: TOTP_ALIAS_QUERY.properties.userAlias };
/** TOTP_STATUS in OpenAPI 3.0 terms (nullable instead of a type list). */
const STATUS_SCHEMA = {
  ...TOTP_STATUS,
  properties: { ...TOTP_STATUS.properties, confirmedAt: { type: 'string', format: 'date-time', nullable: true, description: TOTP_STATUS.properties.confirmedAt.description } },
};
const scopes = (list: readonly string[]) => `scope ${list.join(' or ')}`;

/** The paths, by prefix; operation ids end in Beta under /beta, as the official operations' do. */
export function totpOperations(prefixes: readonly string[] = ['/v3', '/beta']): Record<string, Json> {
  return Object.fromEntries(
    prefixes.flatMap((prefix) => {
      const id = (name: string) => (prefix === '/v3' ? name : `${name}Beta`);
      const user = scopes(TOTP_USER_SCOPES);
      return [
        [
          `${prefix}/mfa/totp/enrol`,
          {
            post: {
              operationId: id('enrolTotp'),
              tags: TAGS,
              summary: `Start an authenticator-app registration (extension; ${user}; docs/totp.md)`,
              description:
                'A new pending registration with a fresh secret, shown this once; the app reads totpUrl. It becomes active when /mfa/totp/confirm gets a right code within the enrolment time. Replacing an active registration needs a recent successful verification of the identity (403 otherwise).',
              requestBody: { required: true, ...json(TOTP_ENROL_BODY) },
              responses: { '200': { description: 'The secret and its otpauth:// URI.', ...json(TOTP_ENROLMENT) }, '400': { description: 'The body is not valid.', ...json(ERROR) }, '403': { description: 'Refused by the factor-change rule or identity binding.', ...json(ERROR) } },
            },
          },
        ],
        [
          `${prefix}/mfa/totp/confirm`,
          {
            post: {
              operationId: id('confirmTotp'),
              tags: TAGS,
              summary: `Confirm a pending registration with a code from the app (extension; ${user})`,
              requestBody: { required: true, ...json(TOTP_CODE_BODY) },
              responses: { '200': { description: '{mfaVerified}: true when the registration is now active.', ...json(TOTP_VERIFIED) }, '400': { description: 'The body is not valid.', ...json(ERROR) } },
            },
          },
        ],
        [
          `${prefix}/mfa/totp/authenticate`,
          {
            post: {
              operationId: id('authenticateTotp'),
              tags: TAGS,
              summary: `Check a code from the identity's authenticator app (extension; ${user})`,
              description: 'SUCCESS, FAILED (wrong or already used), LOCKOUT (too many wrong codes) or NOT_ENOUGH_DATA (no active registration). Each check is a verification that /mfa/totp/poll reports.',
              requestBody: { required: true, ...json(TOTP_CODE_BODY) },
              responses: { '200': { description: 'VerificationResponse.', ...json(VERIFICATION_RESPONSE) }, '400': { description: 'The body is not valid.', ...json(ERROR) }, '429': { description: 'The client has no failed checks left.' } },
            },
          },
        ],
        [
          `${prefix}/mfa/totp/status`,
          {
            get: {
              operationId: id('getTotpStatus'),
              tags: TAGS,
              summary: `Whether the identity has an active authenticator registration (extension; ${user})`,
              parameters: [USER_ALIAS_PARAMETER],
              responses: { '200': { description: '{registered, confirmedAt}; an unknown alias reads as unregistered.', ...json(STATUS_SCHEMA) } },
            },
          },
        ],
        [
          `${prefix}/mfa/totp/registration`,
          {
            delete: {
              operationId: id('resetTotp'),
              tags: ['MFA Configuration'],
              summary: `Remove the identity's authenticator registration, active and pending (operator reset, audited; ${scopes(TOTP_RESET_SCOPES)})`,
              parameters: [USER_ALIAS_PARAMETER],
              responses: { '204': { description: 'Removed; the person enrols again as for the first time.' }, '404': { description: 'No registration for this alias.', ...json(ERROR) } },
            },
          },
        ],
      ];
    }),
  );
}

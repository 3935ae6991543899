// The passkey calls of the API (extensions; docs/passkeys.md), registered inside the authenticated /v3
// and /beta contexts: ceremonies for applications with their own front end, the start of a hosted
// verification, and the passkeys of the identity a token acts for. Poll is the common /mfa/{method}/poll.
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyPluginAsync } from 'fastify';
import { actingIdentityOf, principalOf } from '../../http/auth.js';
import { schemaOf } from '../../http/spec.js';
import { MAX_NAME_LENGTH } from './core.js';
import type { PasskeyService, PasskeyView } from './service.js';

/** base64url as browsers write it (unpadded), bounded well inside the body limit. */
const BASE64URL = { type: 'string', maxLength: 16_384, pattern: '^[A-Za-z0-9_-]*$' } as const;
/** A credential id: at most 1023 bytes (WebAuthn), 1364 characters of base64url. */
const CREDENTIAL_ID = { type: 'string', minLength: 1, maxLength: 1364, pattern: '^[A-Za-z0-9_-]+$' } as const;
const REQUEST_ID = { type: 'string', minLength: 1, maxLength: 64 } as const;
const USER_ALIAS = { type: 'string', minLength: 1, maxLength: 256, description: 'The identity alias.' } as const;
const NAME = { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH * 4 } as const;

const credentialShape = (response: Record<string, unknown>, required: readonly string[]) =>
  ({
    type: 'object',
    required: ['id', 'rawId', 'type', 'response'],
    properties: {
      id: CREDENTIAL_ID,
      rawId: CREDENTIAL_ID,
      type: { type: 'string', enum: ['public-key'] },
      authenticatorAttachment: { type: 'string', maxLength: 32 },
      clientExtensionResults: { type: 'object', maxProperties: 32 },
      response: { type: 'object', required, properties: response },
    },
  }) as const;

/** AuthenticationResponseJSON, as @simplewebauthn/browser's startAuthentication gives it. */
export const ASSERTION_SCHEMA = credentialShape(
  { clientDataJSON: BASE64URL, authenticatorData: BASE64URL, signature: BASE64URL, userHandle: BASE64URL },
  ['clientDataJSON', 'authenticatorData', 'signature'],
);

/** RegistrationResponseJSON, as startRegistration gives it. */
export const ATTESTATION_SCHEMA = credentialShape(
  {
    clientDataJSON: BASE64URL,
    attestationObject: BASE64URL,
    authenticatorData: BASE64URL,
    publicKey: BASE64URL,
    publicKeyAlgorithm: { type: 'integer' },
    transports: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 32 } },
  },
  ['clientDataJSON', 'attestationObject'],
);

const ALIAS_BODY = { type: 'object', required: ['userAlias'], properties: { userAlias: USER_ALIAS } } as const;

const passkeyJson = (p: PasskeyView) => ({
  credentialId: p.credentialId,
  name: p.name,
  created: new Date(p.createdAt).toISOString(),
  lastUsed: p.lastUsedAt === null ? null : new Date(p.lastUsedAt).toISOString(),
  backedUp: p.backedUp,
  deviceType: p.deviceType,
});

export function passkeyRoutes(service: PasskeyService): FastifyPluginAsync {
  return async (app) => {
    // Enrolment acts for an identity (a personal client, or a token exchanged for one), as KBA answers do.
    app.post<{ Body: { userAlias: string } }>(
      '/mfa/passkey/registration/options',
      { config: { scopes: ['idn:mfa:verify'] }, schema: { body: ALIAS_BODY } },
      async (request) => service.registrationOptions(actingIdentityOf(request), principalOf(request).clientId),
    );

    app.post<{ Body: { requestId: string; response: RegistrationResponseJSON; name?: string } }>(
      '/mfa/passkey/registration/verify',
      {
        config: { scopes: ['idn:mfa:verify'] },
        schema: { body: { type: 'object', required: ['requestId', 'response'], properties: { requestId: REQUEST_ID, response: ATTESTATION_SCHEMA, name: NAME } } },
      },
      async (request) => {
        const { requestId, response, name } = request.body;
        const result = await service.verifyRegistration(actingIdentityOf(request), principalOf(request).clientId, requestId, response, name);
        return { registered: result.registered, credentialId: result.credentialId, ...(result.error ? { error: result.error } : {}) };
      },
    );

    app.post<{ Body: { userAlias: string } }>(
      '/mfa/passkey/authentication/options',
      { config: { scopes: ['idn:mfa:verify'] }, schema: { body: ALIAS_BODY } },
      async (request) => service.authenticationOptions(principalOf(request).clientId, request.body.userAlias),
    );

    app.post<{ Body: { requestId: string; response: AuthenticationResponseJSON } }>(
      '/mfa/passkey/authenticate',
      {
        config: { scopes: ['idn:mfa:verify'], limitsFailedChecks: true },
        schema: {
          body: { type: 'object', required: ['requestId', 'response'], properties: { requestId: REQUEST_ID, response: ASSERTION_SCHEMA } },
          response: { 200: schemaOf('VerificationResponse') },
        },
      },
      async (request) => {
        const acting = request.actingIdentity;
        const subjects = acting ? [acting.alias, acting.id] : undefined;
        const { requestId, status, error } = await service.authenticate(principalOf(request).clientId, request.body.requestId, request.body.response, subjects);
        return { requestId, status, error };
      },
    );

    app.post<{ Body: { userAlias: string; returnUrl?: string } }>(
      '/mfa/passkey/start',
      {
        config: { scopes: ['idn:mfa:verify'] },
        schema: {
          body: { type: 'object', required: ['userAlias'], properties: { userAlias: USER_ALIAS, returnUrl: { type: 'string', minLength: 1, maxLength: 2048 } } },
          response: { 200: { type: 'object', properties: { requestId: { type: 'string' }, verificationUrl: { type: 'string' } } } },
        },
      },
      async (request) => service.startHosted(principalOf(request).clientId, request.body.userAlias, request.body.returnUrl),
    );

    app.get('/mfa/passkey/credentials', { config: { scopes: ['idn:mfa:verify'] } }, async (request) =>
      (await service.list(actingIdentityOf(request))).map(passkeyJson),
    );

    app.post<{ Body: { credentialId: string; name: string } }>(
      '/mfa/passkey/credentials/rename',
      {
        config: { scopes: ['idn:mfa:verify'] },
        schema: { body: { type: 'object', required: ['credentialId', 'name'], properties: { credentialId: CREDENTIAL_ID, name: NAME } } },
      },
      async (request) => passkeyJson(await service.rename(actingIdentityOf(request), request.body.credentialId, request.body.name)),
    );

    app.post<{ Body: { credentialId: string } }>(
      '/mfa/passkey/credentials/remove',
      {
        config: { scopes: ['idn:mfa:verify'] },
        schema: { body: { type: 'object', required: ['credentialId'], properties: { credentialId: CREDENTIAL_ID } } },
      },
      async (request, reply) => {
        await service.remove(actingIdentityOf(request), request.body.credentialId);
        return reply.code(204).send();
      },
    );
  };
}

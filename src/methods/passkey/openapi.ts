// The passkey method's operations in /openapi.json (our extensions; docs/passkeys.md), under /v3 and
// /beta, and the hosted page's at the root.
type Json = Record<string, unknown>;

const operation = (operationId: string, summary: string, description: string, responses: Json, tags = ['MFA Controller']): Json => ({
  operationId,
  tags,
  summary,
  description,
  responses,
});

export function apiOperations(prefix: '/v3' | '/beta'): Record<string, Json> {
  const id = (name: string) => (prefix === '/v3' ? name : `${name}Beta`);
  const ok = (what: string) => ({ '200': { description: what }, '400': { description: 'The body is not valid.' } });
  return {
    [`${prefix}/mfa/passkey/registration/options`]: {
      post: operation(
        id('passkeyRegistrationOptions'),
        'Options to add a passkey to the identity the token acts for (extension; scope idn:mfa:verify; docs/passkeys.md)',
        'Body {userAlias}: the identity of the personal or exchanged token. Answers {requestId, options}: PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create (startRegistration). 403 when the identity has another factor and no recent successful verification (the factor-change rule); 409 when it holds the most passkeys allowed.',
        { ...ok('{requestId, options}.'), '403': { description: 'Not a token acting for this identity, or the factor-change rule refuses.' }, '409': { description: 'The identity holds MFA_PASSKEY_MAX_PER_IDENTITY passkeys.' } },
      ),
    },
    [`${prefix}/mfa/passkey/registration/verify`]: {
      post: operation(
        id('passkeyRegistrationVerify'),
        'Store the passkey the authenticator created (extension; scope idn:mfa:verify)',
        'Body {requestId, response, name?}: the RegistrationResponseJSON answering that request\'s options, once. Answers {registered, credentialId} and, when not registered, an error.',
        { ...ok('{registered, credentialId, error?}.'), '403': { description: 'Not a token acting for this identity, or the factor-change rule refuses.' } },
      ),
    },
    [`${prefix}/mfa/passkey/authentication/options`]: {
      post: operation(
        id('passkeyAuthenticationOptions'),
        'Start a passkey verification run by the application\'s own front end (extension; scope idn:mfa:verify)',
        'Body {userAlias}. Answers {requestId, options}: PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get (startAuthentication), with an empty allowCredentials whoever the alias names. Poll /mfa/passkey/poll.',
        ok('{requestId, options}.'),
      ),
    },
    [`${prefix}/mfa/passkey/authenticate`]: {
      post: operation(
        id('passkeyAuthenticate'),
        'Answer a passkey verification with the assertion (extension; scope idn:mfa:verify)',
        'Body {requestId, response}: the AuthenticationResponseJSON, once per request; a second answer (a replay) is refused. Answers VerificationResponse.',
        ok('VerificationResponse.'),
      ),
    },
    [`${prefix}/mfa/passkey/start`]: {
      post: operation(
        id('passkeyStartHosted'),
        'Start a hosted passkey verification (extension; scope idn:mfa:verify)',
        'Body {userAlias, returnUrl?}. Answers {requestId, verificationUrl}: send the person to verificationUrl, a page of this service that runs the ceremony, good for one answer within MFA_PASSKEY_TTL_SECONDS; it returns to returnUrl (which must be on MFA_PASSKEY_RETURN_URLS) with ?requestId=. Poll /mfa/passkey/poll.',
        { ...ok('{requestId, verificationUrl}.'), '400': { description: 'The body is not valid, or returnUrl is not on the allow-list.' } },
      ),
    },
    [`${prefix}/mfa/passkey/credentials`]: {
      get: operation(
        id('listPasskeys'),
        'The passkeys of the identity the token acts for (extension; scope idn:mfa:verify)',
        'Answers [{credentialId, name, created, lastUsed, backedUp, deviceType}].',
        { '200': { description: 'The passkeys.' }, '403': { description: 'Not a token acting for an identity.' } },
      ),
    },
    [`${prefix}/mfa/passkey/credentials/rename`]: {
      post: operation(id('renamePasskey'), 'Rename one of the identity\'s passkeys (extension; scope idn:mfa:verify)', 'Body {credentialId, name}. Answers the passkey.', {
        ...ok('The passkey.'),
        '404': { description: 'The identity has no such passkey.' },
      }),
    },
    [`${prefix}/mfa/passkey/credentials/remove`]: {
      post: operation(id('removePasskey'), 'Remove one of the identity\'s passkeys (extension; scope idn:mfa:verify)', 'Body {credentialId}. A factor change: needs a recent successful verification of the identity.', {
        '204': { description: 'Removed.' },
        '403': { description: 'The factor-change rule refuses.' },
        '404': { description: 'The identity has no such passkey.' },
      }),
    },
  };
}

/** The hosted page and its two calls, at the root with no bearer token (the document marks them so). */
export const PAGE_OPERATIONS: Record<string, Json> = {
  '/mfa/passkey/verify': {
    get: { ...operation('getPasskeyVerificationPage', 'The hosted passkey verification page (HTML; its token is in the URL fragment)', 'Open the verificationUrl of /mfa/passkey/start as it is. ?lang=en|de|fr chooses the language, else Accept-Language.', { '200': { description: 'The page.' } }, ['Pages']) },
  },
  '/mfa/passkey/verify/options': {
    post: { ...operation('getPasskeyVerificationOptions', 'The hosted page\'s ceremony options', 'Body {token}: the fragment of the verification URL. Answers {options}.', { '200': { description: '{options}.' }, '404': { description: 'The link is used up, expired or unknown.' } }, ['Pages']) },
  },
  '/mfa/passkey/verify/complete': {
    post: { ...operation('completePasskeyVerification', 'The hosted page\'s answer', 'Body {token, response}. Answers {status, returnUrl?}; the link is used up, whatever the outcome.', { '200': { description: '{status, returnUrl?}.' }, '404': { description: 'The link is used up, expired or unknown.' } }, ['Pages']) },
  },
};

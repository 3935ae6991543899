// Passkeys (WebAuthn; docs/passkeys.md): its pure rules (./core.ts), its tables (./store.ts, migration 7),
// its service, the API's ceremonies under /v3 and /beta, and the hosted verification page at the root.
import { defineMethod, type ExampleSource, type MethodOpenApi } from '../method.js';
import { apiOperations, PAGE_OPERATIONS } from './openapi.js';
import { passkeyPageRoutes } from './page.js';
import { passkeyRoutes } from './routes.js';
import { PasskeyService } from './service.js';
import { SqlPasskeyStore } from './store.js';

type Operations = NonNullable<MethodOpenApi['extensions']>;

/** Its API operations as /v3 names them, by path without the prefix (the document adds /beta's). */
const extensions = Object.fromEntries(Object.entries(apiOperations('/v3')).map(([path, operations]) => [path.slice('/v3'.length), operations])) as Operations;

export const passkey = defineMethod({
  id: 'passkey',
  settings: (config) => ({ passkey: config.passkey }),
  provider: undefined,
  openapi: { extensions, public: PAGE_OPERATIONS as Operations },
  examples: {
    requests: {
      'POST /mfa/passkey/registration/options': (source) => ({ userAlias: source.alias() }),
      'POST /mfa/passkey/authentication/options': (source) => ({ userAlias: source.alias() }),
      'POST /mfa/passkey/start': (source) =>
        source.chance(0.5) ? { userAlias: source.alias() } : { userAlias: source.alias(), returnUrl: source.pick(['https://app.example.com/back', '//evil.example', source.text()]) },
      'POST /mfa/passkey/authenticate': (source) => ({ requestId: source.hex(16), response: webauthnResponse(source, 'assertion') }),
      'POST /mfa/passkey/registration/verify': (source) => ({ requestId: source.hex(16), response: webauthnResponse(source, 'attestation'), name: source.pick(['Laptop', source.text()]) }),
      'POST /mfa/passkey/credentials/rename': (source) => ({ credentialId: base64url(source, 16), name: source.text() }),
      'POST /mfa/passkey/credentials/remove': (source) => ({ credentialId: base64url(source, 16) }),
      'POST /mfa/passkey/verify/options': (source) => ({ token: base64url(source, 32) }),
      'POST /mfa/passkey/verify/complete': (source) => ({ token: base64url(source, 32), response: webauthnResponse(source, 'assertion') }),
    },
  },
  build(context, settings) {
    const { store } = context;
    const service = new PasskeyService({
      store,
      passkeys: new SqlPasskeyStore(context.sql),
      clock: context.clock,
      randomBytes: context.randomBytes,
      settings: settings.passkey,
      urlKey: context.deriveKey('passkey-hosted-url'),
      factorChange: context.factorChange,
      hasOtherFactor: (identity) => context.hasOtherFactor(identity, 'passkey'),
      audit: context.audit,
    });
    return { service, routes: passkeyRoutes(service), publicRoutes: passkeyPageRoutes(service) };
  },
});

function base64url(source: ExampleSource, bytes: number): string {
  return Buffer.from(source.hex(bytes), 'hex').toString('base64url');
}

/** A WebAuthn answer of the right shape whose parts are random bytes (or, now and then, any text). */
export function webauthnResponse(source: ExampleSource, kind: 'assertion' | 'attestation'): unknown {
  const part = (size: number) => (source.chance(0.1) ? source.text() : base64url(source, size));
  const id = base64url(source, source.integer(1, 64));
  const response =
    kind === 'assertion'
      ? { clientDataJSON: part(120), authenticatorData: part(37), signature: part(70), userHandle: part(32) }
      : { clientDataJSON: part(120), attestationObject: part(200), transports: ['internal', 'hybrid'] };
  return { id, rawId: source.chance(0.9) ? id : part(16), type: 'public-key', response, clientExtensionResults: {} };
}

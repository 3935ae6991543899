// Authenticator apps (TOTP, RFC 6238; docs/totp.md): its settings (./settings.ts), its pure rules
// (./core.ts), its table (./store.ts, migration 6), its service, its routes and its OpenAPI operations.
import { defineMethod, type MethodOpenApi } from '../method.js';
import { totpOperations } from './openapi.js';
import { totpRoutes } from './routes.js';
import { TotpService } from './service.js';
import { SqlTotpStore } from './store.js';

export { readTotpSettings, type TotpSettings } from './settings.js';
export { resetTotp, TotpService } from './service.js';
export { SqlTotpStore, type TotpStore } from './store.js';

/** Its operations as /v3 names them, by path without the prefix (the document adds /beta's). */
const extensions = Object.fromEntries(
  Object.entries(totpOperations(['/v3'])).map(([path, operations]) => [path.slice('/v3'.length), operations]),
) as NonNullable<MethodOpenApi['extensions']>;

export const totp = defineMethod({
  id: 'totp',
  settings: (config) => ({ totp: config.totp }),
  lockout: (settings) => ({ failureWindowSeconds: settings.totp.failureWindowSeconds }),
  provider: undefined,
  openapi: { extensions },
  examples: {
    requests: {
      'POST /mfa/totp/enrol': (source) => ({ userAlias: source.alias() }),
      'POST /mfa/totp/confirm': (source) => ({ userAlias: source.alias(), totpCode: source.digits(6) }),
      'POST /mfa/totp/authenticate': (source) => ({ userAlias: source.alias(), totpCode: source.digits(6) }),
    },
  },
  build(context, settings) {
    const service = new TotpService({
      registrations: new SqlTotpStore(context.sql),
      store: context.store,
      sealer: context.sealer,
      clock: context.clock,
      randomBytes: context.randomBytes,
      settings: settings.totp,
      factorChange: context.factorChange,
      hasOtherFactor: context.hasOtherFactor,
      audit: context.audit,
    });
    return { service, routes: totpRoutes(service) };
  },
});

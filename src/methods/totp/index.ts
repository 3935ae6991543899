// Authenticator apps (TOTP, RFC 6238) as one method module: its settings (./settings.ts), its pure rules
// (./core.ts), its table (./store.ts, migration 6), its service, its routes and its OpenAPI operations.
// The runtime builds it with createTotpMethod; the CLI's reset uses resetTotp over the same store.
import type { FastifyPluginAsync } from 'fastify';
import type { AuditSink, Clock, Store } from '../../core/ports.js';
import type { RandomBytes } from '../../core/secrets.js';
import type { HasOtherFactor } from '../../services/factors.js';
import type { SqlExecutor } from '../../store/driver.js';
import { totpRoutes } from './routes.js';
import { TotpService } from './service.js';
import type { TotpSettings } from './settings.js';
import { SqlTotpStore } from './store.js';

export { totpOperations } from './openapi.js';
export { readTotpSettings, type TotpSettings } from './settings.js';
export { resetTotp, TotpService } from './service.js';
export { SqlTotpStore, type TotpStore } from './store.js';

export const TOTP_METHOD_ID = 'totp' as const;

export interface TotpMethodDeps {
  readonly store: Store;
  /** The SQL driver under `store`, for the method's own table. */
  readonly driver: SqlExecutor;
  readonly sealer: { seal(plaintext: string): string; unseal(sealed: string): string };
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly settings: TotpSettings;
  readonly factorChangeWindowMs: number;
  /** Whether the identity has a factor of another kind (src/services/factors.ts). */
  readonly hasOtherFactor: HasOtherFactor;
  readonly audit?: AuditSink;
}

export interface TotpMethod {
  readonly id: typeof TOTP_METHOD_ID;
  readonly service: TotpService;
  /** Registered inside the authenticated /v3 and /beta contexts. */
  readonly routes: FastifyPluginAsync;
}

export function createTotpMethod(deps: TotpMethodDeps): TotpMethod {
  const service = new TotpService({ ...deps, registrations: new SqlTotpStore(deps.driver) });
  return { id: TOTP_METHOD_ID, service, routes: totpRoutes(service) };
}

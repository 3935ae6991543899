// The passkey method assembled: its storage on the store's SQL driver, its service, the API routes (for
// /v3 and /beta) and the hosted page's routes (at the root). src/runtime.ts wires it in.
import type { FastifyPluginAsync } from 'fastify';
import type { AuditSink, Clock, Store } from '../../core/ports.js';
import { deriveKey, type RandomBytes } from '../../core/secrets.js';
import type { HasOtherFactor } from '../../services/factors.js';
import { driverOf } from '../../store/index.js';
import type { PasskeySettings } from './core.js';
import { passkeyPageRoutes } from './page.js';
import { passkeyRoutes } from './routes.js';
import { PasskeyService } from './service.js';
import { SqlPasskeyStore } from './store.js';

export interface PasskeyMethodDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly settings: PasskeySettings;
  /** The master secret: the key of the hosted URLs' token hashes is derived from it. */
  readonly secret: Buffer;
  readonly factorChangeWindowMs: number;
  /** Whether the identity has a factor of another kind (src/services/factors.ts). */
  readonly hasOtherFactor: HasOtherFactor;
  readonly audit?: AuditSink;
}

export interface PasskeyMethod {
  readonly service: PasskeyService;
  /** POST /mfa/passkey/..., inside the authenticated API contexts. */
  readonly routes: FastifyPluginAsync;
  /** The hosted verification page and its two calls, at the root. */
  readonly pageRoutes: FastifyPluginAsync;
}

export function passkeyMethod(deps: PasskeyMethodDeps): PasskeyMethod {
  const { store } = deps;
  const service = new PasskeyService({
    store,
    passkeys: new SqlPasskeyStore(driverOf(store)),
    clock: deps.clock,
    randomBytes: deps.randomBytes,
    settings: deps.settings,
    urlKey: deriveKey(deps.secret, 'passkey-hosted-url'),
    factorChangeWindowMs: deps.factorChangeWindowMs,
    hasOtherFactor: (identity) => deps.hasOtherFactor(identity, 'passkey'),
    ...(deps.audit ? { audit: deps.audit } : {}),
  });
  return { service, routes: passkeyRoutes(service), pageRoutes: passkeyPageRoutes(service) };
}

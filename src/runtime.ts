// Composition root: turns a Config into running adapters and services, and closes them again. The methods
// are built from their descriptors (src/methods), each given the shared parts it needs.
import type { FastifyInstance } from 'fastify';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccessTokens } from './auth/access-tokens.js';
import { KeyRing } from './auth/keyring.js';
import { pooledRandomBytes } from './auth/random-pool.js';
import { Sealer } from './auth/seal.js';
import type { Config } from './config.js';
import type { Clock, RateCounter, Sender, Store } from './core/ports.js';
import { deriveKey, type RandomBytes } from './core/secrets.js';
import { createSender } from './delivery/index.js';
import { buildApp, createLogger } from './http/app.js';
import { RedisRateCounter, StoreRateCounter } from './ratelimit/counters.js';
import { ProviderConfigs, type ProviderTester } from './services/provider-configs.js';
import type { ProviderPoller } from './methods/poll.js';
import { LOCKOUT_METHODS, METHOD_DESCRIPTORS, lockoutsOf, type Method, type ProviderMethod } from './methods/index.js';
import type { BuiltMethod, MethodContext, MethodDescriptor, ServiceOf } from './methods/method.js';
import { kba } from './methods/kba/index.js';
import { passkey } from './methods/passkey/index.js';
import { totp } from './methods/totp/index.js';
import { token } from './methods/token/index.js';
import { DEFAULT_GATEWAY_OPTIONS, ProviderGateway } from './providers/gateway.js';
import { providerFetch } from './providers/http.js';
import { openStore, portalStoreOf } from './store/index.js';
import type { SqlStore } from './store/sql-store.js';
import { SqlTotpStore } from './methods/totp/store.js';
import { SqlPasskeyStore } from './methods/passkey/store.js';
import { hasOtherFactorFrom } from './services/factors.js';
import { renderInvitation } from './delivery/invitation.js';
import { Invitations } from './services/invitations.js';
import { PortalSessions } from './services/portal-sessions.js';
import { PORTAL_CLIENT_ID, portalRoutes } from './web/portal/index.js';
import { standardSections, standardSignInMethods } from './web/portal/sections/index.js';
import { AuditTrail, type AuditListener } from './services/audit.js';
import { EventsWebhook } from './delivery/events.js';
import { Metrics } from './http/metrics.js';
import { Pruner } from './services/retention.js';
import { FailedCheckLimit } from './services/failed-checks.js';
import { OperatorActions } from './services/operator.js';
import { FactorChangeRule } from './services/factor-change.js';
import { databaseFailure } from './startup.js';
import { Operators } from './services/operators.js';
import { consoleRoutes } from './web/console/index.js';
import { standardFactors } from './web/console/factors.js';
import { operatorStoreOf } from './store/index.js';
import type { AuditSink } from './core/ports.js';

export interface Runtime {
  readonly config: Config;
  readonly store: Store;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly keys: KeyRing;
  readonly app: FastifyInstance;
  /** The provider configurations and each method's test, as `GET /mfa/{method}/test` uses them (and `mfa-controller check`). */
  readonly providers: { readonly configs: ProviderConfigs; readonly testers: Readonly<Partial<Record<ProviderMethod, ProviderTester>>> };
  close(): Promise<void>;
}

export interface RuntimeOverrides {
  readonly clock?: Clock;
  readonly sender?: Sender;
  /** pino options (a `stream` key redirects the output); false silences the log (tests). */
  readonly logger?: false | Record<string, unknown>;
  /** PostgreSQL schema to use (tests). */
  readonly schema?: string;
  /** Told of a problem found at start that does not stop the service (Redis away); the log has it too. */
  readonly onWarning?: (line: string) => void;
}

/** How long start-up waits for Redis before warning that it is away. */
const REDIS_START_WAIT_MS = 3000;

/** The master secret: configured, or (development only) generated once into the data directory. */
export function masterSecret(config: Config): Buffer {
  if (config.secret) return config.secret;
  const path = join(config.dataDir, 'secret.key');
  try {
    return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  } catch {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const secret = cryptoRandomBytes(32);
    // 'wx' fails if another process created it first; then read theirs so all share one secret.
    try {
      writeFileSync(path, secret.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      return secret;
    } catch {
      return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    }
  }
}

/** Seals secrets stored in the database under the current master secret; opens those of earlier ones. */
export function sealerFor(config: Config): Sealer {
  return new Sealer(
    deriveKey(masterSecret(config), 'seal'),
    config.previousSecrets.map((previous) => deriveKey(previous, 'seal')),
  );
}

/** Invitations to the self-service portal, as the server and `users invite` send them (docs/portal.md). */
export function invitationsFor(config: Config, store: Store, sender: Sender, clock: Clock, randomBytes: RandomBytes, onDeliveryError?: (err: unknown) => void): Invitations {
  return new Invitations({
    store,
    portalStore: portalStoreOf(store),
    sender,
    compose: (input) => renderInvitation({ ...input, defaultLocale: config.delivery.defaultLocale }),
    clock,
    randomBytes,
    hashKey: deriveKey(masterSecret(config), 'portal-invitation'),
    publicUrl: config.publicUrl,
    ttlSeconds: config.portal.invitationTtlSeconds,
    portalEnabled: config.portal.enabled,
    ...(onDeliveryError ? { onDeliveryError } : {}),
  });
}

/** The console's operators, as the server and `operators create` use them (docs/console.md). */
export function operatorsFor(config: Config, store: Store, sender: Sender | undefined, audit: AuditSink, clock: Clock, randomBytes: RandomBytes, onDeliveryError?: (err: unknown) => void): Operators {
  const secret = masterSecret(config);
  return new Operators({
    operators: operatorStoreOf(store),
    clock,
    randomBytes,
    passkey: config.passkey,
    publicUrl: config.publicUrl,
    enrolmentKey: deriveKey(secret, 'console-enrolment'),
    sessionKey: deriveKey(secret, 'console-session'),
    csrfKey: deriveKey(secret, 'console-csrf'),
    audit,
    ...(sender ? { sender } : {}),
    ...(onDeliveryError ? { onDeliveryError } : {}),
  });
}

/**
 * Opens the store and applies migrations; shared by the server and the CLI. A database that cannot be
 * reached or entered is a StartupError naming the setting (src/startup.ts).
 */
export async function openMigratedStore(config: Config, schema?: string): Promise<SqlStore> {
  let store: SqlStore | undefined;
  try {
    store = openStore(config.databaseUrl, schema ? { schema } : {});
    await store.migrate();
    return store;
  } catch (err) {
    await store?.close().catch(() => undefined);
    throw databaseFailure(err, config) ?? err;
  }
}

export async function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const clock = overrides.clock ?? { now: () => Date.now() };
  const randomBytes: RandomBytes = pooledRandomBytes();
  const secret = masterSecret(config);
  const logger = createLogger(overrides.logger ?? { level: config.logLevel });
  const store = await openMigratedStore(config, overrides.schema);
  const closers: Array<() => Promise<void>> = [() => store.close()];
  try {
    const sealer = sealerFor(config);
    const keys = new KeyRing(store, sealer, clock, randomBytes, config.accessTokenTtlSeconds * 1000);
    await keys.init();
    const tokens = new AccessTokens(store, keys, clock, randomBytes, config.publicUrl, config.accessTokenTtlSeconds);

    let counter: RateCounter;
    let checkRedis = async (): Promise<void> => {};
    if (config.redisUrl) {
      const redis = new RedisRateCounter(config.redisUrl);
      counter = redis;
      checkRedis = () => redis.ping();
      // The service starts anyway (Redis may come up later; readiness answers 503 until it does), but
      // says so loudly: every rate-limited request fails while Redis is away.
      const away = await redis.whenReady(REDIS_START_WAIT_MS);
      if (away) {
        const line = `MFA_REDIS_URL: Redis cannot be reached (${away}); rate-limited requests fail and /health/ready answers 503 until it can`;
        logger.warn(line);
        overrides.onWarning?.(line);
      }
    } else {
      counter = new StoreRateCounter(store);
    }
    closers.unshift(() => counter.close());

    const sender = overrides.sender ?? createSender(config.delivery, config.dataDir, logger.child({ component: 'delivery' }));
    if (!overrides.sender) closers.unshift(async () => sender.close?.());

    // Audit trail, metrics and the events webhook (docs/operations.md): every decision is one row,
    // then counted and queued for the webhook; the gateways and the sender report to the metrics.
    const metrics = config.metrics.enabled ? new Metrics({ processMetrics: config.metrics.processMetrics }) : undefined;
    const events = config.events
      ? new EventsWebhook(config.events, logger.child({ component: 'events' }), metrics?.onEventDelivery)
      : undefined;
    if (events) closers.unshift(() => events.close());
    const auditListeners: AuditListener[] = [];
    if (metrics) auditListeners.push(metrics.onDecision);
    if (events) auditListeners.push(events.enqueue);
    const trail = new AuditTrail({
      store,
      clock,
      randomBytes,
      listeners: auditListeners,
      onListenerError: (err) => logger.warn({ error: (err as Error).message }, 'audit listener failed'),
      onWriteError: (err) => {
        metrics?.onAuditWriteFailure();
        logger.error({ error: (err as Error).message }, 'audit event not written; the request fails');
      },
    });
    // Every service writes through this: a failed check is counted against its client once recorded.
    const failedChecks = new FailedCheckLimit(counter, clock, config.rateLimits);
    const audit = failedChecks.counting(trail);
    const gatewayOptions = { ...DEFAULT_GATEWAY_OPTIONS, ...(metrics ? { observer: metrics.onProviderCall } : {}) };

    // Every factor-change rule asks what factors the identity has of every kind (src/services/factors.ts).
    const hasOtherFactor = hasOtherFactorFrom({ store, totp: new SqlTotpStore(store.sql), passkeys: new SqlPasskeyStore(store.sql) });
    // Every provider call goes through one HTTP client that enforces where providers may be
    // (docs/providers.md), and through its method's gateway; a saved configuration resets that circuit.
    const fetchProvider = providerFetch({ allowPrivateHosts: config.allowPrivateProviderHosts });
    closers.unshift(async () => fetchProvider.close());
    const gateways = new Map<string, ProviderGateway>();
    const providerConfigs = new ProviderConfigs(store, sealer, clock, {
      network: { allowPrivateHosts: config.allowPrivateProviderHosts },
      onChange: (method) => gateways.get(method)?.reset(),
    });
    const factorChange = new FactorChangeRule({ store, clock, windowMs: config.factorChangeWindowSeconds * 1000, lockoutMethods: LOCKOUT_METHODS });

    // Each method, built from its descriptor with the shared parts (src/methods/method.ts, MethodContext).
    const countedSender = metrics ? metrics.countDeliveries(sender) : sender;
    const methods: Array<BuiltMethod & { readonly id: Method }> = [];
    for (const descriptor of METHOD_DESCRIPTORS) {
      const context: MethodContext = {
        store,
        sql: store.sql,
        clock,
        randomBytes,
        audit,
        counter,
        failedChecks,
        sender: countedSender,
        logger,
        deriveKey: (purpose) => deriveKey(secret, purpose),
        sealer,
        factorChange,
        hasOtherFactor,
        providers: {
          configs: providerConfigs,
          fetch: fetchProvider,
          gateway: ({ name, component, timeoutMs }) => {
            const gateway = new ProviderGateway(name, clock, { ...gatewayOptions, ...(timeoutMs === undefined ? {} : { timeoutMs }) }, logger.child({ component }));
            gateways.set(descriptor.id, gateway);
            return gateway;
          },
        },
        onClose: (close) => closers.unshift(close),
      };
      methods.push({ id: descriptor.id, ...(await descriptor.build(context, config)) });
    }
    /** The service a method's build gave, for the parts outside the API that use it (the portal). */
    const serviceOf = <D extends MethodDescriptor>(descriptor: D): ServiceOf<D> => {
      const built = methods.find((m) => m.id === descriptor.id);
      if (!built?.service) throw new Error(`the ${descriptor.id} method gave no service`);
      return built.service as ServiceOf<D>;
    };
    const testers: Partial<Record<ProviderMethod, ProviderTester>> = {};
    const pollers: Partial<Record<Method, ProviderPoller>> = {};
    for (const method of methods) {
      if (method.tester) testers[method.id as ProviderMethod] = method.tester;
      if (method.poller) pollers[method.id] = method.poller;
    }

    // Retention (docs/operations.md, "Retention"): pruning on a schedule, stopped before the store closes.
    // Lockout rows are kept for the longest failure window of any method that keeps lockouts.
    const longestFailureWindowSeconds = Math.max(0, ...lockoutsOf(config).map((l) => l.failureWindowSeconds));
    const methodPrunes = methods.flatMap((m) => (m.prune ? [m.prune] : []));
    const pruner = new Pruner(store, clock, { ...config.retention, longestFailureWindowSeconds }, logger.child({ component: 'retention' }), methodPrunes);
    pruner.start();
    closers.unshift(() => pruner.stop());

    // The self-service portal (docs/portal.md): invitations, sessions, and the sections of its page.
    const invitations = invitationsFor(config, store, countedSender, clock, randomBytes, (err) =>
      logger.warn({ error: (err as Error).message }, 'invitation delivery failed'),
    );
    const portal = config.portal.enabled
      ? portalRoutes({
          store,
          sessions: new PortalSessions({
            portalStore: portalStoreOf(store),
            store,
            clock,
            randomBytes,
            sessionKey: deriveKey(secret, 'portal-session'),
            csrfKey: deriveKey(secret, 'portal-csrf'),
            timeouts: { idleSeconds: config.portal.sessionIdleSeconds, maxSeconds: config.portal.sessionMaxSeconds },
          }),
          invitations,
          tokenService: serviceOf(token),
          counter,
          clock,
          randomBytes,
          publicUrl: config.publicUrl,
          factorChangeWindowMs: config.factorChangeWindowSeconds * 1000,
          limits: config.portal,
          sections: standardSections({
            store,
            kbaService: serviceOf(kba),
            kbaMinAnswers: config.kba.minAnswers,
            portalClientId: PORTAL_CLIENT_ID,
            passkeys: serviceOf(passkey),
            totp: serviceOf(totp),
            hasOtherFactor,
          }),
          signInMethods: standardSignInMethods({ passkeys: serviceOf(passkey), portalClientId: PORTAL_CLIENT_ID }),
        })
      : undefined;
    // The operator console (docs/console.md): its changes are written to the trail directly, like the CLI's.
    const operatorActions = new OperatorActions({ store, clock, audit: trail });
    const operatorConsole = consoleRoutes({
      operators: operatorsFor(config, store, countedSender, trail, clock, randomBytes, (err) => logger.warn({ error: (err as Error).message }, 'enrolment link delivery failed')),
      store,
      actions: operatorActions,
      invitations,
      keys,
      providers: { configs: providerConfigs, testers, circuits: Object.fromEntries([...gateways].map(([method, gateway]) => [method, () => gateway.circuit()])) },
      factors: standardFactors({ store, driver: store.sql, actions: operatorActions, audit: trail }),
      audit: trail,
      counter,
      clock,
      randomBytes,
      publicUrl: config.publicUrl,
    });

    const app = await buildApp({
      store,
      clock,
      randomBytes,
      keys,
      tokens,
      methods,
      operator: operatorActions,
      invitations,
      pages: portal ? [portal, operatorConsole] : [operatorConsole],
      providers: { configs: providerConfigs, testers },
      pollers,
      failedChecks,
      publicUrl: config.publicUrl,
      bodyLimitBytes: config.bodyLimitBytes,
      checkReady: async () => {
        await Promise.all([store.ping(), checkRedis()]);
      },
      logger,
      ...(metrics ? { metrics } : {}),
    });
    closers.unshift(() => app.close());

    return {
      config,
      store,
      clock,
      randomBytes,
      keys,
      app,
      providers: { configs: providerConfigs, testers },
      async close() {
        for (const close of closers) await close().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }
}

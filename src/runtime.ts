// Composition root: turns a Config into running adapters and services, and closes them again.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccessTokens } from './auth/access-tokens.js';
import { KeyRing } from './auth/keyring.js';
import { Sealer } from './auth/seal.js';
import type { Config } from './config.js';
import type { Clock, RateCounter, Sender, Store } from './core/ports.js';
import { deriveKey, type RandomBytes } from './core/secrets.js';
import { createSender } from './delivery/index.js';
import { loadTemplates, renderMessage } from './delivery/templates.js';
import { buildApp, createLogger } from './http/app.js';
import { RedisRateCounter, StoreRateCounter } from './ratelimit/counters.js';
import { AnswerHasher } from './services/answer-hasher.js';
import { KbaService } from './services/kba.js';
import { ProviderConfigs, type ProviderTester } from './services/provider-configs.js';
import type { ProviderPoller } from './services/poll.js';
import type { ProviderMethod } from './core/provider-config.js';
import type { Method } from './core/model.js';
import { TokenService } from './services/token.js';
import { DuoService } from './services/duo.js';
import { duoRoutes } from './http/routes/duo.js';
import { DuoAuthApi } from './providers/duo/auth-api.js';
import { RsaService, rsaGateway } from './services/rsa.js';
import { rsaRoutes } from './http/routes/rsa.js';
import { OktaVerifyService } from './services/okta.js';
import { oktaRoutes } from './http/routes/okta.js';
import { DEFAULT_GATEWAY_OPTIONS, ProviderGateway } from './providers/gateway.js';
import { providerFetch } from './providers/http.js';
import { driverOf, openStore, portalStoreOf } from './store/index.js';
import { createTotpMethod } from './methods/totp/index.js';
import { renderInvitation } from './delivery/invitation.js';
import { Invitations } from './services/invitations.js';
import { PortalSessions } from './services/portal-sessions.js';
import { PORTAL_CLIENT_ID, portalRoutes } from './web/portal/index.js';
import { standardSections } from './web/portal/sections/index.js';
import { AuditTrail, type AuditListener } from './services/audit.js';
import { EventsWebhook } from './delivery/events.js';
import { Metrics } from './http/metrics.js';
import { Pruner } from './services/retention.js';
import { FailedCheckLimit } from './services/failed-checks.js';
import { OperatorActions } from './services/operator.js';
import { databaseFailure } from './startup.js';
import { passkeyMethod } from './methods/passkey/index.js';
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
export async function openMigratedStore(config: Config, schema?: string): Promise<Store> {
  let store: Store | undefined;
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
  const randomBytes: RandomBytes = (size) => cryptoRandomBytes(size);
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

    // Retention (docs/operations.md, "Retention"): pruning on a schedule, stopped before the store closes.
    const longestFailureWindowSeconds = Math.max(config.token.failureWindowSeconds, config.kba.attemptWindowSeconds, config.totp.failureWindowSeconds);
    const pruner = new Pruner(store, clock, { ...config.retention, longestFailureWindowSeconds }, logger.child({ component: 'retention' }));
    pruner.start();
    closers.unshift(() => pruner.stop());

    const sender = overrides.sender ?? createSender(config.delivery, config.dataDir, logger.child({ component: 'delivery' }));
    if (!overrides.sender) closers.unshift(async () => sender.close?.());
    const templates = config.delivery.templatesDir ? await loadTemplates(config.delivery.templatesDir) : undefined;

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

    const tokenService = new TokenService({
      store,
      sender: metrics ? metrics.countDeliveries(sender) : sender,
      audit,
      counter,
      clock,
      randomBytes,
      hashKey: deriveKey(secret, 'token-hmac'),
      policy: config.token,
      limits: config.rateLimits,
      explicitErrors: config.explicitErrors,
      onDeliveryError: (err, requestId) => logger.warn({ requestId, error: (err as Error).message }, 'token delivery failed'),
      compose: (input) =>
        renderMessage({ ...input, locale: input.locale ?? config.delivery.defaultLocale, defaultLocale: config.delivery.defaultLocale, templates }),
    });

    const hasher = new AnswerHasher(
      { memoryKib: config.kba.argon2MemoryKib, timeCost: config.kba.argon2TimeCost, parallelism: config.kba.argon2Parallelism },
      config.kba.maxConcurrentHashes,
      config.kba.maxQueuedHashes,
    );
    await hasher.warmUp();
    const kbaService = new KbaService({
      store,
      clock,
      counter,
      enrolmentLimits: config.kba,
      randomBytes,
      hasher,
      policy: config.kba,
      defaultLocale: config.delivery.defaultLocale,
      factorChangeWindowMs: config.factorChangeWindowSeconds * 1000,
      audit,
    });

    // The outside-provider methods: each adds its tester, its poller (if its verifications are
    // answered later) and its routes here.
    // Every provider call goes through one HTTP client that enforces where providers may be
    // (docs/providers.md), and through its method's gateway; a saved configuration resets that circuit.
    const fetchProvider = providerFetch({ allowPrivateHosts: config.allowPrivateProviderHosts });
    closers.unshift(async () => fetchProvider.close());
    const gateways: Record<ProviderMethod, ProviderGateway> = {
      rsa: rsaGateway(clock, logger.child({ component: 'rsa' }), gatewayOptions),
      'okta-verify': new ProviderGateway('okta', clock, { ...gatewayOptions, timeoutMs: config.okta.timeoutMs }, logger.child({ component: 'okta' })),
      'duo-web': new ProviderGateway('duo', clock, gatewayOptions, logger.child({ component: 'duo' })),
    };
    const providerConfigs = new ProviderConfigs(store, sealer, clock, {
      network: { allowPrivateHosts: config.allowPrivateProviderHosts },
      onChange: (method) => gateways[method].reset(),
    });
    const testers: Partial<Record<ProviderMethod, ProviderTester>> = {};
    const pollers: Partial<Record<Method, ProviderPoller>> = {};
    const methodRoutes: FastifyPluginAsync[] = [];

    // RSA SecurID push approval and tokencode (docs/rsa.md).
    const rsa = new RsaService({ store, clock, randomBytes, configs: providerConfigs, gateway: gateways.rsa, fetch: fetchProvider, audit });
    testers.rsa = rsa.test;
    pollers.rsa = rsa.poll;
    methodRoutes.push(rsaRoutes(rsa));

    // Okta Verify push (docs/okta.md).
    const okta = new OktaVerifyService({
      store,
      clock,
      randomBytes,
      configs: providerConfigs,
      gateway: gateways['okta-verify'],
      fetch: fetchProvider,
      settings: config.okta,
      userAgent: 'mfa-controller/0.1.0 (Okta Verify push)',
      audit,
    });
    testers['okta-verify'] = okta.test;
    pollers['okta-verify'] = okta.poll;
    methodRoutes.push(oktaRoutes(okta));

    // Duo Web v2 (docs/duo.md).
    const duo = new DuoService({
      store,
      clock,
      randomBytes,
      configs: providerConfigs,
      authApi: new DuoAuthApi(gateways['duo-web'], clock, fetchProvider),
      replayKey: deriveKey(secret, 'duo-replay'),
      audit,
    });
    testers['duo-web'] = duo.test;
    methodRoutes.push(duoRoutes(duo));

    // Authenticator apps (docs/totp.md).
    const factorChangeWindowMs = config.factorChangeWindowSeconds * 1000;
    methodRoutes.push(createTotpMethod({ store, driver: driverOf(store), sealer, clock, randomBytes, settings: config.totp, factorChangeWindowMs, audit }).routes);
    // The self-service portal (docs/portal.md): invitations, sessions, and the sections of its page.
    const deliveredSender = metrics ? metrics.countDeliveries(sender) : sender;
    const invitations = invitationsFor(config, store, deliveredSender, clock, randomBytes, (err) =>
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
          tokenService,
          counter,
          clock,
          randomBytes,
          publicUrl: config.publicUrl,
          factorChangeWindowMs: config.factorChangeWindowSeconds * 1000,
          limits: config.portal,
          sections: standardSections({ store, kbaService, kbaMinAnswers: config.kba.minAnswers, portalClientId: PORTAL_CLIENT_ID }),
        })
      : undefined;
    // Passkeys (docs/passkeys.md): the API's ceremonies, and the hosted verification page at the root.
    const passkey = passkeyMethod({ store, clock, randomBytes, settings: config.passkey, secret, factorChangeWindowMs: config.factorChangeWindowSeconds * 1000, audit });
    methodRoutes.push(passkey.routes);
    // The operator console (docs/console.md): its changes are written to the trail directly, like the CLI's.
    const operatorActions = new OperatorActions({ store, clock, audit: trail });
    const operatorConsole = consoleRoutes({
      operators: operatorsFor(config, store, deliveredSender, trail, clock, randomBytes, (err) => logger.warn({ error: (err as Error).message }, 'enrolment link delivery failed')),
      store,
      actions: operatorActions,
      invitations,
      keys,
      providers: { configs: providerConfigs, testers, circuits: { rsa: () => gateways.rsa.circuit(), 'okta-verify': () => gateways['okta-verify'].circuit(), 'duo-web': () => gateways['duo-web'].circuit() } },
      factors: standardFactors({ store, driver: driverOf(store), actions: operatorActions, audit: trail }),
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
      tokenService,
      kbaService,
      operator: operatorActions,
      invitations,
      ...(portal ? { portal } : {}),
      providers: { configs: providerConfigs, testers },
      pollers,
      methodRoutes,
      pageRoutes: [passkey.pageRoutes, operatorConsole],
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

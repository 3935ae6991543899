// Builds the Fastify application from ready-made services; listening is the caller's business.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import cluster from 'node:cluster';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { AccessTokens } from '../auth/access-tokens.js';
import type { KeyRing } from '../auth/keyring.js';
import type { Clock, Store } from '../core/ports.js';
import type { RandomBytes } from '../core/secrets.js';
import type { Invitations } from '../services/invitations.js';
import type { BuiltMethod } from '../methods/method.js';
import type { OperatorActions } from '../services/operator.js';
import { ATOMIC_WRITE_BYTES, LineBatch } from './log-lines.js';
import { errorBody, handleClientError, handleError, handleFrameworkError } from './errors.js';
import type { Metrics } from './metrics.js';
import { adminRoutes } from './routes/admin.js';
import { configurationV1Routes } from './routes/configuration-v1.js';
import { mfaRoutes, type MfaRoutesDeps } from './routes/mfa.js';
import type { ProviderRoutesDeps } from './routes/providers.js';
import { oauthRoutes } from './routes/oauth.js';
import { opsRoutes } from './routes/ops.js';
import { assetRoutes } from '../web/assets.js';

export interface AppDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly keys: KeyRing;
  readonly tokens: AccessTokens;
  /** What operators do for one person by hand (unlock, KBA reset), audited. */
  readonly operator: OperatorActions;
  /** Invitations to the self-service portal (POST /admin/v1/identities/{alias}/invitations). */
  readonly invitations: Invitations;
  /** The pages people open in a browser, each with its own sessions: the portal (unless MFA_PORTAL_ENABLED=false) and the console. */
  readonly pages: readonly FastifyPluginAsync[];
  /** Every method as its descriptor built it (src/methods): its routes and its poller. */
  readonly methods: readonly BuiltMethod[];
  readonly providers: ProviderRoutesDeps;
  readonly pollers: MfaRoutesDeps['pollers'];
  readonly failedChecks: MfaRoutesDeps['failedChecks'];
  readonly publicUrl: string;
  readonly bodyLimitBytes: number;
  readonly checkReady: () => Promise<void>;
  readonly logger: Logger;
  /** Counts requests and serves GET /metrics (docs/operations.md, "Metrics"); absent when metrics are off. */
  readonly metrics?: Metrics;
}

/** Log fields that may carry secrets. Bodies are never logged; headers are, less these. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-mfa-signature"]', 'err.config', 'err.request'];

/** Log output held before it is written: a couple of hundred access lines (one write, one wake-up of a pool thread). */
export const LOG_BUFFER_BYTES = 64 * 1024;
/** Longest a line waits in that buffer when the service is quiet. */
export const LOG_FLUSH_MS = 200;

/**
 * The service's logger: JSON lines, with the fields that may carry secrets redacted. `options` may hold
 * a `stream` to write to (tests); false gives a silent logger. Standard output is written asynchronously
 * (pino's destination with `sync: false`, flushed at exit): a synchronous write per line would hold the
 * event loop for every request's access line. Lines are gathered (LineBatch) and written LOG_BUFFER_BYTES
 * at a time, or after LOG_FLUSH_MS: each write is handed to a thread of libuv's pool, and one per line
 * cost a busy service a wake-up of that thread for every request. The workers of `serve --workers N`
 * share one standard output, so theirs are written in pieces a pipe takes whole.
 */
export function createLogger(options: false | (Record<string, unknown> & { stream?: DestinationStream })): Logger {
  if (options === false) return pino({ level: 'silent' });
  const { stream, ...rest } = options;
  const settings = { ...rest, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return pino(settings, stream ?? standardOutput(cluster.isWorker));
}

function standardOutput(sharedWithOtherProcesses: boolean): DestinationStream {
  // maxWrite: the destination would otherwise join the pieces again, up to 16 KiB.
  const destination = pino.destination({ dest: 1, sync: false, ...(sharedWithOtherProcesses ? { maxWrite: ATOMIC_WRITE_BYTES } : {}) });
  return new LineBatch(destination, { minChars: LOG_BUFFER_BYTES, flushMs: LOG_FLUSH_MS, atomicWrites: sharedWithOtherProcesses });
}

/**
 * One access line per request, written when it is answered (method, URL, status, time), instead of
 * Fastify's two (incoming, completed): the log costs a request half as much. Fastify's other lines
 * (errors, aborted streams) stay as they are.
 */
class AccessLog extends LogController {
  /** Set once the application exists. */
  access: AccessLines | undefined;

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    this.access?.write(request, reply);
  }
}

/**
 * The access line, written as pino writes it (level, time, the logger's bindings, then the fields in
 * order, Fastify's `req` and `res` serializers' fields) but built directly: pino's generic path (walk the
 * object, apply serializers and redaction, stringify each value) cost about 2 µs of a 40 µs request.
 * It holds no header, so there is nothing to redact. pino's symbols are its documented hooks for this.
 */
class AccessLines {
  private readonly stream: DestinationStream;
  private readonly bindings: string;

  constructor(private readonly logger: Logger) {
    const internals = logger as unknown as Record<symbol, unknown>;
    this.stream = internals[pino.symbols.streamSym] as DestinationStream;
    this.bindings = internals[pino.symbols.chindingsSym] as string;
  }

  write(request: FastifyRequest, reply: FastifyReply): void {
    if (!this.logger.isLevelEnabled('info')) return;
    const req = {
      method: request.method,
      url: request.url,
      version: request.headers['accept-version'],
      host: request.host,
      remoteAddress: request.ip,
      remotePort: request.socket?.remotePort,
    };
    this.stream.write(
      `{"level":30,"time":${Date.now()}${this.bindings},"reqId":${JSON.stringify(request.id)},"req":${JSON.stringify(req)},"res":{"statusCode":${reply.statusCode}},"responseTime":${reply.elapsedTime},"msg":"request completed"}\n`,
    );
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const accessLog = new AccessLog();
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    // Hostile input: deep or huge JSON is refused by size; prototype keys never reach handlers.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    routerOptions: { maxParamLength: 200 },
    requestTimeout: 30_000,
    // Deliberate HTTP limits (docs/fuzzing.md): Node's 16 KiB header limit written down, so a
    // --max-http-header-size flag cannot raise it; headers must arrive within 10 s (slow-loris), checked
    // every 5 s (Node's default check runs every 30 s).
    http: { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, connectionsCheckingInterval: 5_000 },
    // Router and HTTP parser refusals answer the spec's ErrorResponseDto too, not Fastify's own body.
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
    genReqId: () => crypto.randomUUID(),
    logController: accessLog,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });

  accessLog.access = new AccessLines(app.log as unknown as Logger);
  app.setErrorHandler(handleError);
  // No response is ever to be sniffed into another type (a JSON error echoing input read as HTML).
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    done(null, payload);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(404, `No route for ${request.method} ${request.url.split('?')[0]}.`)));

  // Before every route, so the request hooks count them all.
  deps.metrics?.instrument(app, deps.tokens);
  await app.register(opsRoutes, { keys: deps.keys, publicUrl: deps.publicUrl, checkReady: deps.checkReady });
  await app.register(oauthRoutes, { store: deps.store, tokens: deps.tokens });
  // The methods' public routes (a hosted page): at the root, outside every bearer-checked context.
  for (const method of deps.methods) {
    if (method.publicRoutes) await app.register(method.publicRoutes);
  }
  for (const prefix of ['/v3', '/beta']) {
    await app.register(mfaRoutes, { prefix, store: deps.store, clock: deps.clock, tokens: deps.tokens, providers: deps.providers, methods: deps.methods, pollers: deps.pollers, failedChecks: deps.failedChecks });
  }
  await app.register(configurationV1Routes, { store: deps.store, tokens: deps.tokens, providers: deps.providers, methods: deps.methods });
  // Styles and scripts of the pages (src/web); the pages themselves register with their features.
  await app.register(assetRoutes);
  for (const pages of deps.pages) await app.register(pages);
  await app.register(adminRoutes, { prefix: '/admin/v1', store: deps.store, clock: deps.clock, randomBytes: deps.randomBytes, tokens: deps.tokens, keys: deps.keys, operator: deps.operator, invitations: deps.invitations });
  return app;
}

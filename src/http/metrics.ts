// Prometheus metrics: one prom-client Registry per runtime (never the global one, so several runtimes in
// one process keep apart), the HTTP hooks that count requests by route pattern, the /metrics route, and
// the observers the runtime hands to the audit trail, the sender and the provider gateways.
// Labels hold only bounded values (route patterns, methods, outcomes): never an alias, address or URL.
import type { FastifyInstance } from 'fastify';
import type { AccessTokens } from '../auth/access-tokens.js';
import { METRICS_SCOPE } from '../auth/scopes.js';
import { bearerAuth } from './auth.js';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isUnaddressedSend, type AuditEvent } from '../core/audit.js';
import { DELIVERY_ROUTES } from '../core/model.js';
import type { Message, Sender } from '../core/ports.js';
import type { GatewayCall } from '../providers/gateway.js';

/** A request that matched no route is counted under this label, not its URL (which the caller chooses). */
export const UNMATCHED_ROUTE = 'unmatched';

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;
  private readonly verifications: Counter<'method' | 'outcome'>;
  private readonly deliveries: Counter<'channel' | 'result'>;
  private readonly providerCalls: Counter<'provider' | 'operation' | 'outcome'>;
  private readonly providerDuration: Histogram<'provider' | 'operation'>;
  private readonly auditWriteFailures: Counter;
  private readonly eventDeliveries: Counter<'result'>;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.httpRequests = new Counter({ name: 'mfa_http_requests_total', help: 'HTTP requests answered, by route pattern and status code.', labelNames: ['method', 'route', 'status_code'], registers });
    this.httpDuration = new Histogram({ name: 'mfa_http_request_duration_seconds', help: 'Time to answer an HTTP request, by route pattern.', labelNames: ['method', 'route'], buckets: SECONDS_BUCKETS, registers });
    this.verifications = new Counter({ name: 'mfa_verifications_total', help: 'Verification decisions (the audit trail), by method and outcome.', labelNames: ['method', 'outcome'], registers });
    this.deliveries = new Counter({ name: 'mfa_deliveries_total', help: 'Token messages handed to a transport, by channel and result (sent, failed).', labelNames: ['channel', 'result'], registers });
    this.providerCalls = new Counter({ name: 'mfa_provider_calls_total', help: 'Tries of calls to outside providers, by provider, operation and outcome (success, failure, refused by the open circuit).', labelNames: ['provider', 'operation', 'outcome'], registers });
    this.providerDuration = new Histogram({ name: 'mfa_provider_call_duration_seconds', help: 'Time of one try of a provider call.', labelNames: ['provider', 'operation'], buckets: SECONDS_BUCKETS, registers });
    this.auditWriteFailures = new Counter({ name: 'mfa_audit_write_failures_total', help: 'Audit rows that could not be written (the request failed with 500).', registers });
    this.eventDeliveries = new Counter({ name: 'mfa_events_webhook_deliveries_total', help: 'Events webhook POSTs, by result (delivered, retried, failed after the last try, dropped).', labelNames: ['result'], registers });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Adds the request hooks and GET /metrics; call before any route is registered so every route is
   * counted. The metrics are served only to a bearer token holding mfa:metrics: what they count (sends,
   * checks, deliveries, provider calls) is for the operator's scraper, not for API callers.
   */
  instrument(app: FastifyInstance, tokens: AccessTokens): void {
    // A callback hook, not an async one: no promise per request.
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      const method = request.method;
      this.httpRequests.inc({ method, route, status_code: String(reply.statusCode) });
      this.httpDuration.observe({ method, route }, reply.elapsedTime / 1000);
      done();
    });
    app.get('/metrics', { onRequest: bearerAuth(tokens), config: { scopes: [METRICS_SCOPE] } }, async (_request, reply) =>
      reply.type(this.registry.contentType).header('cache-control', 'no-store').send(await this.registry.metrics()),
    );
  }

  /**
   * The audit trail's listener. A send answered as sent although nothing went out (no such alias, no
   * address) is counted as the caller saw it, a SENT decision and a sent message, so that diffing the
   * metrics around one send tells no more than the answer did.
   */
  readonly onDecision = (event: AuditEvent): void => {
    // An operator's change in the console is no verification.
    if (event.method === 'console') return;
    if (isUnaddressedSend(event)) {
      this.verifications.inc({ method: event.method, outcome: 'SENT' });
      if (event.deliveryType) this.deliveries.inc({ channel: DELIVERY_ROUTES[event.deliveryType].channel, result: 'sent' });
      return;
    }
    this.verifications.inc({ method: event.method, outcome: event.outcome });
  };

  /** The gateways' observer. */
  readonly onProviderCall = (call: GatewayCall): void => {
    this.providerCalls.inc({ provider: call.provider, operation: call.operation, outcome: call.outcome });
    if (call.outcome !== 'refused') this.providerDuration.observe({ provider: call.provider, operation: call.operation }, call.durationMs / 1000);
  };

  readonly onAuditWriteFailure = (): void => this.auditWriteFailures.inc();

  readonly onEventDelivery = (result: 'delivered' | 'retried' | 'failed' | 'dropped'): void => {
    this.eventDeliveries.inc({ result });
  };

  /** The sender, counting each message by channel and result. */
  countDeliveries(sender: Sender): Sender {
    const deliveries = this.deliveries;
    return {
      async send(message: Message): Promise<void> {
        try {
          await sender.send(message);
        } catch (err) {
          deliveries.inc({ channel: message.channel, result: 'failed' });
          throw err;
        }
        deliveries.inc({ channel: message.channel, result: 'sent' });
      },
      ...(sender.close ? { close: () => sender.close!() } : {}),
    };
  }
}

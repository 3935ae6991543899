// The events webhook: each audit event POSTed as JSON to the operator's endpoint, signed as token
// webhooks are (docs/delivery.md), in the background with bounded retries. Nothing here blocks or fails a
// request. The queue is in memory: what is pending when the process ends is lost, and the audit table
// (GET /admin/v1/audit, oldest first after the last id received) is the record to reconcile from.
import type { AuditEvent } from '../core/audit.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature } from './webhook.js';

export const EVENT_ID_HEADER = 'X-MFA-Event-Id';

export interface EventsWebhookOptions {
  readonly url: string;
  /** HMAC key, used as its UTF-8 bytes. */
  readonly secret: string;
  readonly timeoutMs: number;
  /** Tries per event, the first included. */
  readonly maxTries: number;
  /** The wait before the second try; doubled before each further one. */
  readonly retryBaseMs: number;
  /** Events waiting (for a try or a retry) at most; beyond, new events are dropped and counted. */
  readonly maxPending?: number;
  /** POSTs in flight at once. */
  readonly concurrency?: number;
  readonly now?: () => number;
}

export interface EventsLogger {
  warn(details: object, message: string): void;
}

export type EventDeliveryResult = 'delivered' | 'retried' | 'failed' | 'dropped';

interface Pending {
  readonly event: AuditEvent;
  tries: number;
}

/** The JSON body of one event (`at` as ISO 8601). */
export function eventBody(event: AuditEvent): string {
  return JSON.stringify({ ...event, at: new Date(event.at).toISOString() });
}

export class EventsWebhook {
  /** scheme://host:port only: paths and queries of webhook URLs often embed a key. */
  private readonly target: string;
  private readonly now: () => number;
  private readonly ready: Pending[] = [];
  private readonly waiting = new Map<Pending, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly options: EventsWebhookOptions,
    private readonly logger?: EventsLogger,
    private readonly onResult?: (result: EventDeliveryResult) => void,
  ) {
    this.target = new URL(options.url).origin;
    this.now = options.now ?? Date.now;
  }

  /** Queues the event and returns at once (an AuditListener). */
  readonly enqueue = (event: AuditEvent): void => {
    if (this.closed || this.ready.length + this.waiting.size + this.inFlight.size >= (this.options.maxPending ?? 10_000)) {
      this.onResult?.('dropped');
      this.logger?.warn({ eventId: event.id, target: this.target }, 'events webhook: event dropped (queue full or closing)');
      return;
    }
    this.ready.push({ event, tries: 0 });
    this.pump();
  };

  /** Events not yet delivered nor given up on. */
  get pending(): number {
    return this.ready.length + this.waiting.size + this.inFlight.size;
  }

  /** Stops retrying (events waiting for a retry are logged as lost) and waits for POSTs in flight. */
  async close(): Promise<void> {
    this.closed = true;
    const lost = [...this.waiting.keys(), ...this.ready.splice(0)];
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    for (const item of lost) {
      this.onResult?.('dropped');
      this.logger?.warn({ eventId: item.event.id, target: this.target, tries: item.tries }, 'events webhook: event not delivered before shutdown');
    }
    await Promise.allSettled([...this.inFlight]);
  }

  private pump(): void {
    while (this.inFlight.size < (this.options.concurrency ?? 4) && this.ready.length > 0) {
      const item = this.ready.shift()!;
      const flight: Promise<void> = this.attempt(item).finally(() => {
        this.inFlight.delete(flight);
        this.pump();
      });
      this.inFlight.add(flight);
    }
  }

  private async attempt(item: Pending): Promise<void> {
    item.tries++;
    const failure = await this.post(item.event);
    if (failure === undefined) {
      this.onResult?.('delivered');
      return;
    }
    if (item.tries >= this.options.maxTries || this.closed) {
      this.onResult?.('failed');
      this.logger?.warn({ eventId: item.event.id, target: this.target, tries: item.tries, error: failure }, 'events webhook: event not delivered');
      return;
    }
    this.onResult?.('retried');
    const delayMs = this.options.retryBaseMs * 2 ** (item.tries - 1);
    const timer = setTimeout(() => {
      this.waiting.delete(item);
      this.ready.push(item);
      this.pump();
    }, delayMs);
    // A retry waiting does not keep the process alive; close() reports it as lost.
    timer.unref();
    this.waiting.set(item, timer);
  }

  /** Undefined when the endpoint answered 2xx; otherwise why not. Each try is signed afresh, so its timestamp is current. */
  private async post(event: AuditEvent): Promise<string | undefined> {
    const rawBody = eventBody(event);
    const timestampSeconds = Math.floor(this.now() / 1000);
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          [TIMESTAMP_HEADER]: String(timestampSeconds),
          [SIGNATURE_HEADER]: webhookSignature(this.options.secret, timestampSeconds, rawBody),
          [EVENT_ID_HEADER]: event.id,
        },
        body: rawBody,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.status >= 200 && response.status <= 299 ? undefined : `HTTP ${response.status}`;
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string } };
      if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${this.options.timeoutMs} ms`;
      return e?.cause?.code ?? e?.message ?? String(err);
    }
  }
}

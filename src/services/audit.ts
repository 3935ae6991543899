// The audit trail: each decision a service reports becomes one appended row, then is handed to the
// listeners (metrics, the events webhook), which never block or fail the request.
import { AuditIds, toAuditEvent, type AuditEvent, type Decision } from '../core/audit.js';
import type { AuditSink, AuditStore, Clock, PreparedAudit } from '../core/ports.js';
import type { RandomBytes } from '../core/secrets.js';

/** Told of every event once it is stored; must return at once (queue work, do not await it). */
export type AuditListener = (event: AuditEvent) => void;

export interface AuditTrailDeps {
  readonly store: Pick<AuditStore, 'appendAudit'>;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly listeners?: readonly AuditListener[];
  /** A listener threw: reported here, the request goes on. */
  readonly onListenerError?: (err: unknown) => void;
  /** The insert failed: reported here before the error reaches the request. */
  readonly onWriteError?: (err: unknown) => void;
}

export class AuditTrail implements AuditSink {
  private readonly ids: AuditIds;

  constructor(private readonly deps: AuditTrailDeps) {
    this.ids = new AuditIds(deps.randomBytes);
  }

  /**
   * Fails closed: the insert is awaited and its error goes up to the request, which answers 500 rather
   * than a decision nothing recorded. One insert per decision.
   */
  async record(decision: Decision): Promise<void> {
    const event = this.eventOf(decision);
    try {
      await this.deps.store.appendAudit(event);
    } catch (err) {
      this.deps.onWriteError?.(err);
      throw err;
    }
    this.tell(event);
  }

  /** The row for the caller to write in its own transaction; the listeners are told once it has committed. */
  prepare(decision: Decision): PreparedAudit {
    const event = this.eventOf(decision);
    return {
      event,
      written: async () => this.tell(event),
      instead: (other) => this.record(other),
      failed: (err) => this.deps.onWriteError?.(err),
    };
  }

  private eventOf(decision: Decision): AuditEvent {
    const at = this.deps.clock.now();
    return toAuditEvent(decision, this.ids.next(at), at);
  }

  private tell(event: AuditEvent): void {
    for (const listener of this.deps.listeners ?? []) {
      try {
        listener(event);
      } catch (err) {
        this.deps.onListenerError?.(err);
      }
    }
  }
}

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

/** Bytes drawn from the pool at once: a read of the random source costs ~2 µs whatever its size. */
const POOL_BYTES = 4096;

/**
 * Random bytes from `source`, read POOL_BYTES at a time. For the ids' disambiguating suffix, which is not a
 * secret (ids page the trail): never for secrets, which are read from the source each time.
 */
function pooled(source: RandomBytes): RandomBytes {
  let pool: Buffer = Buffer.alloc(0);
  let at = 0;
  return (size) => {
    if (size > POOL_BYTES) return source(size);
    if (at + size > pool.length) {
      pool = source(POOL_BYTES);
      at = 0;
    }
    at += size;
    return pool.subarray(at - size, at);
  };
}

export class AuditTrail implements AuditSink {
  private readonly ids: AuditIds;

  constructor(private readonly deps: AuditTrailDeps) {
    this.ids = new AuditIds(pooled(deps.randomBytes));
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

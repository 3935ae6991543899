// The per-client limit on failed checks (token, KBA, Duo, RSA tokencode, Okta): a client that has
// failed its budget in the current window is answered 429 before anything is checked or recorded, so
// one client cannot grow the audit trail (or probe aliases) without bound. Counted on the shared rate
// counter, so the limit holds across processes.
import { rateLimited } from '../core/errors.js';
import type { Decision } from '../core/audit.js';
import type { AuditSink, Clock, PreparedAudit, RateCounter } from '../core/ports.js';

export interface FailedCheckRule {
  readonly failedChecksPerClient: number;
  readonly failedChecksPerClientWindowSeconds: number;
}

/** A decision that counts: a check by the client (not a poll, not a send) that did not succeed or send a push. */
export function isFailedCheck(decision: Decision): boolean {
  return (decision.operation === 'authenticate' || decision.operation === 'verify') && decision.outcome !== 'SUCCESS' && decision.outcome !== 'SENT';
}

type Count = { count: number; resetAt: number };

interface Waiting {
  readonly resolve: (count: Count) => void;
  readonly reject: (err: unknown) => void;
}

export class FailedCheckLimit {
  /** Per client: the admits waiting for the next read of its counter, while one is under way. */
  private readonly reads = new Map<string, Waiting[]>();

  constructor(
    private readonly counter: RateCounter,
    private readonly clock: Clock,
    private readonly rule: FailedCheckRule,
  ) {}

  private key(clientId: string): string {
    return `failed-checks:client:${clientId}`;
  }

  private get windowMs(): number {
    return this.rule.failedChecksPerClientWindowSeconds * 1000;
  }

  /**
   * Throws RATE_LIMITED (with the seconds to the window's end) when the client has no failures left.
   * Read before the check, counted after it: checks already in flight when the budget runs out can pass
   * it by at most their number.
   */
  async admit(clientId: string): Promise<void> {
    const { count, resetAt } = await this.read(clientId);
    const now = this.clock.now();
    if (count >= this.rule.failedChecksPerClient) throw rateLimited(Math.max(1, Math.ceil((resetAt - now) / 1000)));
  }

  /**
   * The client's count, from a read that began after this call: the admits of one turn of the event loop,
   * and those that arrive while a read is under way, share the next one. Each is answered as if it had
   * read alone, at one read per client per round trip (an API client usually makes every check of a deployment).
   */
  private read(clientId: string): Promise<Count> {
    return new Promise((resolve, reject) => {
      const waiting = this.reads.get(clientId);
      if (waiting) {
        waiting.push({ resolve, reject });
        return;
      }
      this.reads.set(clientId, [{ resolve, reject }]);
      // Begun once the I/O of this turn of the event loop has been handled: the checks that arrived in
      // it share the read (reads on SQLite are synchronous, so none would otherwise be under way to join).
      setImmediate(() => void this.readFor(clientId));
    });
  }

  private async readFor(clientId: string): Promise<void> {
    const waiting = this.reads.get(clientId)!;
    while (waiting.length > 0) {
      const readers = waiting.splice(0);
      try {
        const count = await this.counter.peek(this.key(clientId), this.windowMs, this.clock.now());
        for (const r of readers) r.resolve(count);
      } catch (err) {
        for (const r of readers) r.reject(err);
      }
    }
    this.reads.delete(clientId);
  }

  /** The audit sink the services write to: each failed check, once recorded, is counted against its client. */
  counting(inner: AuditSink): AuditSink {
    return {
      // The row and the count at once (neither waits for the other's commit); the answer waits for both,
      // so the next check reads this one. A failed row still counts: counting more is the safe side.
      record: async (decision: Decision): Promise<void> => {
        if (!isFailedCheck(decision)) return inner.record(decision);
        await Promise.all([inner.record(decision), this.count(decision)]);
      },
      ...(inner.prepare && {
        prepare: (decision: Decision): PreparedAudit => {
          const prepared = inner.prepare!(decision);
          // Counted at once, while the caller's transaction is under way rather than after it (a failed
          // check is known as such before its row is written); the answer waits for both, as with record.
          // If that transaction fails, the check stays counted: counting more is the safe side.
          const counting = isFailedCheck(decision) ? this.count(decision) : undefined;
          counting?.catch(() => undefined);
          return {
            event: prepared.event,
            written: async () => {
              await Promise.all([prepared.written(), counting]);
            },
            instead: async (other) => {
              const uncounted = isFailedCheck(other) && !counting;
              await Promise.all([prepared.instead(other), counting, uncounted ? this.count(other) : undefined]);
            },
            failed: (err) => prepared.failed(err),
          };
        },
      }),
    };
  }

  private async count(decision: Decision): Promise<void> {
    await this.counter.hit(this.key(decision.clientId), this.windowMs, this.clock.now());
  }
}

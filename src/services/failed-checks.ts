// The per-client limit on failed checks (token, KBA, Duo, RSA tokencode, Okta): a client that has
// failed its budget in the current window is answered 429 before anything is checked or recorded, so
// one client cannot grow the audit trail (or probe aliases) without bound. Counted on the shared rate
// counter, so the limit holds across processes.
import { rateLimited } from '../core/errors.js';
import type { Decision } from '../core/audit.js';
import type { AuditSink, Clock, RateCounter } from '../core/ports.js';

export interface FailedCheckRule {
  readonly failedChecksPerClient: number;
  readonly failedChecksPerClientWindowSeconds: number;
}

/** A decision that counts: a check by the client (not a poll, not a send) that did not succeed or send a push. */
export function isFailedCheck(decision: Decision): boolean {
  return (decision.operation === 'authenticate' || decision.operation === 'verify') && decision.outcome !== 'SUCCESS' && decision.outcome !== 'SENT';
}

export class FailedCheckLimit {
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
    const now = this.clock.now();
    const { count, resetAt } = await this.counter.peek(this.key(clientId), this.windowMs, now);
    if (count >= this.rule.failedChecksPerClient) throw rateLimited(Math.max(1, Math.ceil((resetAt - now) / 1000)));
  }

  /** The audit sink the services write to: each failed check, once recorded, is counted against its client. */
  counting(inner: AuditSink): AuditSink {
    return {
      record: async (decision: Decision): Promise<void> => {
        await inner.record(decision);
        if (isFailedCheck(decision)) await this.counter.hit(this.key(decision.clientId), this.windowMs, this.clock.now());
      },
    };
  }
}

// The one verification lifecycle every method follows (docs/methods.md). Each step has one name:
//   decide   a verification decided at once (a KBA check, a Duo response, a push that could not be sent)
//   start    a pending verification, answered later (an Okta or RSA push)
//   complete a pending verification moved to its final status, by the first caller only
//   poll     where a verification stands (src/methods/poll.ts); concurrent polls of one verification
//            share one look at the provider (PollCoalescer)
// Each step is one store call and one audit event, awaited (a failed audit write fails the request). A
// decision that depends on a count written with it (a TOTP check) is prepared instead: its rows go into
// the caller's transaction (Store.recordFailureWithDecision).
// The token method's hot path keeps its own atomic statements (src/store/sql-store.ts), under the same rules.
import { auditOutcome, type AuditOperation } from '../core/audit.js';
import type { Method, Verification, VerificationStatus } from '../core/model.js';
import type { AuditSink, Clock, DecidedRows, VerificationStore } from '../core/ports.js';
import { generateRequestId, type RandomBytes } from '../core/secrets.js';
import { completionAnswer, decidedVerification, pendingVerification, type StatusView } from '../core/verification.js';

export interface LifecycleDeps {
  readonly store: Pick<VerificationStore, 'recordVerification' | 'startProviderVerification' | 'completeVerification' | 'findVerification'>;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  /** Told of every step's outcome; awaited, so a failure fails the request. */
  readonly audit?: AuditSink | undefined;
}

export interface Decision {
  /** The call that decided it, as the audit trail names it. */
  readonly operation: AuditOperation;
  /** Whom it verifies: the alias (or Okta login, Duo/RSA userId) as the caller gave it, known or not. */
  readonly subject: string;
  readonly clientId: string;
  readonly status: VerificationStatus;
  readonly error: string | null;
  /** A keyed fingerprint of what was checked (Duo's response), never a secret. */
  readonly secretHash?: string | null;
}

export interface PreparedDecision {
  readonly requestId: string;
  readonly rows: DecidedRows;
  /** The rows were committed: the audit trail's listeners are told (or the row written, see prepare). */
  committed(): Promise<void>;
  /** The transaction that carried the rows failed (the request fails). */
  failed(err: unknown): void;
}

export interface Start {
  readonly operation: AuditOperation;
  readonly subject: string;
  readonly clientId: string;
  /** When the person's answer stops counting (a poll reports FAILED from then on). */
  readonly expiresAt: number;
  /** What the method needs to ask about it later (no secret), kept with the verification. */
  readonly providerState: string;
  /** What went out, for the audit trail ('push sent'). */
  readonly sent: string;
}

export class VerificationLifecycle {
  constructor(
    private readonly method: Method,
    private readonly deps: LifecycleDeps,
  ) {}

  /** Records a verification decided at once, kept so that poll reports it (DECIDED_RETENTION_MS); its request id. */
  async decide(d: Decision): Promise<string> {
    const { store, clock, randomBytes } = this.deps;
    const now = clock.now();
    const id = generateRequestId(randomBytes, now);
    // Both at once: on SQLite they go in the same group commit, on PostgreSQL in parallel round trips. A
    // failure of either still fails the request.
    await Promise.all([
      store.recordVerification(decidedVerification({ id, method: this.method, ...d, now })),
      this.deps.audit?.record({ method: this.method, operation: d.operation, alias: d.subject, clientId: d.clientId, outcome: auditOutcome(d.status), reason: d.error, requestId: id }),
    ]);
    return id;
  }

  /**
   * A decision whose rows the caller writes in a transaction of its own (recordFailureWithDecision), with
   * what to call once it committed or failed. Its audit row is among the rows when the sink can prepare
   * one; otherwise the sink records it after the commit.
   */
  prepare(d: Decision): PreparedDecision {
    const now = this.deps.clock.now();
    const id = generateRequestId(this.deps.randomBytes, now);
    const decision = { method: this.method, operation: d.operation, alias: d.subject, clientId: d.clientId, outcome: auditOutcome(d.status), reason: d.error, requestId: id };
    const audit = this.deps.audit?.prepare?.(decision);
    return {
      requestId: id,
      rows: { verification: decidedVerification({ id, method: this.method, ...d, now }), audit: audit?.event },
      committed: async () => {
        if (audit) await audit.written();
        else await this.deps.audit?.record(decision);
      },
      failed: (err) => audit?.failed(err),
    };
  }

  /** Records a pending verification with its provider state; its request id. */
  async start(s: Start): Promise<string> {
    const { store, clock, randomBytes } = this.deps;
    const now = clock.now();
    const id = generateRequestId(randomBytes, now);
    const v = pendingVerification({ id, method: this.method, subject: s.subject, clientId: s.clientId, now, expiresAt: s.expiresAt });
    await store.startProviderVerification(v, s.providerState);
    await this.deps.audit?.record({ method: this.method, operation: s.operation, alias: s.subject, clientId: s.clientId, outcome: 'SENT', reason: s.sent, requestId: id });
    return id;
  }

  /**
   * Moves a pending verification to its final status once: the first caller records it (and the audit
   * event) and gets `won`; any later one gets the status the first recorded.
   */
  async complete(v: Verification, view: StatusView, operation: AuditOperation = 'poll'): Promise<{ readonly won: boolean; readonly view: StatusView }> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const won = await store.completeVerification(v.id, view.status, view.error, now);
    if (won) {
      await this.deps.audit?.record({ method: this.method, operation, alias: v.subject, clientId: v.clientId, outcome: auditOutcome(view.status), reason: view.error, requestId: v.id });
      return { won, view };
    }
    return { won, view: completionAnswer(won, view, await store.findVerification(v.id), now) };
  }
}

/**
 * One look at a provider per verification at a time, in this process: polls that arrive while one is under
 * way share its answer instead of asking again.
 */
export class PollCoalescer {
  private readonly inFlight = new Map<string, Promise<StatusView>>();

  share(verificationId: string, look: () => Promise<StatusView>): Promise<StatusView> {
    const running = this.inFlight.get(verificationId);
    if (running) return running;
    const started = look().finally(() => this.inFlight.delete(verificationId));
    this.inFlight.set(verificationId, started);
    return started;
  }
}

// A verification decided at once (a KBA check, a Duo response, an RSA tokencode): recorded so that
// poll reports it, and written to the audit trail.
import { auditOutcome, type AuditOperation } from '../core/audit.js';
import type { Method, VerificationStatus } from '../core/model.js';
import type { AuditSink, Clock, Store } from '../core/ports.js';
import { generateId, type RandomBytes } from '../core/secrets.js';

export interface DecidedDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly audit?: AuditSink | undefined;
}

export interface Decided {
  readonly method: Method;
  readonly operation: AuditOperation;
  readonly subject: string;
  readonly clientId: string;
  readonly status: VerificationStatus;
  readonly error: string | null;
  /** How long poll can still report it. */
  readonly retentionMs: number;
  readonly secretHash?: string | null;
}

/** Records the decision; its request id. */
export async function recordDecided(deps: DecidedDeps, d: Decided): Promise<string> {
  const now = deps.clock.now();
  const requestId = generateId(deps.randomBytes);
  await deps.store.recordVerification({
    id: requestId,
    method: d.method,
    subject: d.subject,
    clientId: d.clientId,
    deliveryType: null,
    secretHash: d.secretHash ?? null,
    status: d.status,
    error: d.error,
    attempts: 1,
    createdAt: now,
    expiresAt: now + d.retentionMs,
    completedAt: now,
  });
  await deps.audit?.record({ method: d.method, operation: d.operation, alias: d.subject, clientId: d.clientId, outcome: auditOutcome(d.status), reason: d.error, requestId });
  return requestId;
}

// POST /mfa/{method}/poll, the lifecycle's poll step for every method (src/methods/lifecycle.ts): where a
// verification stands, for the client that started it; the method's poller is asked while it is PENDING.
import type { Method, Verification } from '../core/model.js';
import type { Clock, VerificationStore } from '../core/ports.js';
import { UNKNOWN_REQUEST, statusAt, type StatusView, type VerificationResponse } from '../core/verification.js';

/** Asks a provider where a pending verification of its method stands (Okta, RSA), recording the outcome. */
export type ProviderPoller = (v: Verification) => Promise<StatusView>;

export async function pollVerification(
  store: Pick<VerificationStore, 'findVerification'>,
  clock: Clock,
  pollers: Readonly<Partial<Record<Method, ProviderPoller>>>,
  clientId: string,
  method: Method,
  requestId: string,
  /** When given, only verifications of these subjects are visible (a token acting for an identity). */
  subjects?: readonly string[],
): Promise<VerificationResponse> {
  const v = await store.findVerification(requestId);
  // Unknown, another client's, another method's or another identity's: one answer for all.
  if (!v || v.clientId !== clientId || v.method !== method || (subjects && !subjects.includes(v.subject))) return { requestId, ...UNKNOWN_REQUEST };
  const local = statusAt(v, clock.now());
  const poller = pollers[method];
  if (local.status === 'PENDING' && poller) return { requestId, ...(await poller(v)) };
  return { requestId, ...local };
}

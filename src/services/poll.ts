// POST /mfa/{method}/poll: where a verification stands, for the client that started it.
import type { Method } from '../core/model.js';
import type { Clock, Store } from '../core/ports.js';
import { UNKNOWN_REQUEST, statusAt, type StatusView } from '../core/token-rules.js';

export async function pollVerification(
  store: Store,
  clock: Clock,
  clientId: string,
  method: Method,
  requestId: string,
): Promise<StatusView & { requestId: string }> {
  const v = await store.findVerification(requestId);
  // Unknown, another client's, or another method's: one answer for all three.
  if (!v || v.clientId !== clientId || v.method !== method) return { requestId, ...UNKNOWN_REQUEST };
  return { requestId, ...statusAt(v, clock.now()) };
}

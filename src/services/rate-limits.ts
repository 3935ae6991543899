// Send limits per client and per recipient, counted in fixed windows on a shared counter.
import { rateLimited } from '../core/errors.js';
import type { Clock, RateCounter } from '../core/ports.js';

export interface LimitRule {
  readonly key: string;
  readonly limit: number;
  readonly windowSeconds: number;
}

/** Counts a hit on every rule; throws RATE_LIMITED with the longest wait among the rules exceeded. */
export async function enforceLimits(counter: RateCounter, clock: Clock, rules: readonly LimitRule[]): Promise<void> {
  const now = clock.now();
  const hits = await Promise.all(rules.map((rule) => counter.hit(rule.key, rule.windowSeconds * 1000, now)));
  let retryAfterSeconds = 0;
  hits.forEach((hit, i) => {
    if (hit.count > rules[i]!.limit) {
      retryAfterSeconds = Math.max(retryAfterSeconds, Math.max(1, Math.ceil((hit.resetAt - now) / 1000)));
    }
  });
  if (retryAfterSeconds > 0) throw rateLimited(retryAfterSeconds);
}

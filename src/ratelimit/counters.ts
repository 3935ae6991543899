// Fixed-window counters for rate limits: in Redis when configured, else in the database. Either way
// every process sees the same counts.
import { Redis } from 'ioredis';
import type { CounterStore, RateCounter } from '../core/ports.js';

export class StoreRateCounter implements RateCounter {
  constructor(private readonly store: CounterStore) {}
  hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return this.store.hitCounter(key, windowMs, now);
  }
  peek(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return this.store.peekCounter(key, windowMs, now);
  }
  async close(): Promise<void> {}
}

export class RedisRateCounter implements RateCounter {
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix = 'mfa:rate:') {
    // Fail fast while Redis is away rather than queueing requests behind a reconnect.
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
    this.redis.on('error', () => undefined);
  }

  async hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    // The window number is part of the key, so a window's counter is never reset, only left to expire.
    const window = Math.floor(now / windowMs);
    const fullKey = `${this.prefix}${key}:${window}`;
    const results = await this.redis.multi().incr(fullKey).pexpire(fullKey, windowMs + 1000).exec();
    const count = Number(results?.[0]?.[1] ?? 0);
    if (results?.[0]?.[0]) throw results[0][0];
    return { count, resetAt: (window + 1) * windowMs };
  }

  async peek(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const window = Math.floor(now / windowMs);
    const value = await this.redis.get(`${this.prefix}${key}:${window}`);
    return { count: Number(value ?? 0), resetAt: (window + 1) * windowMs };
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** Undefined once connected, or the cause (an error code) if not connected within `timeoutMs`. */
  whenReady(timeoutMs: number): Promise<string | undefined> {
    if (this.redis.status === 'ready') return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (result: string | undefined) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady).off('error', onError);
        resolve(result);
      };
      const onReady = () => done(undefined);
      // ioredis goes on reconnecting after an error; only the start-up report stops at the first one.
      const onError = (err: Error & { code?: string }) => done(err.code ?? err.message);
      const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
      this.redis.on('ready', onReady).on('error', onError);
    });
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

// The service's random bytes: node:crypto's CSPRNG, drawn a pool at a time. Each draw from node:crypto
// costs about 2 µs whatever its size (a call into OpenSSL and a new buffer), and a request of a busy
// service takes several small ones (a request id, an audit id); from a pool they cost about 0.15 µs.
// Node's own randomUUID keeps such a pool for the same reason.
import { randomBytes, randomFillSync } from 'node:crypto';
import type { RandomBytes } from '../core/secrets.js';

export const RANDOM_POOL_BYTES = 4096;

/**
 * A RandomBytes drawing from a pool refilled from the CSPRNG when it runs short. Bytes handed out are
 * wiped from the pool, so it only ever holds bytes nobody has been given; each answer is a buffer of its
 * own, which a caller may keep or change. Larger requests than the pool go to node:crypto directly.
 */
export function pooledRandomBytes(poolBytes = RANDOM_POOL_BYTES): RandomBytes {
  const pool = Buffer.alloc(poolBytes);
  let used = poolBytes;
  return (size) => {
    if (size > poolBytes) return randomBytes(size);
    if (used + size > poolBytes) {
      randomFillSync(pool);
      used = 0;
    }
    // Buffer.alloc, not allocUnsafe: a buffer of its own, never a slice of a slab other data shares.
    const out = Buffer.alloc(size);
    pool.copy(out, 0, used, used + size);
    pool.fill(0, used, used + size);
    used += size;
    return out;
  };
}

// The pooled random source every request id, audit id and secret of the service is drawn from: an
// answer must never be handed out twice, nor change after it was given, however the pool is drawn down.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pooledRandomBytes } from '../../src/auth/random-pool.js';

describe('pooled random bytes', () => {
  it('never hands out the same bytes twice, across many refills of the pool', () => {
    const random = pooledRandomBytes(64);
    const seen = new Set<string>();
    // 16-byte answers from a 64-byte pool: a refill every four; 2,000 answers are 500 refills.
    for (let i = 0; i < 2000; i++) {
      const hex = random(16).toString('hex');
      assert.ok(!seen.has(hex), `answer ${i} repeated an earlier one`);
      seen.add(hex);
    }
  });

  it('gives each answer a buffer of its own, unchanged by later draws and refills', () => {
    const random = pooledRandomBytes(32);
    const first = random(24);
    const copy = Buffer.from(first);
    for (let i = 0; i < 50; i++) random(24);
    assert.deepEqual(first, copy);
    // Changing an answer changes nothing the source hands out later.
    first.fill(0);
    assert.notDeepEqual(random(24), Buffer.alloc(24));
  });

  it('answers exactly the size asked for, including sizes that do not fit what is left, or the pool at all', () => {
    const random = pooledRandomBytes(32);
    for (const size of [1, 31, 32, 5, 33, 1000, 0, 16]) assert.equal(random(size).length, size);
  });

  it('draws bytes spread over all values, not a fill or a counter', () => {
    const random = pooledRandomBytes();
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256; i++) for (const byte of random(100)) counts[byte]!++;
    // 25,600 bytes: about 100 of each value; every value appears, none more than three times as often.
    assert.ok(counts.every((n) => n > 0 && n < 300), `counts out of range: min ${Math.min(...counts)}, max ${Math.max(...counts)}`);
  });
});

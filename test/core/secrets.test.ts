// Defends the randomness and keyed hashing every secret relies on: one-time tokens uniform over all
// 10^length values (no digit favoured, none unreachable), keys that differ per purpose so one leaked
// derived key opens nothing else, and hashes bound to their record.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { constantTimeEqual, deriveKey, digest, generateId, generateNumericToken, generateRequestId, keyedHash, type RandomBytes } from '../../src/core/secrets.js';

/** A random source that hands out `bytes` in order, as many as asked each time, and counts the calls. */
function scripted(bytes: number[]): RandomBytes & { calls: number } {
  let next = 0;
  const source = Object.assign(
    (size: number) => {
      source.calls++;
      const out = Buffer.alloc(size);
      for (let i = 0; i < size; i++) out[i] = bytes[next++ % bytes.length]!;
      return out;
    },
    { calls: 0 },
  );
  return source;
}

describe('numeric tokens', () => {
  it('draws each digit from one byte modulo 10', () => {
    assert.equal(generateNumericToken(10, scripted([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])), '0123456789');
    assert.equal(generateNumericToken(10, scripted([240, 241, 242, 243, 244, 245, 246, 247, 248, 249])), '0123456789');
  });

  it('rejects bytes 250 to 255, which would make digits 0 to 5 more likely, and draws again', () => {
    assert.equal(generateNumericToken(6, scripted([250, 251, 252, 253, 254, 255, 17, 249, 250, 3, 99, 255, 128, 5])), '793985');
    // A source that only gives rejected bytes at first is asked again until the token is complete.
    const source = scripted([...Array(12).fill(255), 1, 2, 3, 4, 5, 6]);
    assert.equal(generateNumericToken(6, source), '123456');
    assert.equal(source.calls, 2);
  });

  it('has exactly the length asked for, however many bytes the source gives', () => {
    for (const length of [1, 6, 8, 32]) {
      assert.equal(generateNumericToken(length, scripted([7, 250, 8])).length, length);
    }
    assert.match(generateNumericToken(6, (size) => Buffer.alloc(size, 3)), /^333333$/);
  });

  it('reaches every digit in every position with real randomness', async () => {
    const { randomBytes } = await import('node:crypto');
    const seen = Array.from({ length: 6 }, () => new Set<string>());
    for (let i = 0; i < 400; i++) [...generateNumericToken(6, randomBytes)].forEach((digit, position) => seen[position]!.add(digit));
    for (const digits of seen) assert.equal(digits.size, 10);
  });

  it('refuses a length outside 1 to 32 or not a whole number', () => {
    const source = scripted([1]);
    for (const length of [0, -1, 33, 1.5, Number.NaN]) assert.throws(() => generateNumericToken(length, source), RangeError);
    assert.equal(source.calls, 0);
  });
});

describe('identifiers', () => {
  it('are 16 random bytes as 32 hex characters', () => {
    assert.equal(generateId(scripted([0xab, 0x01])), 'ab01'.repeat(8));
  });
});

describe('request ids', () => {
  const at = Date.UTC(2026, 10, 30, 12, 0, 0, 123);

  it('are 32 lowercase hex characters laid out as a UUID version 7: the time in ms, the version, the variant, 74 random bits', () => {
    const id = generateRequestId(scripted([0xff]), at);
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(parseInt(id.slice(0, 12), 16), at);
    assert.equal(id[12], '7');
    assert.equal(id[16], 'b'); // variant 10 followed by the random bits, all ones here
    assert.equal(generateRequestId(scripted([0x00]), at).slice(12), '7000' + '8' + '0'.repeat(15));
    assert.equal(id.slice(12), '7fff' + 'b' + 'f'.repeat(15));
  });

  it('take every random bit they keep from the source, so two ids of one millisecond differ', () => {
    const random = scripted([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x0f, 0xed]);
    assert.equal(generateRequestId(random, at).slice(12), '7234' + '9678' + '9abcdef00fed');
    assert.equal(random.calls, 1);
  });

  it('sort in the order they were made, whatever their random bits', () => {
    const earlier = generateRequestId(scripted([0xff]), at);
    const later = generateRequestId(scripted([0x00]), at + 1);
    assert.ok(earlier < later);
  });
});

describe('key derivation', () => {
  const master = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

  // Expected values computed independently (RFC 5869 HKDF-SHA256, empty salt, info "mfa-controller/<purpose>").
  it('matches known answers, so keys survive a rewrite and existing data stays readable', () => {
    assert.equal(deriveKey(master, 'seal').toString('hex'), '3b4d7f8b2bddbb958f061e48f8de6db5096a7729357ac99625774b76dc3dfbfd');
    assert.equal(deriveKey(master, 'token-hmac').toString('hex'), '4f41125ffe86412889c9d8ae8a9209fe16e3e2151905641c0b09728c01ad353b');
    assert.equal(deriveKey(master, 'duo-replay').toString('hex'), '37ef47fcd669f3831989eaad8d97fc75196c23861960f764076025ad735bb26b');
  });

  it('gives a different 32-byte key for every purpose and every master secret', () => {
    const purposes = ['seal', 'token-hmac', 'duo-replay'];
    const keys = purposes.map((purpose) => deriveKey(master, purpose).toString('hex'));
    assert.equal(new Set(keys).size, purposes.length);
    for (const key of keys) assert.equal(key.length, 64);
    assert.notEqual(deriveKey(Buffer.alloc(32, 1), 'seal').toString('hex'), keys[0]);
  });
});

describe('keyed hashes', () => {
  const key = Buffer.alloc(32, 'k');

  it('are HMAC-SHA256 over the context, a NUL separator and the secret, in base64url', () => {
    assert.equal(keyedHash(key, 'verification-1', '123456'), 'tB1f0fyvEo5FfEs-OnDdtr4eAgFqxg17YsMeTPA8eCo');
  });

  it('bind the secret to its record: moving the boundary between context and secret changes the hash', () => {
    assert.notEqual(keyedHash(key, 'ab', 'c'), keyedHash(key, 'a', 'bc'));
    assert.notEqual(keyedHash(key, 'verification-1', '123456'), keyedHash(key, 'verification-2', '123456'));
    assert.notEqual(keyedHash(key, 'v', '123456'), keyedHash(Buffer.alloc(32, 'j'), 'v', '123456'));
    assert.equal(keyedHash(key, 'v', 's'), createHmac('sha256', key).update('v\0s').digest('base64url'));
  });

  it('digest is SHA-256 in base64url', () => {
    assert.equal(digest('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});

describe('constant-time comparison', () => {
  it('is true only for identical strings', () => {
    assert.equal(constantTimeEqual('s3cret', 's3cret'), true);
    assert.equal(constantTimeEqual('s3cret', 's3creT'), false);
    assert.equal(constantTimeEqual('s3cre', 's3cret'), false, 'a prefix');
    assert.equal(constantTimeEqual('s3crets', 's3cret'), false, 'longer');
    assert.equal(constantTimeEqual('', ''), true);
  });
});

// Randomness, keyed hashing and comparison of secrets. Pure computation: the random source is passed in.
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export type RandomBytes = (size: number) => Buffer;

/**
 * A numeric one-time token of `length` digits, uniform over all values: bytes at or above the largest
 * multiple of 10 that fits in a byte are drawn again, so no digit is more likely than another.
 */
export function generateNumericToken(length: number, randomBytes: RandomBytes): string {
  if (!Number.isInteger(length) || length < 1 || length > 32) throw new RangeError(`token length ${length} out of range`);
  let digits = '';
  while (digits.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 250 && digits.length < length) digits += String(byte % 10);
    }
  }
  return digits;
}

/** A 128-bit identifier as 32 hex characters, the shape the spec's request ids have. */
export function generateId(randomBytes: RandomBytes): string {
  return randomBytes(16).toString('hex');
}

/**
 * A verification's request id: the same 32 hex characters, laid out as a UUID version 7 (RFC 9562), the
 * creation time in milliseconds first and 74 random bits after. A new verification then lands at the end
 * of the table's index instead of on a random page of it: a random id made each check dirty a page of its
 * own, and SQLite writes every dirty page to its log at commit. 74 bits still cannot be guessed, and
 * nobody learns more from the time than the caller who was answered it then.
 */
export function generateRequestId(randomBytes: RandomBytes, nowMs: number): string {
  const id = Buffer.alloc(16);
  id.writeUIntBE(nowMs, 0, 6);
  randomBytes(10).copy(id, 6);
  id[6] = 0x70 | (id[6]! & 0x0f); // version 7
  id[8] = 0x80 | (id[8]! & 0x3f); // the RFC's variant
  return id.toString('hex');
}

/** Keyed hash of a secret, bound to the record it belongs to so a hash cannot be moved to another. */
export function keyedHash(key: Buffer, context: string, secret: string): string {
  return createHmac('sha256', key).update(context).update('\0').update(secret).digest('base64url');
}

/** SHA-256 of a high-entropy secret (client secrets are 256 random bits, so no slow KDF is needed). */
export function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** The one comparison for secrets and their hashes: time depends only on the expected value's length. */
export function constantTimeEqual(actual: string, expected: string): boolean {
  const a = Buffer.from(actual);
  const b = Buffer.from(expected);
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Derives a purpose-specific 32-byte key from the master secret. */
export function deriveKey(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `mfa-controller/${purpose}`, 32));
}

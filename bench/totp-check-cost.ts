// What a TOTP check computes that a token check does not, timed in a loop: opening the sealed
// registration (AES-256-GCM, then its JSON and base32) and the window's codes (an HMAC a step). With the
// token check's one keyed hash beside it, for scale. No I/O: the figures are the floor of goal 5's gap.
// Usage: node --import tsx bench/totp-check-cost.ts [iterations]
import { randomBytes } from 'node:crypto';
import { Sealer } from '../src/auth/seal.js';
import { keyedHash } from '../src/core/secrets.js';
import { matchCode, secretFromBase32, secretToBase32, type TotpParameters } from '../src/methods/totp/core.js';

const iterations = Number(process.argv[2] ?? 200_000);
const parameters: TotpParameters = { algorithm: 'SHA1', digits: 6, periodSeconds: 30 };
const sealer = new Sealer(randomBytes(32));
const sealed = sealer.seal(JSON.stringify({ secret: secretToBase32(randomBytes(20)), ...parameters }));
const secret = secretFromBase32((JSON.parse(sealer.unseal(sealed)) as { secret: string }).secret);
const key = randomBytes(32);

function time(label: string, work: () => unknown): void {
  for (let i = 0; i < iterations / 10; i++) work();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) work();
  console.log(`${label.padEnd(44)} ${(((performance.now() - start) * 1000) / iterations).toFixed(2)} µs`);
}

time('unseal', () => sealer.unseal(sealed));
time('unseal, JSON and base32 (open)', () => secretFromBase32((JSON.parse(sealer.unseal(sealed)) as { secret: string }).secret));
time('codes of a window of 3 steps, compared', () => matchCode({ secret, parameters, code: '123456', nowMs: Date.now(), windowSteps: 1, lastAcceptedStep: null }));
time("token check's keyed hash of the guess", () => keyedHash(key, 'request-id', '123456'));

// The pure rules of authenticator apps: RFC 6238's own test values (Appendix B, SHA-1/256/512, with the
// per-algorithm seeds of errata 2866), the window of steps, the "at most once" rule for accepted steps,
// and the otpauth:// URI an app reads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HOTP, Secret, TOTP, URI } from 'otpauth';
import { codeAt, matchCode, otpauthUri, secretFromBase32, secretToBase32, timeStep, type TotpAlgorithm, type TotpParameters } from '../../src/methods/totp/core.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/rfc6238_totp_vectors.json', import.meta.url), 'utf8')) as {
  rfc6238_totp: {
    stepSeconds: number;
    digits: 8;
    seeds: Record<TotpAlgorithm, { hex: string; base32: string; lengthBytes: number }>;
    vectors: Array<{ unixTime: number; T_hex: string; mode: TotpAlgorithm; totp: string }>;
  };
};
const rfc = fixture.rfc6238_totp;

describe('RFC 6238 Appendix B', () => {
  assert.equal(rfc.vectors.length, 18, 'six times, three algorithms');
  for (const vector of rfc.vectors) {
    it(`${vector.mode} at ${vector.unixTime}: T = ${vector.T_hex}, code ${vector.totp}`, () => {
      const seed = rfc.seeds[vector.mode];
      const secret = Buffer.from(seed.hex, 'hex');
      assert.equal(secret.length, seed.lengthBytes);
      const parameters: TotpParameters = { algorithm: vector.mode, digits: rfc.digits, periodSeconds: rfc.stepSeconds };
      const step = timeStep(vector.unixTime * 1000, rfc.stepSeconds);
      assert.equal(step, Number.parseInt(vector.T_hex, 16));
      assert.equal(codeAt(secret, parameters, step), vector.totp);
      // The same code is accepted by the window check at that time, from the base32 form too.
      const match = matchCode({ secret: secretFromBase32(seed.base32), parameters, code: vector.totp, nowMs: vector.unixTime * 1000, windowSteps: 0, lastAcceptedStep: null });
      assert.deepEqual(match, { kind: 'accepted', step });
    });
  }

  it('the 20-byte seed does not reproduce the SHA-256 and SHA-512 rows (errata 2866): the seeds really differ', () => {
    const short = Buffer.from(rfc.seeds.SHA1.hex, 'hex');
    for (const vector of rfc.vectors.filter((v) => v.mode !== 'SHA1')) {
      const parameters: TotpParameters = { algorithm: vector.mode, digits: 8, periodSeconds: 30 };
      assert.notEqual(codeAt(short, parameters, timeStep(vector.unixTime * 1000, 30)), vector.totp);
    }
  });
});

describe('the code of a step', () => {
  it('is what an app computes (otpauth as the reference) for every algorithm, both lengths, and steps past 2^32', () => {
    const secret = Buffer.from('a 20-byte test seed!', 'utf8');
    for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
      for (const digits of [6, 8] as const) {
        for (const step of [0, 1, 56_666_666, 0xffff_ffff, 0x1_0000_0000, 0x1_2345_6789]) {
          const expected = HOTP.generate({ secret: Secret.fromHex(secret.toString('hex')), algorithm, digits, counter: step });
          assert.equal(codeAt(secret, { algorithm, digits, periodSeconds: 30 }, step), expected, `${algorithm}, ${digits} digits, step ${step}`);
        }
      }
    }
  });
});

describe('matching a code', () => {
  const secret = Buffer.from('0123456789abcdef0123', 'utf8');
  const parameters: TotpParameters = { algorithm: 'SHA1', digits: 6, periodSeconds: 30 };
  const now = 1_700_000_015_000;
  const current = timeStep(now, 30);
  const at = (step: number) => codeAt(secret, parameters, step);
  const match = (code: string, windowSteps = 1, lastAcceptedStep: number | null = null) => matchCode({ secret, parameters, code, nowMs: now, windowSteps, lastAcceptedStep });

  it('six digits, the code an app computes at that time', () => {
    assert.match(at(current), /^[0-9]{6}$/);
    assert.equal(at(current), TOTP.generate({ secret: Secret.fromHex(secret.toString('hex')), timestamp: now }));
  });

  it('accepts the current step and one step either side, and nothing further', () => {
    assert.deepEqual(match(at(current)), { kind: 'accepted', step: current });
    assert.deepEqual(match(at(current - 1)), { kind: 'accepted', step: current - 1 });
    assert.deepEqual(match(at(current + 1)), { kind: 'accepted', step: current + 1 });
    assert.deepEqual(match(at(current - 2)), { kind: 'wrong' }, 'two steps ago');
    assert.deepEqual(match(at(current + 2)), { kind: 'wrong' });
  });

  it('a wider window reaches further; window 0 only the current step', () => {
    assert.deepEqual(match(at(current - 2), 2), { kind: 'accepted', step: current - 2 });
    assert.deepEqual(match(at(current - 1), 0), { kind: 'wrong' });
    assert.deepEqual(match(at(current), 0), { kind: 'accepted', step: current });
  });

  it('a code of the last accepted step, or of an earlier one, is used; a later one is accepted', () => {
    assert.deepEqual(match(at(current), 1, current), { kind: 'used' });
    assert.deepEqual(match(at(current - 1), 1, current), { kind: 'used' });
    assert.deepEqual(match(at(current + 1), 1, current), { kind: 'accepted', step: current + 1 });
    assert.deepEqual(match(at(current), 1, current - 1), { kind: 'accepted', step: current });
  });

  it('a wrong code, one of another length, or an empty one never matches', () => {
    const right = at(current);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    assert.deepEqual(match(wrong), { kind: 'wrong' });
    assert.deepEqual(match(`${right}0`), { kind: 'wrong' });
    assert.deepEqual(match(right.slice(1)), { kind: 'wrong' });
    assert.deepEqual(match(''), { kind: 'wrong' });
  });

  it('eight digits and SHA-512 when configured', () => {
    const eight: TotpParameters = { algorithm: 'SHA512', digits: 8, periodSeconds: 60 };
    const code = codeAt(secret, eight, timeStep(now, 60));
    assert.match(code, /^[0-9]{8}$/);
    assert.deepEqual(matchCode({ secret, parameters: eight, code, nowMs: now, windowSteps: 1, lastAcceptedStep: null }), { kind: 'accepted', step: timeStep(now, 60) });
    assert.deepEqual(matchCode({ secret, parameters: eight, code: code.slice(2), nowMs: now, windowSteps: 1, lastAcceptedStep: null }), { kind: 'wrong' });
  });

  it('steps before the epoch are never tried', () => {
    const early = matchCode({ secret, parameters, code: codeAt(secret, parameters, 0), nowMs: 1000, windowSteps: 1, lastAcceptedStep: null });
    assert.deepEqual(early, { kind: 'accepted', step: 0 });
  });
});

describe('the otpauth:// URI', () => {
  const secret = Buffer.from('a8f3c1d2e4b5a6978812a8f3c1d2e4b5a6978812', 'hex');
  const parameters: TotpParameters = { algorithm: 'SHA256', digits: 8, periodSeconds: 60 };

  it('names the issuer and the account, and carries the secret and the parameters an app needs', () => {
    const uri = otpauthUri('Example Corp', 'will.albin', secret, parameters);
    assert.ok(uri.startsWith('otpauth://totp/Example%20Corp:will.albin?'), uri);
    const parsed = URI.parse(uri) as TOTP;
    assert.equal(parsed.issuer, 'Example Corp');
    assert.equal(parsed.label, 'will.albin');
    assert.equal(parsed.secret.base32, secretToBase32(secret));
    assert.deepEqual([parsed.algorithm, parsed.digits, parsed.period], ['SHA256', 8, 60]);
  });

  it('escapes what would break the URI in the issuer or the account', () => {
    const parsed = URI.parse(otpauthUri('A&B Co', 'x:y?z=1', secret, parameters)) as TOTP;
    assert.equal(parsed.issuer, 'A&B Co');
    assert.equal(parsed.label, 'x:y?z=1');
  });

  it('base32 round-trips the 20 secret bytes', () => {
    const text = secretToBase32(secret);
    assert.match(text, /^[A-Z2-7]{32}$/);
    assert.deepEqual(Buffer.from(secretFromBase32(text)), secret);
  });
});

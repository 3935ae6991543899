// The pure rules of authenticator apps (RFC 6238): which time step a code belongs to, within the window
// and after the last accepted step, and the otpauth:// URI an app reads. No I/O; time and secrets come in
// as values. The code of a step is RFC 4226's HMAC and dynamic truncation over node:crypto (a check
// computes one per step of the window); base32 and the URI are otpauth's.
import { createHmac } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { constantTimeEqual } from '../../core/secrets.js';

export const TOTP_ALGORITHMS = ['SHA1', 'SHA256', 'SHA512'] as const;
export type TotpAlgorithm = (typeof TOTP_ALGORITHMS)[number];

export const TOTP_DIGITS = [6, 8] as const;
export type TotpDigits = (typeof TOTP_DIGITS)[number];

/** 160 bits, RFC 4226's recommended length and what every authenticator app accepts. */
export const SECRET_BYTES = 20;

/** What an app needs besides the secret; kept with each registration, so a later change of settings leaves it working. */
export interface TotpParameters {
  readonly algorithm: TotpAlgorithm;
  readonly digits: TotpDigits;
  readonly periodSeconds: number;
}

/** The time step (RFC 6238's T) that `nowMs` falls in, counted from the epoch (T0 = 0). */
export function timeStep(nowMs: number, periodSeconds: number): number {
  return Math.floor(nowMs / 1000 / periodSeconds);
}

/** node:crypto's names of the algorithms. */
const HMAC_NAMES: Record<TotpAlgorithm, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

/**
 * The code of one time step (RFC 4226 section 5.3, the step as the counter): the HMAC of the step as 8
 * bytes big-endian; 31 bits read at the offset its last nibble names; their last `digits` decimal digits.
 */
export function codeAt(secret: Uint8Array, parameters: TotpParameters, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeUInt32BE(Math.floor(step / 0x1_0000_0000), 0);
  counter.writeUInt32BE(step >>> 0, 4);
  const mac = createHmac(HMAC_NAMES[parameters.algorithm], secret).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const truncated = mac.readUInt32BE(offset) & 0x7fff_ffff;
  return String(truncated % 10 ** parameters.digits).padStart(parameters.digits, '0');
}

export interface CodeCheck {
  readonly secret: Uint8Array;
  readonly parameters: TotpParameters;
  readonly code: string;
  readonly nowMs: number;
  /** Steps accepted on either side of the current one (clock drift, a code typed as it changed). */
  readonly windowSteps: number;
  /** The last step a code was accepted at; codes of this step or earlier are refused. Null when none yet. */
  readonly lastAcceptedStep: number | null;
}

/**
 * accepted: the code is that of `step`, later than any accepted before (store `step` as the new last).
 * used: the code is right for a step in the window but at or before the last accepted one (a replay).
 * wrong: no step in the window has this code.
 */
export type CodeMatch = { readonly kind: 'accepted'; readonly step: number } | { readonly kind: 'used' } | { readonly kind: 'wrong' };

/**
 * Which step in the window a code is for. Every step of the window is computed and compared, in constant
 * time, whether or not an earlier one matched. When several match (a collision, about one in a million
 * per pair of steps), the latest not yet used wins, which leaves fewer steps open to a replay.
 */
export function matchCode(check: CodeCheck): CodeMatch {
  const current = timeStep(check.nowMs, check.parameters.periodSeconds);
  let accepted: number | undefined;
  let used = false;
  for (let step = current - check.windowSteps; step <= current + check.windowSteps; step++) {
    if (step < 0) continue;
    if (!constantTimeEqual(check.code, codeAt(check.secret, check.parameters, step))) continue;
    if (check.lastAcceptedStep !== null && step <= check.lastAcceptedStep) used = true;
    else accepted = step;
  }
  if (accepted !== undefined) return { kind: 'accepted', step: accepted };
  return used ? { kind: 'used' } : { kind: 'wrong' };
}

/** A new secret from `bytes` (SECRET_BYTES of them from a CSPRNG), as the base32 text apps take. */
export function secretToBase32(bytes: Uint8Array): string {
  return toSecret(bytes).base32;
}

export function secretFromBase32(text: string): Uint8Array {
  return Secret.fromBase32(text).bytes;
}

/**
 * The Key URI an app scans: otpauth://totp/Issuer:account?secret=...&issuer=Issuer&algorithm=...&digits=...&period=...
 * (the Google Authenticator key URI format, which every app reads).
 */
export function otpauthUri(issuer: string, accountName: string, secret: Uint8Array, parameters: TotpParameters): string {
  return new TOTP({
    issuer,
    label: accountName,
    secret: toSecret(secret),
    algorithm: parameters.algorithm,
    digits: parameters.digits,
    period: parameters.periodSeconds,
  }).toString();
}

/** otpauth's Secret over a copy of the bytes (a Buffer may be a view of a larger shared pool). */
function toSecret(bytes: Uint8Array): Secret {
  return new Secret({ buffer: Uint8Array.from(bytes).buffer });
}

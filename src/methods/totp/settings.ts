// The MFA_TOTP_* settings (docs/configuration.md, "Authenticator apps"), read through src/config.ts's reader.
import { TOTP_ALGORITHMS, type TotpAlgorithm, type TotpDigits, type TotpParameters } from './core.js';

export interface TotpSettings {
  /** Shown by the app above the code, and the prefix of the account name in the otpauth:// URI. */
  readonly issuer: string;
  /** For new registrations; each registration keeps the parameters it was made with. */
  readonly parameters: TotpParameters;
  readonly windowSteps: number;
  /** Wrong codes per identity within the window before a lockout. */
  readonly maxFailures: number;
  readonly failureWindowSeconds: number;
  readonly lockoutSeconds: number;
  /** How long an enrolment waits for its confirming code. */
  readonly enrolmentTtlSeconds: number;
}

/** The part of config.ts's reader these settings use (each records the name and any problem). */
export interface SettingsReader {
  string(name: string, fallback: string): string;
  int(name: string, fallback: number, min: number, max: number): number;
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T;
  problem(name: string, message: string): void;
}

export const MAX_ISSUER_LENGTH = 64;

export function readTotpSettings(r: SettingsReader): TotpSettings {
  const issuer = r.string('MFA_TOTP_ISSUER', 'mfa-controller').trim();
  if (issuer.length === 0 || issuer.length > MAX_ISSUER_LENGTH) r.problem('MFA_TOTP_ISSUER', `must be 1 to ${MAX_ISSUER_LENGTH} characters`);
  const algorithm: TotpAlgorithm = r.oneOf('MFA_TOTP_ALGORITHM', TOTP_ALGORITHMS, 'SHA1');
  const digits = Number(r.oneOf('MFA_TOTP_DIGITS', ['6', '8'], '6')) as TotpDigits;
  return {
    issuer,
    parameters: { algorithm, digits, periodSeconds: r.int('MFA_TOTP_PERIOD_SECONDS', 30, 15, 120) },
    windowSteps: r.int('MFA_TOTP_WINDOW_STEPS', 1, 0, 5),
    maxFailures: r.int('MFA_TOTP_MAX_FAILURES', 5, 1, 1_000_000_000),
    failureWindowSeconds: r.int('MFA_TOTP_FAILURE_WINDOW_SECONDS', 900, 1, 30 * 24 * 3600),
    lockoutSeconds: r.int('MFA_TOTP_LOCKOUT_SECONDS', 900, 1, 30 * 24 * 3600),
    enrolmentTtlSeconds: r.int('MFA_TOTP_ENROLMENT_TTL_SECONDS', 600, 60, 3600),
  };
}

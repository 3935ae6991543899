// Duo Web v2 (the iframe prompt's signed sig_request / sig_response), as Duo's own libraries
// (duo_python, duo_nodejs, duo_java, duo_php) compute it. Pure: the current time is passed in, in seconds.
//
// A request is `TX|b64|sig:APP|b64|sig`, a response `AUTH|b64|sig:APP|b64|sig`, where b64 is the base64 of
// `user|ikey|exp` and sig the lowercase hex HMAC-SHA1 of `PREFIX|b64`: TX and AUTH keyed with the Duo
// secret key (skey), APP with the application's own key (akey). Duo signs AUTH; APP is ours, echoed back.
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './secrets.js';

export const DUO_PREFIX = 'TX';
export const APP_PREFIX = 'APP';
export const AUTH_PREFIX = 'AUTH';
export const ENROLL_PREFIX = 'ENROLL';

export const DUO_EXPIRE_SECONDS = 300;
export const APP_EXPIRE_SECONDS = 3600;

export const IKEY_LENGTH = 20;
export const SKEY_LENGTH = 40;
export const AKEY_MIN_LENGTH = 40;

/** The error strings sign_request returns, as duo_python and duo_java word them. */
export const SIGN_ERRORS = {
  ERR_USER: 'ERR|The username passed to sign_request() is invalid.',
  ERR_IKEY: 'ERR|The Duo integration key passed to sign_request() is invalid.',
  ERR_SKEY: 'ERR|The Duo secret key passed to sign_request() is invalid.',
  ERR_AKEY: 'ERR|The application secret key passed to sign_request() must be at least 40 characters.',
} as const;

export type SignError = (typeof SIGN_ERRORS)[keyof typeof SIGN_ERRORS];

const hmacSha1Hex = (key: string, message: string): string => createHmac('sha1', key).update(message).digest('hex');

/** `PREFIX|base64(user|ikey|exp)|hex(HMAC-SHA1(key, PREFIX|base64(...)))`. */
export function signVals(key: string, user: string, ikey: string, prefix: string, expireSeconds: number, nowSeconds: number): string {
  const exp = nowSeconds + expireSeconds;
  const cookie = `${prefix}|${Buffer.from(`${user}|${ikey}|${exp}`, 'utf8').toString('base64')}`;
  return `${cookie}|${hmacSha1Hex(key, cookie)}`;
}

/**
 * The sig_request for Duo's prompt, or one of SIGN_ERRORS (returned, as Duo's libraries do, not thrown).
 * Checked in Duo's order: user, ikey, skey, akey.
 */
export function signRequest(ikey: string, skey: string, akey: string, user: string, nowSeconds: number): string {
  if (!user || user.includes('|')) return SIGN_ERRORS.ERR_USER;
  if (ikey.length !== IKEY_LENGTH) return SIGN_ERRORS.ERR_IKEY;
  if (skey.length !== SKEY_LENGTH) return SIGN_ERRORS.ERR_SKEY;
  if (akey.length < AKEY_MIN_LENGTH) return SIGN_ERRORS.ERR_AKEY;
  const duoSig = signVals(skey, user, ikey, DUO_PREFIX, DUO_EXPIRE_SECONDS, nowSeconds);
  const appSig = signVals(akey, user, ikey, APP_PREFIX, APP_EXPIRE_SECONDS, nowSeconds);
  return `${duoSig}:${appSig}`;
}

/** True when signRequest answered one of its error strings rather than a request. */
export const isSignError = (value: string): value is SignError => value.startsWith('ERR|');

/** What one verified part says: the user and when the part stops being valid. */
export interface ParsedPart {
  readonly user: string;
  readonly expiresAtSeconds: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Duo's parse_vals: the user of one `PREFIX|b64|sig` part, or null. The signature is checked first, in
 * constant time, on exact lowercase hex (an upper-cased signature does not match); then the prefix, the
 * three fields of the cookie, the ikey and the expiry (rejected from the second `now >= exp`).
 */
export function parseVals(key: string, value: string, prefix: string, ikey: string, nowSeconds: number): ParsedPart | null {
  const parts = value.split('|');
  if (parts.length !== 3) return null;
  const [uPrefix, uB64, uSig] = parts as [string, string, string];
  const expected = hmacSha1Hex(key, `${uPrefix}|${uB64}`);
  if (!constantTimeEqual(uSig, expected)) return null;
  if (uPrefix !== prefix) return null;
  let cookie: string;
  try {
    cookie = utf8.decode(Buffer.from(uB64, 'base64'));
  } catch {
    return null;
  }
  const fields = cookie.split('|');
  if (fields.length !== 3) return null;
  const [user, uIkey, exp] = fields as [string, string, string];
  if (uIkey !== ikey) return null;
  // Duo's Python library raises on a non-integer expiry and Node's parseInt would let NaN through:
  // only digits are an expiry here.
  if (!/^\d{1,15}$/.test(exp)) return null;
  const expiresAtSeconds = Number(exp);
  if (nowSeconds >= expiresAtSeconds) return null;
  // sign_request never signs an empty user; a part naming nobody verifies nobody.
  if (user === '') return null;
  return { user, expiresAtSeconds };
}

/** A verified response: who Duo vouched for, and until when the response itself stays valid. */
export interface VerifiedResponse {
  readonly user: string;
  /** The earlier of the two parts' expiries: after it the same response no longer verifies. */
  readonly expiresAtSeconds: number;
}

function verifyWith(prefix: string, ikey: string, skey: string, akey: string, sigResponse: string, nowSeconds: number): VerifiedResponse | null {
  const halves = sigResponse.split(':');
  if (halves.length !== 2) return null;
  const [authSig, appSig] = halves as [string, string];
  const auth = parseVals(skey, authSig, prefix, ikey, nowSeconds);
  const app = parseVals(akey, appSig, APP_PREFIX, ikey, nowSeconds);
  // Nothing but the user binds Duo's part to ours: both must name the same one.
  if (!auth || !app || auth.user !== app.user) return null;
  return { user: auth.user, expiresAtSeconds: Math.min(auth.expiresAtSeconds, app.expiresAtSeconds) };
}

/** Duo's verify_response, with the expiry of the response: the verified user and expiry, or null. */
export function verifyResponseDetailed(ikey: string, skey: string, akey: string, sigResponse: string, nowSeconds: number): VerifiedResponse | null {
  return verifyWith(AUTH_PREFIX, ikey, skey, akey, sigResponse, nowSeconds);
}

/** Duo's verify_response: the username Duo authenticated, or null. */
export function verifyResponse(ikey: string, skey: string, akey: string, sigResponse: string, nowSeconds: number): string | null {
  return verifyResponseDetailed(ikey, skey, akey, sigResponse, nowSeconds)?.user ?? null;
}

/** duo_python's verify_enroll_response: the same check with Duo's part prefixed ENROLL. */
export function verifyEnrollResponse(ikey: string, skey: string, akey: string, sigResponse: string, nowSeconds: number): string | null {
  return verifyWith(ENROLL_PREFIX, ikey, skey, akey, sigResponse, nowSeconds)?.user ?? null;
}

// Decisions of the passkey (WebAuthn) method, as pure functions over values: who the relying party is,
// where a hosted verification may return to, whether a signature counter is believable, and what a
// passkey is called. The ceremonies themselves (CBOR, signatures, attestation) are @simplewebauthn/server's.
import { isIP } from 'node:net';

/** What an operator configures (src/config.ts reads it from MFA_PASSKEY_*; docs/passkeys.md). */
export interface PasskeySettings {
  /** The WebAuthn relying party id: a domain name, never an IP address. */
  readonly rpId: string;
  /** The name authenticators show beside the account. */
  readonly rpName: string;
  /** Where the service's own pages are (the public URL, with a loopback IP written `localhost`), no trailing slash. */
  readonly pageBase: string;
  /** The origin of those pages: the only one a hosted ceremony may come from. */
  readonly pageOrigin: string;
  /** Every origin an API ceremony may come from: the pages' first, then applications' own front ends. */
  readonly origins: readonly string[];
  readonly userVerification: 'required' | 'preferred';
  /** How long a challenge, and a hosted verification URL, can be answered. */
  readonly ttlSeconds: number;
  /** Where hosted verifications may return to: absolute URLs, matched by origin and path prefix. */
  readonly returnUrls: readonly string[];
  readonly maxPerIdentity: number;
}

export interface SettingProblem {
  readonly variable: string;
  readonly message: string;
}

export interface RelyingPartyInput {
  readonly publicUrl: string;
  /** False when the public URL is the development default built from MFA_HOST and MFA_PORT. */
  readonly publicUrlSet: boolean;
  /** MFA_PASSKEY_RP_ID, when set. */
  readonly rpId: string | undefined;
  /** MFA_PASSKEY_ORIGINS: applications' own front ends. */
  readonly extraOrigins: readonly string[];
}

export interface RelyingParty {
  readonly rpId: string;
  readonly pageBase: string;
  readonly pageOrigin: string;
  readonly origins: readonly string[];
}

const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

function isLoopbackIp(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return isIP(bare) === 6 && (bare === '::1' || bare === '0:0:0:0:0:0:0:1');
}

const isIpHost = (host: string): boolean => isIP(host.replace(/^\[|\]$/g, '')) !== 0;

/** Whether a page on `host` may use `rpId`: the same host, or a subdomain of it. */
export function hostFitsRpId(host: string, rpId: string): boolean {
  return host === rpId || host.endsWith(`.${rpId}`);
}

/**
 * The relying party from the public URL. WebAuthn refuses IP addresses as relying party ids, so a
 * public URL on a loopback IP, or none at all (the development default, http://MFA_HOST:MFA_PORT), is
 * served to browsers as http://localhost:PORT, which browsers also treat as a secure context. A public
 * URL on any other IP address cannot carry passkeys: that is a warning, not a refusal, since the other
 * methods work without them.
 */
export function relyingParty(input: RelyingPartyInput): { party: RelyingParty; problems: SettingProblem[]; warnings: string[] } {
  const problems: SettingProblem[] = [];
  const warnings: string[] = [];
  let url: URL;
  try {
    url = new URL(input.publicUrl);
  } catch {
    // A public URL built from an unusual MFA_HOST (such as ::); the pages then claim localhost.
    warnings.push(`MFA_PUBLIC_URL (${input.publicUrl}) is not a URL: passkeys assume http://localhost; set MFA_PUBLIC_URL`);
    url = new URL('http://localhost');
  }
  if (!input.publicUrlSet || isLoopbackIp(url.hostname)) url.hostname = 'localhost';
  const pageHost = url.hostname.toLowerCase();
  const pageBase = url.toString().replace(/\/+$/, '');
  const pageOrigin = url.origin;
  if (isIpHost(pageHost)) {
    warnings.push(`MFA_PUBLIC_URL is on the IP address ${pageHost}: passkeys need a domain name (or localhost), so they cannot be used until it has one (docs/passkeys.md)`);
  } else if (url.protocol === 'http:' && pageHost !== 'localhost' && !pageHost.endsWith('.localhost')) {
    warnings.push('MFA_PUBLIC_URL is plain http: browsers offer passkeys only on https pages (and on http://localhost)');
  }
  const rpId = (input.rpId ?? pageHost).toLowerCase();
  if (input.rpId !== undefined && (!DOMAIN_NAME.test(rpId) || isIpHost(rpId))) {
    problems.push({ variable: 'MFA_PASSKEY_RP_ID', message: `must be a domain name, got "${input.rpId}"` });
  } else if (input.rpId !== undefined && !hostFitsRpId(pageHost, rpId)) {
    problems.push({ variable: 'MFA_PASSKEY_RP_ID', message: `must be the host of MFA_PUBLIC_URL (${pageHost}) or a domain it is under, got "${input.rpId}"` });
  }
  const origins = [pageOrigin];
  for (const text of input.extraOrigins) {
    let origin: URL;
    try {
      origin = new URL(text);
    } catch {
      problems.push({ variable: 'MFA_PASSKEY_ORIGINS', message: `"${text}" is not a URL` });
      continue;
    }
    if (!['http:', 'https:'].includes(origin.protocol) || origin.origin !== text.replace(/\/$/, '')) {
      problems.push({ variable: 'MFA_PASSKEY_ORIGINS', message: `"${text}" must be an origin: scheme, host and port only (https://app.example.com)` });
    } else if (!hostFitsRpId(origin.hostname, rpId)) {
      problems.push({ variable: 'MFA_PASSKEY_ORIGINS', message: `"${text}" is not on ${rpId} or a subdomain of it, so browsers would refuse its ceremonies` });
    } else if (!origins.includes(origin.origin)) {
      origins.push(origin.origin);
    }
  }
  return { party: { rpId, pageBase, pageOrigin, origins }, problems, warnings };
}

/** Checks MFA_PASSKEY_RETURN_URLS: absolute http(s) URLs without credentials or a fragment. */
export function returnUrlProblems(entries: readonly string[]): SettingProblem[] {
  const problems: SettingProblem[] = [];
  for (const entry of entries) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      problems.push({ variable: 'MFA_PASSKEY_RETURN_URLS', message: `"${entry}" is not a URL` });
      continue;
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.hash || entry.includes('#')) {
      problems.push({ variable: 'MFA_PASSKEY_RETURN_URLS', message: `"${entry}" must be an http or https URL without user name, password or fragment` });
    }
  }
  return problems;
}

/**
 * The return URL if the allow-list admits it, else undefined. An entry admits URLs of its exact origin
 * whose path is the entry's path or lies below it (segment by segment: `/back` admits `/back/x`, not
 * `/backdoor`); query strings are free. Credentials and fragments in the candidate are refused, so the
 * page never sends a person to a URL that reads as one host and goes to another.
 */
export function allowedReturnUrl(allowList: readonly string[], candidate: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return undefined;
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password || candidate.includes('#')) return undefined;
  for (const entry of allowList) {
    const allowed = new URL(entry);
    if (allowed.origin !== url.origin) continue;
    const base = allowed.pathname;
    const below = base.endsWith('/') ? url.pathname.startsWith(base) : url.pathname === base || url.pathname.startsWith(`${base}/`);
    if (below) return url;
  }
  return undefined;
}

/** The return URL with the request id added, for the application to poll. */
export function returnUrlWithRequestId(url: URL, requestId: string): string {
  const out = new URL(url);
  out.searchParams.set('requestId', requestId);
  return out.toString();
}

export type SignCountDecision = 'accept' | 'cloned';

/**
 * A signature counter must grow with each use (WebAuthn §6.1.1). Authenticators that keep no counter
 * (most synced passkeys) report 0 every time, which is accepted while the stored value is 0 too. Any
 * other value that is not above the stored one means two copies of the key are in use.
 */
export function decideSignCount(stored: number, presented: number): SignCountDecision {
  if (stored === 0 && presented === 0) return 'accept';
  return presented > stored ? 'accept' : 'cloned';
}

export const MAX_NAME_LENGTH = 64;

/**
 * A passkey's name as given (trimmed, spaces collapsed), or undefined when it is empty, too long, or holds
 * control characters or direction overrides (which make a name display as another).
 */
export function cleanName(name: string): string | undefined {
  const cleaned = name.normalize('NFC').replace(/\s+/g, ' ').trim();
  if (cleaned === '' || cleaned.length > MAX_NAME_LENGTH || /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(cleaned)) return undefined;
  return cleaned;
}

/** The name of a passkey registered without one: "Passkey 2" beside one already there. */
export function defaultName(existingNames: readonly string[]): string {
  for (let n = existingNames.length + 1; ; n++) {
    const name = `Passkey ${n}`;
    if (!existingNames.includes(name)) return name;
  }
}

// The fixed texts of the method's outcomes: what callers and the audit trail see, never library detail.
export const ERROR_NOT_ACCEPTED = 'The passkey was not accepted.';
export const ERROR_CLONED = "The passkey's signature counter went backwards: it may have been copied, so it was refused.";
export const ERROR_ANSWERED = 'This request has already been answered or has expired.';
export const ERROR_LINK_UNUSABLE = 'This verification link has expired or has already been used.';
export const ERROR_CHANGE_LOCKED = 'The identity is locked out; its passkeys cannot be changed until the lockout ends.';
export const ERROR_CHANGE_NEEDS_PROOF = 'Adding or removing a passkey needs a successful verification of this identity first (any method).';
export const ERROR_REGISTRATION_UNKNOWN = 'No registration with this request id is waiting: it was answered, has expired, or belongs to another identity.';
export const ERROR_ALREADY_REGISTERED = 'This passkey is already registered.';
export const ERROR_RETURN_URL = 'returnUrl is not on the allow-list of return addresses (MFA_PASSKEY_RETURN_URLS).';

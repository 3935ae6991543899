// A client of Duo's Auth API, only as far as the configuration test needs it: `GET /auth/v2/check`,
// which answers `stat: "OK"` when the integration key, secret key and host are right.
//
// Requests are signed as Duo documents it (and duo_client_python does it): HTTP Basic with the ikey as
// user and, as password, the lowercase hex HMAC-SHA1, keyed with the skey, of the canonical request
// `date\nMETHOD\nhost\npath\nparams`, sent with that same date in a `Date` header (RFC 2822).
import { createHmac } from 'node:crypto';
import type { Clock } from '../../core/ports.js';
import { safeProviderCode } from '../../core/provider-network.js';
import { ProviderError, type ProviderGateway } from '../gateway.js';
import { strictProviderFetch, type ProviderFetch } from '../http.js';

export interface DuoApiKeys {
  /** A bare host name (`api-xxxxxxxx.duosecurity.com`, https implied) or a full URL (tests, proxies). */
  readonly host: string;
  readonly ikey: string;
  readonly skey: string;
}

export type DuoCheckResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Where the API is: https://host for a host name, the URL as given when one is configured. */
export function duoBaseUrl(host: string): URL {
  return new URL(/^https?:\/\//i.test(host) ? host : `https://${host}`);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** RFC 2822 date in UTC, as Python's email.utils.formatdate writes it: `Tue, 21 Aug 2012 17:29:18 -0000`. */
export function rfc2822Date(epochMs: number): string {
  const d = new Date(epochMs);
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} -0000`;
}

/** RFC 3986 percent-encoding (only unreserved characters left as they are), as Duo canonicalises parameters. */
const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Parameters sorted by name, each `name=value` encoded, joined with `&`. */
export function canonicalParams(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .sort()
    .map((name) => `${encode(name)}=${encode(params[name]!)}`)
    .join('&');
}

/** The text Duo's signature covers. */
export function canonicalRequest(date: string, method: string, host: string, path: string, params: Readonly<Record<string, string>>): string {
  return [date, method.toUpperCase(), host.toLowerCase(), path, canonicalParams(params)].join('\n');
}

/** The `Authorization` and `Date` headers of a signed Auth API request. */
export function signedHeaders(
  keys: Pick<DuoApiKeys, 'ikey' | 'skey'>,
  method: string,
  host: string,
  path: string,
  params: Readonly<Record<string, string>>,
  epochMs: number,
): { authorization: string; date: string } {
  const date = rfc2822Date(epochMs);
  const signature = createHmac('sha1', keys.skey).update(canonicalRequest(date, method, host, path, params)).digest('hex');
  return { authorization: `Basic ${Buffer.from(`${keys.ikey}:${signature}`).toString('base64')}`, date };
}

interface DuoAnswer {
  readonly stat?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly message_detail?: unknown;
}

/** Duo's own words, for the log only. */
function duoDetail(answer: DuoAnswer | undefined, text: string): string {
  if (answer && typeof answer.message === 'string') {
    return `${answer.message}${typeof answer.message_detail === 'string' ? `: ${answer.message_detail}` : ''}`;
  }
  return text.slice(0, 200);
}

/** A refusal or failure told by class, status and Duo's numeric code; never Duo's text. */
function duoFailure(host: string, status: number, answer: DuoAnswer | undefined, text: string): ProviderError {
  const code = safeProviderCode(answer?.code);
  const codeText = code === undefined ? '' : `, code ${code}`;
  const details = { status, detail: duoDetail(answer, text), ...(code !== undefined ? { code } : {}) };
  if (status >= 500) return new ProviderError(`Duo at ${host} failed (HTTP ${status}${codeText})`, { ...details, retryable: true, outage: true });
  if (status === 429) return new ProviderError(`Duo at ${host} is rate limiting this service (HTTP 429${codeText})`, { ...details, retryable: true });
  if (status === 401 || status === 403) {
    return new ProviderError(`Duo at ${host} refused the credentials: check the integration key (ikey) and secret key (skey) (HTTP ${status}${codeText})`, details);
  }
  return new ProviderError(`Duo at ${host} refused the check (HTTP ${status}${codeText})`, details);
}

export class DuoAuthApi {
  constructor(
    private readonly gateway: ProviderGateway,
    private readonly clock: Clock,
    private readonly fetchImpl: ProviderFetch = strictProviderFetch(),
  ) {}

  /** `GET /auth/v2/check`: whether Duo accepts these keys at this host. Never throws. */
  async check(keys: DuoApiKeys): Promise<DuoCheckResult> {
    let base: URL;
    try {
      base = duoBaseUrl(keys.host);
    } catch {
      return { ok: false, reason: 'The Duo host is not a valid host name or URL.' };
    }
    const path = '/auth/v2/check';
    try {
      return await this.gateway.call(
        'check',
        async (signal) => {
          const headers = signedHeaders(keys, 'GET', base.host, path, {}, this.clock.now());
          const response = await this.fetchImpl(new URL(path, base), {
            method: 'GET',
            headers: { authorization: headers.authorization, date: headers.date, accept: 'application/json' },
            signal,
          });
          const text = await response.text();
          let answer: DuoAnswer | undefined;
          try {
            const parsed: unknown = JSON.parse(text);
            answer = typeof parsed === 'object' && parsed !== null ? (parsed as DuoAnswer) : undefined;
          } catch {
            answer = undefined;
          }
          if (answer?.stat === 'OK' && response.ok) return { ok: true } as const;
          if (!answer && response.ok) {
            throw new ProviderError(`Duo at ${base.host} answered HTTP ${response.status} without a JSON body`, { status: response.status, detail: text.slice(0, 200) });
          }
          throw duoFailure(base.host, response.status, answer, text);
        },
        true,
        { probe: true },
      );
    } catch (err) {
      return { ok: false, reason: err instanceof ProviderError ? err.message : `Duo could not be reached at ${base.host}` };
    }
  }
}

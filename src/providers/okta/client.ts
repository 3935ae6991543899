// A small typed client of Okta's Users and Factors API (okta-management.yaml: getUser, listUsers,
// listFactors, verifyFactor, getFactorTransactionStatus), on global fetch. Every call goes through the
// gateway: reads are retried on outages, the push (verifyFactor) is tried once because a second try
// would reach the person twice.
import { safeProviderCode } from '../../core/provider-network.js';
import type { ProviderGateway } from '../gateway.js';
import { ProviderError } from '../gateway.js';
import { strictProviderFetch, type ProviderFetch } from '../http.js';

/** The org's base URL: a bare host name becomes https://host; a full URL (tests use http://) is kept. */
export function oktaBaseUrl(host: string): string {
  const base = /^https?:\/\//i.test(host) ? host : `https://${host}`;
  return base.replace(/\/+$/, '');
}

export interface OktaUser {
  readonly id: string;
  readonly status?: string;
  readonly profile?: { readonly login?: string };
}

export interface OktaFactor {
  readonly id: string;
  readonly factorType: string;
  readonly provider: string;
  readonly status: string;
}

/** The enum of factorResult in UserFactorPushTransaction / UserFactorVerifyResponseWaiting. */
export type OktaFactorResult =
  | 'CANCELLED'
  | 'CHALLENGE'
  | 'ERROR'
  | 'FAILED'
  | 'PASSCODE_REPLAYED'
  | 'REJECTED'
  | 'SUCCESS'
  | 'TIMEOUT'
  | 'TIME_WINDOW_EXCEEDED'
  | 'WAITING';

export interface OktaPushTransaction {
  readonly factorResult: string;
  /** ISO time the push stops being answerable, when Okta gives it. */
  readonly expiresAt?: string;
  /** The last segment of `_links.poll.href`. */
  readonly transactionId?: string;
  /** With a number-matching challenge: the number the person must pick. */
  readonly correctAnswer?: number;
}

export interface VerifyPushOptions {
  /** The person's public IP address (from SailPoint's slpt-forwarding header). */
  readonly xForwardedFor: string;
  readonly userAgent: string;
  readonly useNumberMatchingChallenge: boolean;
}

/** Okta's error model (ModelError). */
interface OktaErrorBody {
  readonly errorCode?: string;
  readonly errorSummary?: string;
}

export class OktaClient {
  private readonly baseUrl: string;

  constructor(
    host: string,
    private readonly apiToken: string,
    private readonly gateway: ProviderGateway,
    private readonly now: () => number = Date.now,
    private readonly fetchImpl: ProviderFetch = strictProviderFetch(),
  ) {
    this.baseUrl = oktaBaseUrl(host);
  }

  /** getUser: Okta accepts a login (URL-encoded) where the id goes. */
  getUser(idOrLogin: string): Promise<OktaUser> {
    return this.gateway.call('getUser', (signal) => this.request<OktaUser>('GET', `/api/v1/users/${encodeURIComponent(idOrLogin)}`, { signal }, isUser, 'a User'), true);
  }

  /**
   * listUsers with limit=1: the cheapest call that proves the org answers and the token is accepted. The
   * configuration test: made even while the circuit is open.
   */
  listOneUser(): Promise<OktaUser[]> {
    return this.gateway.call('listUsers', (signal) => this.request<OktaUser[]>('GET', '/api/v1/users?limit=1', { signal }, Array.isArray, 'a list of Users'), true, { probe: true });
  }

  listFactors(userId: string): Promise<OktaFactor[]> {
    return this.gateway.call('listFactors', (signal) => this.request<OktaFactor[]>('GET', `/api/v1/users/${encodeURIComponent(userId)}/factors`, { signal }, isFactorList, 'a list of Factors'), true);
  }

  /** Issues the push. Never retried. */
  async verifyFactor(userId: string, factorId: string, options: VerifyPushOptions): Promise<OktaPushTransaction> {
    const body = await this.gateway.call(
      'verifyFactor',
      (signal) =>
        this.request<RawTransaction>('POST', `/api/v1/users/${encodeURIComponent(userId)}/factors/${encodeURIComponent(factorId)}/verify`, {
          signal,
          headers: { 'x-forwarded-for': options.xForwardedFor, 'user-agent': options.userAgent },
          ...(options.useNumberMatchingChallenge ? { body: { useNumberMatchingChallenge: true } } : {}),
        }, isObject, 'a push transaction'),
      false,
    );
    return toTransaction(body);
  }

  async getTransaction(userId: string, factorId: string, transactionId: string): Promise<OktaPushTransaction> {
    const path = `/api/v1/users/${encodeURIComponent(userId)}/factors/${encodeURIComponent(factorId)}/transactions/${encodeURIComponent(transactionId)}`;
    const body = await this.gateway.call('getFactorTransactionStatus', (signal) => this.request<RawTransaction>('GET', path, { signal }, isObject, 'a push transaction'), true);
    return toTransaction(body);
  }

  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    options: { signal: AbortSignal; headers?: Record<string, string>; body?: unknown },
    accepts: (value: unknown) => boolean,
    what: string,
  ): Promise<T> {
    const url = new URL(`${this.baseUrl}${path}`);
    const response = await this.fetchImpl(url, {
      method,
      signal: options.signal,
      headers: {
        accept: 'application/json',
        authorization: `SSWS ${this.apiToken}`,
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw errorFrom(response, text, method, url.host, this.now());
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ProviderError(`Okta at ${url.host} answered HTTP ${response.status} with a body that is not JSON`, {
        status: response.status,
        retryable: true,
        outage: true,
        detail: text.slice(0, 200),
      });
    }
    // Whatever answered is not trusted to be Okta: an answer of the wrong shape is a failure, not a crash.
    if (!accepts(parsed)) {
      throw new ProviderError(`Okta at ${url.host} answered with something that is not ${what}`, { status: response.status, outage: true, detail: text.slice(0, 200) });
    }
    return parsed as T;
  }
}

const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);
const isUser = (value: unknown): boolean => isObject(value) && typeof (value as { id?: unknown }).id === 'string';
const isFactorList = (value: unknown): boolean => Array.isArray(value) && value.every(isObject);

interface RawTransaction {
  readonly factorResult?: string;
  readonly expiresAt?: string;
  readonly _links?: { readonly poll?: { readonly href?: string } };
  readonly _embedded?: { readonly challenge?: { readonly correctAnswer?: number } };
}

function toTransaction(raw: RawTransaction): OktaPushTransaction {
  const href = raw._links?.poll?.href;
  const transactionId = href ? new URL(href, 'https://okta.invalid').pathname.split('/').filter(Boolean).at(-1) : undefined;
  const correctAnswer = raw._embedded?.challenge?.correctAnswer;
  return {
    // Shown to callers in an error text: only if it is one of Okta's codes.
    factorResult: safeProviderCode(raw.factorResult) ?? 'ERROR',
    ...(raw.expiresAt !== undefined ? { expiresAt: raw.expiresAt } : {}),
    ...(transactionId !== undefined ? { transactionId: decodeURIComponent(transactionId) } : {}),
    ...(typeof correctAnswer === 'number' ? { correctAnswer } : {}),
  };
}

/**
 * Okta's error body as a ProviderError: outages (5xx) count toward the circuit, refusals (4xx) do not.
 * The caller is told the class, the status and Okta's errorCode; errorSummary goes to the log only.
 */
function errorFrom(response: Response, text: string, method: string, host: string, now: number): ProviderError {
  let body: OktaErrorBody = {};
  try {
    body = (JSON.parse(text) as OktaErrorBody | null) ?? {};
  } catch {
    // Not Okta's error model (a proxy's page); the status says enough.
  }
  const status = response.status;
  const code = safeProviderCode(body.errorCode);
  const codeText = code === undefined ? '' : `, ${code}`;
  const detail = typeof body.errorSummary === 'string' && body.errorSummary ? body.errorSummary : text.slice(0, 200);
  const details = { status, detail, ...(code !== undefined ? { code } : {}) };
  if (status === 429) {
    return new ProviderError(`Okta is rate limiting requests (HTTP 429${codeText})`, { ...details, retryAfterMs: retryAfterMs(response, now) });
  }
  if (status >= 500) return new ProviderError(`Okta at ${host} failed (HTTP ${status}${codeText})`, { ...details, outage: true, retryable: method === 'GET' });
  if (status === 401 || status === 403) {
    return new ProviderError(`Okta at ${host} refused the API token (accessKey) or its permissions (HTTP ${status}${codeText})`, details);
  }
  return new ProviderError(`Okta at ${host} refused the request (HTTP ${status}${codeText})`, details);
}

/** X-Rate-Limit-Reset (epoch seconds) minus the answer's Date, as Okta's own SDK computes the wait. */
function retryAfterMs(response: Response, now: number): number {
  const reset = Number(response.headers.get('x-rate-limit-reset'));
  if (!Number.isFinite(reset) || reset <= 0) return 1000;
  const date = Date.parse(response.headers.get('date') ?? '');
  return Math.max(0, reset * 1000 - (Number.isNaN(date) ? now : date));
}

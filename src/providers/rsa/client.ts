// A small typed client of the RSA SecurID Authentication API (NOTES §3: POST /authn/initialize, verify,
// cancel), on global fetch. Every request carries the `client-key` header and a fresh random messageId;
// each verify answers RSA's previous message (inResponseTo). initialize and verify start or advance an
// attempt at RSA, so the gateway tries them once: a second try could send a second push.
import type { RsaAuthnResponse } from '../../core/rsa.js';
import type { RandomBytes } from '../../core/secrets.js';
import { ProviderError, type CallOptions, type ProviderGateway } from '../gateway.js';
import { strictProviderFetch, type ProviderFetch } from '../http.js';

/** The API base URL: a full URL is kept; a bare host becomes https://host/mfa/v1_1 (RSA's path). */
export function rsaBaseUrl(host: string): string {
  if (/^https?:\/\//i.test(host)) return host.replace(/\/+$/, '');
  return `https://${host}/mfa/v1_1`;
}

export interface RsaCollectedInput {
  readonly name: string;
  readonly value: string;
  readonly dataType?: 'STRING' | 'INT32' | 'INT64' | 'BOOLEAN' | 'BINARY' | 'ISOTIME';
}

export interface RsaCredential {
  readonly methodId: string;
  readonly referenceId?: string;
  readonly versionId?: string;
  readonly collectedInputs: readonly RsaCollectedInput[];
}

export interface RsaInitializeOptions {
  readonly subjectName: string;
  readonly assurancePolicyId?: string;
  /** How long RSA keeps the attempt open, in seconds. */
  readonly authnAttemptTimeoutSeconds?: number;
  readonly lang?: string;
}

export interface RsaClientOptions {
  /** The API base URL (or bare host). */
  readonly host: string;
  /** The Authentication API key, sent as `client-key`. */
  readonly clientKey: string;
  /** The application name (CAS) or authentication agent name (AM). */
  readonly clientId: string;
}

export class RsaClient {
  private readonly baseUrl: string;

  constructor(
    private readonly options: RsaClientOptions,
    private readonly gateway: ProviderGateway,
    private readonly randomBytes: RandomBytes,
    private readonly fetchImpl: ProviderFetch = strictProviderFetch(),
  ) {
    this.baseUrl = rsaBaseUrl(options.host);
  }

  /** Starts an attempt for a subject. Never retried. `probe` (the configuration test) goes out even while the circuit is open. */
  initialize(init: RsaInitializeOptions, callOptions: CallOptions = {}): Promise<RsaAuthnResponse> {
    const messageId = this.newMessageId();
    const body = {
      clientId: this.options.clientId,
      subjectName: init.subjectName,
      context: { messageId },
      ...(init.assurancePolicyId ? { assurancePolicyId: init.assurancePolicyId } : {}),
      ...(init.authnAttemptTimeoutSeconds !== undefined ? { authnAttemptTimeout: init.authnAttemptTimeoutSeconds } : {}),
      ...(init.lang ? { lang: init.lang } : {}),
    };
    return this.gateway.call('initialize', (signal) => this.post('/authn/initialize', body, messageId, signal), false, callOptions);
  }

  /**
   * Sends credentials in an attempt. `inResponseTo` is the messageId of RSA's previous answer in this
   * attempt. Never retried.
   */
  verify(authnAttemptId: string, inResponseTo: string, credentials: readonly RsaCredential[]): Promise<RsaAuthnResponse> {
    const messageId = this.newMessageId();
    const body = { context: { authnAttemptId, messageId, inResponseTo }, subjectCredentials: credentials };
    return this.gateway.call('verify', (signal) => this.post('/authn/verify', body, messageId, signal), false);
  }

  /** Ends an attempt at RSA (best effort: a test probe, an abandoned push). */
  cancel(authnAttemptId: string, reason: 'USER_ACTION' | 'TIME_OUT' = 'USER_ACTION', callOptions: CallOptions = {}): Promise<RsaAuthnResponse> {
    return this.gateway.call('cancel', (signal) => this.post('/authn/cancel', { authnAttemptId, reason, removeAttemptId: true }, undefined, signal), false, callOptions);
  }

  private newMessageId(): string {
    return this.randomBytes(16).toString('hex');
  }

  private async post(path: string, body: unknown, messageId: string | undefined, signal: AbortSignal): Promise<RsaAuthnResponse> {
    const url = new URL(`${this.baseUrl}${path}`);
    const response = await this.fetchImpl(url, {
      method: 'POST',
      signal,
      headers: { accept: 'application/json', 'content-type': 'application/json', 'client-key': this.options.clientKey },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw errorFrom(response, url.host, text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ProviderError(`RSA SecurID at ${url.host} answered HTTP ${response.status} with a body that is not JSON`, {
        status: response.status,
        outage: true,
        detail: text.slice(0, 200),
      });
    }
    const answer = authnResponseOf(parsed);
    if (!answer) {
      throw new ProviderError(`RSA SecurID at ${url.host} answered with something that is not an AuthNResponse`, { status: response.status, outage: true, detail: text.slice(0, 200) });
    }
    // An answer to another message would mean a mixed-up exchange: do not act on it.
    const inResponseTo = answer.context.inResponseTo;
    if (messageId !== undefined && inResponseTo !== undefined && inResponseTo !== messageId) {
      throw new ProviderError(`RSA SecurID at ${url.host} answered a different message`, { status: response.status, code: 'MESSAGE_MISMATCH' });
    }
    return answer;
  }
}

// Whatever answered is not trusted to be RSA: the answer is rebuilt from the fields of the expected
// types only, so the decisions in src/core/rsa.ts never meet a string where they expect a list.
const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
const list = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.map(record).filter((r) => r !== undefined) : []);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const strings = <K extends string>(from: Record<string, unknown>, keys: readonly K[]): Partial<Record<K, string>> =>
  Object.fromEntries(keys.flatMap((key) => (text(from[key]) === undefined ? [] : [[key, text(from[key])]]))) as Partial<Record<K, string>>;

function authnResponseOf(value: unknown): RsaAuthnResponse | undefined {
  const root = record(value);
  const attemptResponseCode = text(root?.['attemptResponseCode']);
  if (!root || attemptResponseCode === undefined) return undefined;
  if (root['context'] !== undefined && !record(root['context'])) return undefined;
  const challenges = list(record(root['challengeMethods'])?.['challenges']).map((challenge) => ({
    requiredMethods: list(challenge['requiredMethods']).map((method) => ({
      ...strings(method, ['methodId']),
      versions: list(method['versions']).map((version) => ({
        ...strings(version, ['referenceId']),
        methodAttributes: list(version['methodAttributes']).map((attribute) => strings(attribute, ['name'])),
      })),
    })),
  }));
  return {
    context: strings(record(root['context']) ?? {}, ['authnAttemptId', 'messageId', 'inResponseTo']),
    attemptResponseCode,
    ...strings(root, ['attemptReasonCode']),
    credentialValidationResults: list(root['credentialValidationResults']).map((result) => strings(result, ['methodId', 'methodResponseCode', 'methodReasonCode'])),
    challengeMethods: { challenges },
  };
}

/** RSA's refusal or failure by class and status; its body goes to the log only. */
function errorFrom(response: Response, host: string, text: string): ProviderError {
  const status = response.status;
  const detail = text.slice(0, 200);
  if (status === 401 || status === 403) {
    return new ProviderError(`RSA SecurID at ${host} refused the client key (HTTP ${status}); check accessKey and the API URL`, { status, code: 'UNAUTHORIZED', detail });
  }
  if (status === 429) {
    const seconds = Number(response.headers.get('retry-after'));
    return new ProviderError(`RSA SecurID at ${host} is rate limiting this service (HTTP 429)`, {
      status,
      detail,
      ...(Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: seconds * 1000 } : {}),
    });
  }
  if (status >= 500) return new ProviderError(`RSA SecurID at ${host} failed (HTTP ${status})`, { status, outage: true, detail });
  if (status === 404) return new ProviderError(`RSA SecurID at ${host} answered 404; check that host is the API base URL (…/mfa/v1_1)`, { status, detail });
  return new ProviderError(`RSA SecurID at ${host} refused the request (HTTP ${status})`, { status, detail });
}

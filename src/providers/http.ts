// The HTTP client of every provider call. It enforces the provider network rule
// (src/core/provider-network.ts) on the address actually connected to: the agents resolve names through
// a lookup that refuses blocked addresses, so a name that resolves to a private address (or is made to,
// between a check and the connection) is never connected to. Redirects are never followed, answers are
// bounded in size, and a failure is a ProviderTransportError naming its cause, never a bare socket error.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { TransportFailure } from '../core/provider-failure.js';
import { PRIVATE_HOSTS_SETTING, isBlockedAddress, providerUrlProblem, type ProviderNetworkPolicy } from '../core/provider-network.js';

export interface ProviderRequestInit {
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal: AbortSignal;
}

/** What the provider clients call instead of global fetch. */
export type ProviderFetch = (url: URL, init: ProviderRequestInit) => Promise<Response>;

export class ProviderTransportError extends Error {
  constructor(
    readonly failure: TransportFailure,
    /** host[:port] as configured; shown to callers. */
    readonly host: string,
    /** This service's own words on the cause (a setting to look at); shown to callers. */
    readonly hint: string | undefined,
    /** For the log only: error codes, resolved addresses, a redirect's target. */
    readonly detail: string,
  ) {
    super(`${failure}: ${detail}`);
  }
}

/** No provider answer this service reads is near this size. */
const MAX_ANSWER_BYTES = 1024 * 1024;

class BlockedAddressError extends Error {
  readonly code = 'EPROVIDERBLOCKED';
}

/** dns.lookup, refusing the whole name if any address it resolves to is not public. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const blocked = addresses.find((entry) => isBlockedAddress(entry.address));
    if (blocked || addresses.length === 0) {
      return callback(new BlockedAddressError(`${hostname} resolves to ${blocked?.address ?? 'nothing'}`), '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

const TLS_CODES = new Set([
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
]);

/** The cause of a socket or request error. */
export function transportFailureOf(err: NodeJS.ErrnoException): TransportFailure {
  const code = err.code ?? '';
  if (err instanceof BlockedAddressError) return 'blocked';
  if (['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME'].includes(code)) return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  if (['ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN'].includes(code)) return 'unreachable';
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.startsWith('ERR_OSSL')) return 'tls';
  return 'reset';
}

export interface GuardedFetch extends ProviderFetch {
  /** Closes kept-alive connections. */
  close(): void;
}

/** A ProviderFetch that applies the policy. One per process is enough; its agents keep connections alive. */
export function providerFetch(policy: ProviderNetworkPolicy): GuardedFetch {
  const lookup = policy.allowPrivateHosts ? undefined : guardedLookup;
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, ...(lookup ? { lookup } : {}) }),
    'https:': new HttpsAgent({ keepAlive: true, ...(lookup ? { lookup } : {}) }),
  };
  const fetchImpl = (url: URL, init: ProviderRequestInit): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const host = url.host;
      const fail = (failure: TransportFailure, detail: string, hint?: string) => reject(new ProviderTransportError(failure, host, hint, detail));
      const problem = providerUrlProblem(url, policy);
      if (problem) return fail('blocked', problem, problem);
      if (init.signal.aborted) return fail('timeout', 'aborted before the request');
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(url, { method: init.method, headers: init.headers, agent: agents[url.protocol as 'http:' | 'https:'], signal: init.signal }, (response) => {
        readAnswer(response, url, init.signal).then(resolve, (err: ProviderTransportError | Error) => {
          if (err instanceof ProviderTransportError) reject(err);
          else fail(init.signal.aborted ? 'timeout' : 'reset', err.message);
        });
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        if (init.signal.aborted) return fail('timeout', 'no answer within the timeout');
        const failure = transportFailureOf(err);
        fail(failure, `${err.code ?? err.name}: ${err.message}`, failure === 'blocked' ? `it resolves to a non-public address; allowed only with ${PRIVATE_HOSTS_SETTING}=true` : undefined);
      });
      request.end(init.body);
    });
  return Object.assign(fetchImpl, {
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  });
}

/** The whole answer as a Response; redirects and oversized answers are failures. */
function readAnswer(response: IncomingMessage, url: URL, signal: AbortSignal): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400) {
      response.resume();
      const location = response.headers.location ?? '(none)';
      return reject(new ProviderTransportError('redirect', url.host, `HTTP ${status}`, `HTTP ${status} to ${location}`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) {
        response.destroy();
        reject(new ProviderTransportError('too-large', url.host, undefined, `more than ${MAX_ANSWER_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('error', (err) => reject(signal.aborted ? new ProviderTransportError('timeout', url.host, undefined, 'answer cut off by the timeout') : err));
    response.on('end', () => {
      const headers = new Headers();
      for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) headers.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
      if (status < 200 || status > 599) {
        return reject(new ProviderTransportError('reset', url.host, undefined, `HTTP status ${status} is not one a provider answers`));
      }
      // A Response with these statuses may not have a body.
      const empty = status === 204 || status === 205;
      resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers }));
    });
  });
}

let strict: GuardedFetch | undefined;
/** The process's strict ProviderFetch (no opt-in), for clients built without one. */
export function strictProviderFetch(): GuardedFetch {
  strict ??= providerFetch({ allowPrivateHosts: false });
  return strict;
}

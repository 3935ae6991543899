// How a failed call to an outside provider is told to the caller: a closed set of causes, each with one
// sentence naming the provider, the host and the cause. Never the provider's own words (see
// safeProviderCode): those go to the log.

/** Why no usable answer came back. */
export type TransportFailure =
  /** The host, or the address it resolves to, is not allowed (src/core/provider-network.ts). */
  | 'blocked'
  /** The name did not resolve. */
  | 'dns'
  /** Nothing listens at the address. */
  | 'refused'
  /** No route, or the connection attempt timed out. */
  | 'unreachable'
  /** The TLS handshake failed: certificate, name or protocol. */
  | 'tls'
  /** The connection broke during the exchange. */
  | 'reset'
  /** No answer within the timeout. */
  | 'timeout'
  /** An HTTP redirect, which provider calls never follow. */
  | 'redirect'
  /** An answer larger than any the provider sends. */
  | 'too-large';

const CAUSES: Readonly<Record<TransportFailure, string>> = {
  blocked: 'the destination is not allowed',
  dns: 'the name does not resolve (DNS)',
  refused: 'connection refused',
  unreachable: 'network unreachable',
  tls: 'TLS handshake failed (certificate or protocol)',
  reset: 'the connection was reset',
  timeout: 'timed out',
  redirect: 'it answered with a redirect, which is not followed',
  'too-large': 'the answer was too large',
};

/** `okta could not be reached at example.okta.com: connection refused`. `extra` is this service's own text (a setting to look at). */
export function transportFailureText(provider: string, host: string, failure: TransportFailure, extra?: string): string {
  if (failure === 'timeout') return `${provider} did not answer in time (${host})`;
  return `${provider} could not be reached at ${host}: ${CAUSES[failure]}${extra ? ` (${extra})` : ''}`;
}

// Every call to an outside provider goes through a gateway: a timeout on each try, a bounded retry of
// what the provider allows to be retried, and a circuit that stops calling a provider that is down.
// What happened is logged by operation and outcome, never with request or response bodies (a
// provider's own words on a failure, `detail`, go to the log and never to the caller).
import { CLOSED, admit, afterFailure, afterSuccess, type CircuitPolicy, type CircuitState } from '../core/circuit.js';
import { transportFailureText, type TransportFailure } from '../core/provider-failure.js';
import type { Clock } from '../core/ports.js';
import { ProviderTransportError } from './http.js';

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly details: {
      /** HTTP status from the provider, when there was an answer. */
      readonly status?: number;
      /** Safe to try again (timeouts, 5xx, 429 on an idempotent call). */
      readonly retryable?: boolean;
      /** The provider is failing, rather than refusing this request: counts toward opening the circuit. */
      readonly outage?: boolean;
      /** The provider asked to wait this long (rate limit). */
      readonly retryAfterMs?: number;
      /** A provider error code (Okta's errorCode, Twilio's code, ...). */
      readonly code?: string;
      /** The cause when no usable answer came back (DNS, refused, TLS, timeout, ...). */
      readonly transport?: TransportFailure;
      /** For the log only: the provider's own message, a socket error. Never shown to callers. */
      readonly detail?: string;
    } = {},
  ) {
    super(message);
  }
}

export interface GatewayLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** One try of a provider call as the gateway saw it (metrics); never bodies. */
export interface GatewayCall {
  readonly provider: string;
  readonly operation: string;
  /** `refused`: the circuit was open and no call was made. */
  readonly outcome: 'success' | 'failure' | 'refused';
  readonly durationMs: number;
}

/** How one call goes through the gateway. */
export interface CallOptions {
  /**
   * Made even while the circuit is open (a configuration test: an operator asking whether the provider
   * works must get the provider's answer, not the circuit's memory of it). Its outcome updates the circuit.
   */
  readonly probe?: boolean;
}

export interface GatewayOptions {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly circuit: CircuitPolicy;
  /** Told of every try; must return at once and not throw. */
  readonly observer?: (call: GatewayCall) => void;
}

export const DEFAULT_GATEWAY_OPTIONS: GatewayOptions = {
  timeoutMs: 5000,
  retries: 2,
  retryDelayMs: 200,
  circuit: { failureThreshold: 5, coolDownMs: 30_000 },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ProviderGateway {
  private state: CircuitState = CLOSED;

  constructor(
    readonly provider: string,
    private readonly clock: Clock,
    private readonly options: GatewayOptions = DEFAULT_GATEWAY_OPTIONS,
    private readonly logger?: GatewayLogger,
  ) {}

  /** The circuit as a page shows it: closed, open (calls refused for the cool-down) or half-open (one trial out). */
  circuit(): CircuitState['kind'] {
    return this.state.kind;
  }

  /**
   * Runs `work` with an abort signal that fires at the timeout. `idempotent` calls are retried on
   * retryable errors; others are tried once (a second push would reach the person twice).
   */
  async call<T>(operation: string, work: (signal: AbortSignal) => Promise<T>, idempotent: boolean, options: CallOptions = {}): Promise<T> {
    const tries = idempotent ? 1 + this.options.retries : 1;
    let lastError: ProviderError | undefined;
    for (let attempt = 1; attempt <= tries; attempt++) {
      const gate = admit(this.state, this.clock.now());
      this.state = gate.state;
      if (!gate.allowed && !options.probe) {
        this.logger?.warn({ provider: this.provider, operation }, 'provider circuit open; call not made');
        this.options.observer?.({ provider: this.provider, operation, outcome: 'refused', durationMs: 0 });
        throw new ProviderError(`${this.provider} is unavailable (too many recent failures); try again shortly.`, { outage: true });
      }
      const started = this.clock.now();
      // A timer of our own (AbortSignal.timeout's does not keep the process alive while it waits).
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new DOMException('provider call timed out', 'TimeoutError')), this.options.timeoutMs);
      try {
        const result = await work(controller.signal);
        this.state = afterSuccess();
        this.logger?.info({ provider: this.provider, operation, attempt, durationMs: this.clock.now() - started }, 'provider call');
        this.options.observer?.({ provider: this.provider, operation, outcome: 'success', durationMs: this.clock.now() - started });
        return result;
      } catch (err) {
        lastError = asProviderError(err, this.provider);
        this.state = this.stateAfter(lastError);
        this.logger?.warn(
          {
            provider: this.provider,
            operation,
            attempt,
            durationMs: this.clock.now() - started,
            status: lastError.details.status,
            code: lastError.details.code,
            cause: lastError.details.transport,
            error: lastError.message,
            ...(lastError.details.detail ? { detail: lastError.details.detail.slice(0, 500) } : {}),
          },
          'provider call failed',
        );
        this.options.observer?.({ provider: this.provider, operation, outcome: 'failure', durationMs: this.clock.now() - started });
        if (!lastError.details.retryable || attempt === tries) break;
        await sleep(Math.min(lastError.details.retryAfterMs ?? this.options.retryDelayMs * attempt, 2000));
      } finally {
        clearTimeout(timer);
      }
    }
    throw lastError!;
  }

  private stateAfter(error: ProviderError): CircuitState {
    // No call reached the provider: nothing learnt about it.
    if (error.details.transport === 'blocked') return this.state;
    // A refusal is an answer: the provider is up.
    if (!error.details.outage) return afterSuccess();
    // A failure while the circuit is open (a probe, or a slow call sent before it opened) leaves it open.
    return afterFailure(this.state, this.options.circuit, this.clock.now());
  }

  /** Forgets past failures: the configuration changed, so they say nothing about the next call. */
  reset(): void {
    this.state = CLOSED;
  }
}

/** Transport failures that a second try cannot mend: the configuration must change. */
const NOT_RETRYABLE: ReadonlySet<TransportFailure> = new Set(['blocked', 'redirect', 'tls', 'too-large']);

function asProviderError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof ProviderTransportError) {
    const failure = err.failure;
    return new ProviderError(transportFailureText(provider, err.host, failure, err.hint), {
      transport: failure,
      retryable: !NOT_RETRYABLE.has(failure),
      // A refused destination is the configuration's fault, not the provider's: it does not open the circuit.
      outage: failure !== 'blocked',
      detail: err.detail,
    });
  }
  const name = (err as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ProviderError(`${provider} did not answer in time`, { retryable: true, outage: true, transport: 'timeout' });
  }
  return new ProviderError(`${provider} could not be reached`, { retryable: true, outage: true, transport: 'reset', detail: (err as Error)?.message ?? String(err) });
}

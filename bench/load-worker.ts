// The load generator of bench/token.ts, run in a worker thread so that autocannon's client work has its own
// event loop and does not queue behind the server's callbacks. Every route is driven the same way (same
// headers, a body built per request by setupRequest), so the bare baseline costs the client what ours does.
import autocannon from 'autocannon';
import { parentPort } from 'node:worker_threads';

const TOKEN_SPACE = 1_000_000;

/** How the body of each request is made. */
export type BodySpec =
  | { readonly kind: 'fixed'; readonly json: unknown }
  /**
   * A token-authenticate body whose 6-digit token is the next of a shuffled sequence of every code but
   * `excluded` (the real one), so that no two requests of one sequence repeat a guess or win.
   */
  | { readonly kind: 'guesses'; readonly sequence: string; readonly excluded: string; readonly userAlias: string; readonly deliveryType: string };

export interface LoadJob {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: BodySpec;
  readonly durationSeconds: number;
  readonly connections: number;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly completed: number;
  readonly count2xx: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** Guesses a `guesses` sequence handed out so far (all jobs on it), and whether it ran out and repeated. */
  readonly guessesIssued?: number;
  readonly guessesRepeated?: boolean;
}

export type WorkerRequest = { readonly id: number; readonly job: LoadJob };
export type WorkerReply = { readonly id: number; readonly result: LoadResult } | { readonly id: number; readonly error: string };

class GuessSequence {
  private readonly codes: Int32Array;
  private next = 0;
  issued = 0;
  repeated = false;

  constructor(excluded: string) {
    const skip = Number(excluded);
    this.codes = new Int32Array(TOKEN_SPACE - 1);
    let at = 0;
    for (let code = 0; code < TOKEN_SPACE; code++) if (code !== skip) this.codes[at++] = code;
    // Fisher-Yates; the order only has to look random to the server, not resist an attacker.
    for (let i = this.codes.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const swap = this.codes[i]!;
      this.codes[i] = this.codes[j]!;
      this.codes[j] = swap;
    }
  }

  take(): string {
    if (this.next === this.codes.length) {
      this.next = 0;
      this.repeated = true;
    }
    this.issued++;
    return String(this.codes[this.next++]).padStart(6, '0');
  }
}

const sequences = new Map<string, GuessSequence>();

function bodyMaker(spec: BodySpec): { make: () => string; sequence?: GuessSequence } {
  if (spec.kind === 'fixed') {
    const text = JSON.stringify(spec.json);
    return { make: () => text };
  }
  let sequence = sequences.get(spec.sequence);
  if (!sequence) {
    sequence = new GuessSequence(spec.excluded);
    sequences.set(spec.sequence, sequence);
  }
  const guesses = sequence;
  const { userAlias, deliveryType } = spec;
  return { make: () => JSON.stringify({ token: guesses.take(), userAlias, deliveryType }), sequence };
}

// Inside a worker thread autocannon returns its raw result (histograms encoded, nothing aggregated), as
// its own worker mode expects; aggregateResult turns it into the usual result. It is exported but not typed.
const aggregateResult = (autocannon as unknown as { aggregateResult(results: unknown[], opts: object): autocannon.Result }).aggregateResult;

async function run(job: LoadJob): Promise<LoadResult> {
  const { make, sequence } = bodyMaker(job.body);
  const options: autocannon.Options = {
    url: job.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...job.headers },
    connections: job.connections,
    duration: job.durationSeconds,
    requests: [{ setupRequest: (request) => ({ ...request, body: make() }) }],
  };
  const raw = (await autocannon(options)) as unknown as autocannon.Result & { totalCompletedRequests: number };
  const result = aggregateResult([raw], { url: job.url, connections: job.connections, duration: job.durationSeconds });
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
  return {
    // The per-second sample histogram is not carried out of a worker; completed over elapsed is its mean.
    requestsPerSecond: raw.totalCompletedRequests / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    completed: raw.totalCompletedRequests,
    count2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    ...(sequence ? { guessesIssued: sequence.issued, guessesRepeated: sequence.repeated } : {}),
  };
}

if (!parentPort) throw new Error('bench/load-worker.ts runs as a worker thread of bench/token.ts');
const port = parentPort;
port.on('message', (message: WorkerRequest) => {
  run(message.job).then(
    (result) => port.postMessage({ id: message.id, result } satisfies WorkerReply),
    (err: unknown) => port.postMessage({ id: message.id, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies WorkerReply),
  );
});

// The load generator of the benchmarks (bench/token.ts, bench/kba.ts, bench/all.ts), run in a worker thread so that its client work has
// its own event loop and does not queue behind the server's callbacks: autocannon as fast as answered, or
// an open loop of our own at a fixed rate (runAtRate). Every route is driven the same way (same
// headers, a body built per request by setupRequest), so the bare baseline costs the client what ours does.
import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { createHistogram, performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';

const TOKEN_SPACE = 1_000_000;

/** How the body of each request is made. */
export type BodySpec =
  | { readonly kind: 'fixed'; readonly json: unknown }
  /**
   * A token-authenticate body whose 6-digit token is the next of a shuffled sequence of every code but
   * `excluded` (the real one), so that no two requests of one sequence repeat a guess or win.
   */
  | { readonly kind: 'guesses'; readonly sequence: string; readonly excluded: string; readonly userAlias: string; readonly deliveryType: string }
  /**
   * A TOTP-authenticate body `{userAlias, totpCode}` whose code is the next of a shuffled sequence of every
   * 6-digit code but `excluded` (the codes right for the steps the run can reach), so that no request wins.
   */
  | { readonly kind: 'totp-guesses'; readonly sequence: string; readonly excluded: readonly string[]; readonly userAlias: string }
  /**
   * Wrong guesses spread over many identities, `${aliasPrefix}0` to `${aliasPrefix}${count - 1}` in turn, each
   * a random 6-digit code other than that identity's real one (`excluded[i]`).
   */
  | { readonly kind: 'spread-guesses'; readonly aliasPrefix: string; readonly excluded: readonly number[]; readonly deliveryType: string }
  /** Token sends to `${aliasPrefix}${i}`, each identity once, from the offset `sequence` has reached. */
  | { readonly kind: 'sends'; readonly sequence: string; readonly aliasPrefix: string; readonly count: number; readonly deliveryType: string };

export interface LoadJob {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: BodySpec;
  readonly durationSeconds: number;
  readonly connections: number;
  /**
   * Requests per second for all connections together, sent evenly spaced whatever the answers (an open
   * loop, see runAtRate); absent: each connection sends its next request when answered (autocannon).
   */
  readonly overallRate?: number;
  /** When set, every 2xx response body is checked for this text, and the matches and misses are counted. */
  readonly expectInBody?: string;
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
  /** With `expectInBody`: 2xx responses whose body holds it, and those whose body does not. */
  readonly bodyMatched?: number;
  readonly bodyMismatched?: number;
}

export type WorkerRequest = { readonly id: number; readonly job: LoadJob };
export type WorkerReply = { readonly id: number; readonly result: LoadResult } | { readonly id: number; readonly error: string };

class GuessSequence {
  private readonly codes: Int32Array;
  private next = 0;
  issued = 0;
  repeated = false;

  constructor(excluded: readonly string[]) {
    const skip = new Set(excluded.map(Number));
    this.codes = new Int32Array(TOKEN_SPACE - skip.size);
    let at = 0;
    for (let code = 0; code < TOKEN_SPACE; code++) if (!skip.has(code)) this.codes[at++] = code;
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
const sendOffsets = new Map<string, { next: number; repeated: boolean }>();

function bodyMaker(spec: BodySpec): { make: () => string; sequence?: { issued: number; repeated: boolean } } {
  if (spec.kind === 'fixed') {
    const text = JSON.stringify(spec.json);
    return { make: () => text };
  }
  if (spec.kind === 'spread-guesses') {
    const { aliasPrefix, excluded, deliveryType } = spec;
    const counts = { issued: 0, repeated: false };
    let at = 0;
    const make = (): string => {
      const i = at;
      at = (at + 1) % excluded.length;
      counts.issued++;
      let code = Math.floor(Math.random() * TOKEN_SPACE);
      if (code === excluded[i]) code = (code + 1) % TOKEN_SPACE;
      return JSON.stringify({ token: String(code).padStart(6, '0'), userAlias: `${aliasPrefix}${i}`, deliveryType });
    };
    return { make, sequence: counts };
  }
  if (spec.kind === 'sends') {
    let offset = sendOffsets.get(spec.sequence);
    if (!offset) sendOffsets.set(spec.sequence, (offset = { next: 0, repeated: false }));
    const state = offset;
    const { aliasPrefix, count, deliveryType } = spec;
    const counts = { issued: 0, repeated: false };
    const make = (): string => {
      if (state.next === count) {
        state.next = 0;
        state.repeated = counts.repeated = true;
      }
      counts.issued++;
      return JSON.stringify({ userAlias: `${aliasPrefix}${state.next++}`, deliveryType });
    };
    return { make, sequence: counts };
  }
  let sequence = sequences.get(spec.sequence);
  if (!sequence) {
    sequence = new GuessSequence(spec.kind === 'totp-guesses' ? spec.excluded : [spec.excluded]);
    sequences.set(spec.sequence, sequence);
  }
  const guesses = sequence;
  if (spec.kind === 'totp-guesses') {
    const { userAlias } = spec;
    return { make: () => JSON.stringify({ userAlias, totpCode: guesses.take() }), sequence };
  }
  const { userAlias, deliveryType } = spec;
  return { make: () => JSON.stringify({ token: guesses.take(), userAlias, deliveryType }), sequence };
}

/**
 * What autocannon hands back inside a worker thread: its raw result, histograms encoded and nothing
 * aggregated (the form its own worker mode sends to its main thread), so the typed Result does not apply.
 */
interface RawResult {
  readonly totalCompletedRequests: number;
  /** Seconds, to 10 ms. */
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly '2xx': number;
  readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>;
}

/** autocannon's 'response' event as emitted (the typings leave out the first argument, the client). */
type ResponseListener = (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void;

/**
 * A fixed rate as a service meets it: requests sent evenly spaced, each on a free kept-alive connection
 * (or queued for one), whether or not earlier ones were answered. autocannon's own rate option sends each
 * connection's share of a second back to back as fast as answered and then waits for the next second,
 * so its latencies are those of a saturating burst, not of the rate. Latency runs from the send to the
 * end of the answer, so waiting for a connection counts.
 */
async function runAtRate(job: LoadJob, rate: number): Promise<LoadResult> {
  const { make, sequence } = bodyMaker(job.body);
  const latencyUs = createHistogram();
  const target = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const statusCodes: Record<string, number> = {};
  const counts = { completed: 0, count2xx: 0, non2xx: 0, errors: 0, matched: 0, mismatched: 0 };
  const headers = { 'content-type': 'application/json', ...job.headers };
  const send = (): Promise<void> =>
    new Promise((resolve) => {
      const sentAt = performance.now();
      const body = make();
      const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          counts.completed++;
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
          if (status >= 200 && status < 300) {
            counts.count2xx++;
            latencyUs.record(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
            if (job.expectInBody !== undefined) {
              if (Buffer.concat(chunks).toString().includes(job.expectInBody)) counts.matched++;
              else counts.mismatched++;
            }
          } else {
            counts.non2xx++;
          }
          resolve();
        });
      });
      req.on('error', () => {
        counts.errors++;
        resolve();
      });
      req.end(body);
    });
  const intervalMs = 1000 / rate;
  const total = Math.round(job.durationSeconds * rate);
  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
    while (sent < due) {
      inFlight.push(send());
      sent++;
    }
    // The next request's time; a timer fires a little late, and the loop then sends all that are due.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + sent * intervalMs - performance.now())));
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  const ms = (percentile: number): number => (latencyUs.count > 0 ? latencyUs.percentile(percentile) / 1000 : 0);
  return {
    requestsPerSecond: counts.completed / seconds,
    p50Ms: ms(50),
    p99Ms: ms(99),
    completed: counts.completed,
    count2xx: counts.count2xx,
    non2xx: counts.non2xx,
    errors: counts.errors,
    timeouts: 0,
    statusCodes,
    ...(sequence ? { guessesIssued: sequence.issued, guessesRepeated: sequence.repeated } : {}),
    ...(job.expectInBody === undefined ? {} : { bodyMatched: counts.matched, bodyMismatched: counts.mismatched }),
  };
}

async function run(job: LoadJob): Promise<LoadResult> {
  if (job.overallRate !== undefined) return runAtRate(job, job.overallRate);
  const { make, sequence } = bodyMaker(job.body);
  // autocannon's own latency histogram has 1 ms resolution, too coarse for a bare route; this one
  // records microseconds. Like autocannon's, it holds 2xx responses only.
  const latencyUs = createHistogram();
  const expected = job.expectInBody;
  const bodies = { matched: 0, mismatched: 0 };
  // autocannon collects each body anyway; onResponse only hands it over.
  const onBody = (status: number, body: string): void => {
    if (expected === undefined || status < 200 || status >= 300) return;
    if (body.includes(expected)) bodies.matched++;
    else bodies.mismatched++;
  };
  const raw = await new Promise<RawResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...job.headers },
        connections: job.connections,
        duration: job.durationSeconds,
        requests: [{ setupRequest: (request) => ({ ...request, body: make() }), ...(expected === undefined ? {} : { onResponse: onBody }) }],
      },
      (err: unknown, result: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result as RawResult)),
    );
    const onResponse: ResponseListener = (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode >= 200 && statusCode < 300) latencyUs.record(Math.max(1, Math.round(responseTimeMs * 1000)));
    };
    (instance as NodeJS.EventEmitter).on('response', onResponse);
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(raw.statusCodeStats)) statusCodes[code] = stats.count;
  const ms = (percentile: number): number => (latencyUs.count > 0 ? latencyUs.percentile(percentile) / 1000 : 0);
  return {
    requestsPerSecond: raw.duration > 0 ? raw.totalCompletedRequests / raw.duration : 0,
    p50Ms: ms(50),
    p99Ms: ms(99),
    completed: raw.totalCompletedRequests,
    count2xx: raw['2xx'],
    non2xx: raw.non2xx,
    errors: raw.errors,
    timeouts: raw.timeouts,
    statusCodes,
    ...(sequence ? { guessesIssued: sequence.issued, guessesRepeated: sequence.repeated } : {}),
    ...(expected === undefined ? {} : { bodyMatched: bodies.matched, bodyMismatched: bodies.mismatched }),
  };
}

if (!parentPort) throw new Error('bench/load-worker.ts runs as a worker thread of bench/token.ts or bench/kba.ts');
const port = parentPort;
port.on('message', (message: WorkerRequest) => {
  run(message.job).then(
    (result) => port.postMessage({ id: message.id, result } satisfies WorkerReply),
    (err: unknown) => port.postMessage({ id: message.id, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies WorkerReply),
  );
});

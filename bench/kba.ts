// Load benchmark of the security-question method (KBA) and of what it does to the rest of the service, in
// one run: the real service (embedded SQLite, or PostgreSQL with --database-url) listens in this thread,
// while autocannon drives it from worker threads, one for the KBA load and one for the poll load.
// (a) KBA checks alone, (b) token polls alone, (c) both at once: poll latency with argon2id beside it.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createClient } from '../src/auth/clients.js';
import { ALL_SCOPES } from '../src/auth/scopes.js';
import type { Config } from '../src/config.js';
import {
  clientToken,
  databaseUrlOption,
  formatTable,
  LoadGenerator,
  positive,
  postJson,
  round2,
  scratchSpace,
  sleep,
  startService,
  USER_ALIAS,
  type Service,
} from './common.js';
import type { LoadJob, LoadResult } from './load-worker.js';

const WARMUP_SECONDS = 2;
/** Time for requests still in flight when autocannon stops to reach the service. */
const SETTLE_MS = 300;

/** The enrolled questions and answers; every check gives all three, correctly: three argon2id verifications. */
const ANSWERS = [
  { id: 'bench-q1', text: 'Name of your first pet?', answer: 'Rex the Dog' },
  { id: 'bench-q2', text: 'City you were born in?', answer: 'Zaragoza' },
  { id: 'bench-q3', text: 'Make of your first car?', answer: 'Citroen 2CV' },
] as const;

/**
 * Hashing settings taken from the environment when set (MFA_KBA_MAX_CONCURRENT_HASHES=4 npm run bench:kba),
 * and the tag each adds to the results file name so that such a run does not overwrite the default one.
 */
const HASH_VARIABLES: ReadonlyArray<{ readonly name: string; readonly tag: string; readonly value: (c: Config['kba']) => number }> = [
  { name: 'MFA_KBA_MAX_CONCURRENT_HASHES', tag: 'hashes', value: (c) => c.maxConcurrentHashes },
  { name: 'MFA_KBA_MAX_QUEUED_HASHES', tag: 'queue', value: (c) => c.maxQueuedHashes },
  { name: 'MFA_KBA_ARGON2_MEMORY_KIB', tag: 'm', value: (c) => c.argon2MemoryKib },
  { name: 'MFA_KBA_ARGON2_TIME_COST', tag: 't', value: (c) => c.argon2TimeCost },
  { name: 'MFA_KBA_ARGON2_PARALLELISM', tag: 'p', value: (c) => c.argon2Parallelism },
];

interface Options {
  readonly durationSeconds: number;
  /** Connections of the KBA load. */
  readonly connections: number;
  readonly pollConnections: number;
  readonly databaseUrl: string | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '8' },
      'poll-connections': { type: 'string', default: '10' },
      'database-url': { type: 'string' },
    },
    strict: true,
  });
  return {
    durationSeconds: positive('duration', values.duration),
    connections: positive('connections', values.connections),
    pollConnections: positive('poll-connections', values['poll-connections']),
    databaseUrl: databaseUrlOption(values['database-url']),
  };
}

type Load = 'kba' | 'poll';

interface Row extends LoadResult {
  readonly phase: string;
  readonly load: Load;
  readonly path: string;
  readonly connections: number;
  /**
   * 2xx answers per second: checks that succeeded, polls answered. `requestsPerSecond` counts every answer,
   * 429s too, which are cheap and would flatter the figure once the hash queue overflows.
   */
  readonly answeredPerSecond: number;
  readonly answeredPerSecondPerCore: number;
  /** 429 answers: the hash queue was full (designed back-pressure, not an error). */
  readonly rateLimited: number;
  /** Non-2xx answers other than 429. */
  readonly otherNon2xx: number;
}

/** The enrolled identity's personal client token, for the KBA calls. */
async function enrol(service: Service): Promise<string> {
  const { runtime, baseUrl } = service;
  for (const q of ANSWERS) await runtime.store.putQuestion({ id: q.id, texts: { '': q.text }, createdAt: runtime.clock.now() });
  const personal = await createClient(runtime.store, runtime.clock, runtime.randomBytes, 'bench-personal', [ALL_SCOPES], USER_ALIAS);
  const token = await clientToken(baseUrl, personal.clientId, personal.clientSecret);
  const enrolled = (await postJson(
    `${baseUrl}/v3/mfa/kba/config/answers`,
    token,
    ANSWERS.map((q) => ({ id: q.id, answer: q.answer })),
  )) as Array<{ id: string; hasAnswer: boolean }>;
  const answered = enrolled.filter((e) => e.hasAnswer).length;
  if (answered !== ANSWERS.length) throw new Error(`enrolment answered ${JSON.stringify(enrolled)}`);
  return token;
}

/**
 * One KBA check on its own: throws unless it is SUCCESS with every answer verified; returns its time in ms.
 * A 429 (the hash queue still full of checks the load left behind) is retried after a pause.
 */
async function checkOnce(baseUrl: string, token: string): Promise<number> {
  for (let tries = 1; ; tries++) {
    const elapsed = await checkOrBusy(baseUrl, token);
    if (elapsed !== 'busy') return elapsed;
    if (tries === 50) throw new Error('a single KBA check answered 429 fifty times in a row');
    await sleep(100);
  }
}

async function checkOrBusy(baseUrl: string, token: string): Promise<number | 'busy'> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/v3/mfa/kba/authenticate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(ANSWERS.map((q) => ({ id: q.id, answer: q.answer }))),
  });
  const text = await response.text();
  if (response.status === 429) return 'busy';
  const elapsed = performance.now() - started;
  const body = response.status === 200 ? (JSON.parse(text) as { status?: string; kbaAuthResponseItems?: Array<{ isVerified: boolean | null }> }) : undefined;
  const verified = body?.kbaAuthResponseItems?.filter((i) => i.isVerified === true).length ?? 0;
  if (body?.status !== 'SUCCESS' || verified !== ANSWERS.length) throw new Error(`a single KBA check answered ${response.status}: ${text}`);
  return elapsed;
}

function formatRows(rows: readonly Row[]): string {
  const header = ['phase', 'load', 'conns', 'req/s', 'req/s/core', 'p50 ms', 'p99 ms', '429', 'other non-2xx', 'errors'];
  const lines = rows.map((r) => [
    r.phase,
    r.load,
    String(r.connections),
    r.answeredPerSecond.toFixed(r.load === 'kba' ? 1 : 0),
    r.answeredPerSecondPerCore.toFixed(r.load === 'kba' ? 1 : 0),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    String(r.rateLimited),
    String(r.otherNon2xx),
    String(r.errors + r.timeouts),
  ]);
  return formatTable(header, lines);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const loadBefore = loadavg()[0] ?? 0;
  const cores = availableParallelism();
  const { dataDir, schema, cleanups } = await scratchSpace(options.databaseUrl);
  try {
    const fromEnv = Object.fromEntries(
      HASH_VARIABLES.flatMap(({ name }) => (process.env[name] ? [[name, process.env[name]] as const] : [])),
    );
    const service = await startService(options.databaseUrl, dataDir, schema, {
      // Every check counts as a try until it succeeds; never a lockout, however many checks.
      MFA_KBA_MAX_ATTEMPTS: '1000000000',
      ...fromEnv,
    });
    cleanups.unshift(() => service.runtime.close());
    const kbaToken = await enrol(service);
    const kbaConfig = service.runtime.config.kba;
    const kbaLoad = new LoadGenerator();
    cleanups.unshift(() => kbaLoad.close());
    const pollLoad = new LoadGenerator();
    cleanups.unshift(() => pollLoad.close());

    const threadPool = Number(process.env['UV_THREADPOOL_SIZE'] || 4);
    const hashing = {
      algorithm: 'argon2id',
      memoryKib: kbaConfig.argon2MemoryKib,
      timeCost: kbaConfig.argon2TimeCost,
      parallelism: kbaConfig.argon2Parallelism,
      maxConcurrentHashes: kbaConfig.maxConcurrentHashes,
      maxConcurrentHashesIsDefault: !('MFA_KBA_MAX_CONCURRENT_HASHES' in fromEnv),
      maxQueuedHashes: kbaConfig.maxQueuedHashes,
      libuvThreadPool: threadPool,
      verificationsPerCheck: ANSWERS.length,
    };

    const kbaJob = (durationSeconds: number): LoadJob => ({
      url: `${service.baseUrl}/v3/mfa/kba/authenticate`,
      headers: { authorization: `Bearer ${kbaToken}` },
      body: { kind: 'fixed', json: ANSWERS.map((q) => ({ id: q.id, answer: q.answer })) },
      durationSeconds,
      connections: options.connections,
      expectInBody: '"status":"SUCCESS"',
    });
    const pollJob = (durationSeconds: number): LoadJob => ({
      url: `${service.baseUrl}/v3/mfa/token/poll`,
      headers: { authorization: `Bearer ${service.accessToken}` },
      body: { kind: 'fixed', json: { requestId: service.requestId } },
      durationSeconds,
      connections: options.pollConnections,
    });
    const generators: Record<Load, { gen: LoadGenerator; job: (s: number) => LoadJob; path: string; connections: number }> = {
      kba: { gen: kbaLoad, job: kbaJob, path: 'POST /v3/mfa/kba/authenticate', connections: options.connections },
      poll: { gen: pollLoad, job: pollJob, path: 'POST /v3/mfa/token/poll', connections: options.pollConnections },
    };

    const problems: string[] = [];
    const checkResult = (label: string, load: Load, r: LoadResult): void => {
      const rateLimited = r.statusCodes['429'] ?? 0;
      const otherNon2xx = r.non2xx - rateLimited;
      if (otherNon2xx + r.errors + r.timeouts > 0) {
        problems.push(`${label}: ${otherNon2xx} non-2xx other than 429, ${r.errors} errors, ${r.timeouts} timeouts (${JSON.stringify(r.statusCodes)})`);
      }
      if (load === 'kba') {
        if ((r.bodyMismatched ?? 0) > 0) problems.push(`${label}: ${r.bodyMismatched} KBA answers were not SUCCESS`);
        if ((r.bodyMatched ?? 0) === 0) problems.push(`${label}: no KBA check answered SUCCESS`);
      }
    };
    // A check on its own after KBA load: it waits behind the hashes of checks still queued when autocannon
    // stopped (the queue is first in, first out), so the next phase starts on an idle hasher; and it must succeed.
    const drain = async (): Promise<number> => {
      await sleep(SETTLE_MS);
      return checkOnce(service.baseUrl, kbaToken);
    };

    const singleCheckMs = { before: round2(await checkOnce(service.baseUrl, kbaToken)), afterPhases: [] as number[] };
    const rows: Row[] = [];
    const phases: Array<{ phase: string; loads: Load[] }> = [
      { phase: 'KBA alone', loads: ['kba'] },
      { phase: 'poll alone', loads: ['poll'] },
      { phase: 'KBA + poll', loads: ['kba', 'poll'] },
    ];
    for (const { phase, loads } of phases) {
      process.stderr.write(`${phase}: ${WARMUP_SECONDS} s warm-up, ${options.durationSeconds} s measured\n`);
      const warm = await Promise.all(loads.map((l) => generators[l].gen.run(generators[l].job(WARMUP_SECONDS))));
      warm.forEach((r, i) => checkResult(`${phase} warm-up, ${loads[i]}`, loads[i]!, r));
      if (loads.includes('kba')) await drain();
      else await sleep(SETTLE_MS);
      // Both loads of a phase start together and run for the same time.
      const measured = await Promise.all(loads.map((l) => generators[l].gen.run(generators[l].job(options.durationSeconds))));
      if (loads.includes('kba')) singleCheckMs.afterPhases.push(round2(await drain()));
      measured.forEach((r, i) => {
        const load = loads[i]!;
        checkResult(`${phase}, ${load}`, load, r);
        const rateLimited = r.statusCodes['429'] ?? 0;
        const answeredPerSecond = r.completed > 0 ? (r.requestsPerSecond * r.count2xx) / r.completed : 0;
        rows.push({
          phase,
          load,
          path: generators[load].path,
          connections: generators[load].connections,
          ...r,
          answeredPerSecond,
          answeredPerSecondPerCore: answeredPerSecond / cores,
          rateLimited,
          otherNon2xx: r.non2xx - rateLimited,
        });
      });
    }

    const find = (phase: string, load: Load): Row => rows.find((r) => r.phase === phase && r.load === load)!;
    const pollAlone = find('poll alone', 'poll');
    const pollMixed = find('KBA + poll', 'poll');
    const kbaAlone = find('KBA alone', 'kba');
    const kbaMixed = find('KBA + poll', 'kba');
    const comparison = {
      pollP99AloneMs: round2(pollAlone.p99Ms),
      pollP99BesideKbaMs: round2(pollMixed.p99Ms),
      pollP99Factor: pollAlone.p99Ms > 0 ? round2(pollMixed.p99Ms / pollAlone.p99Ms) : 0,
      pollP50AloneMs: round2(pollAlone.p50Ms),
      pollP50BesideKbaMs: round2(pollMixed.p50Ms),
      pollRequestsPerSecondFactor: pollAlone.answeredPerSecond > 0 ? round2(pollMixed.answeredPerSecond / pollAlone.answeredPerSecond) : 0,
      kbaRequestsPerSecondAlone: round2(kbaAlone.answeredPerSecond),
      kbaRequestsPerSecondBesidePoll: round2(kbaMixed.answeredPerSecond),
    };

    const environment = {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      availableParallelism: cores,
      platform: `${process.platform} ${process.arch}`,
      loadAverage1m: { before: round2(loadBefore), after: round2(loadavg()[0] ?? 0) },
    };
    const settings = {
      store: service.storeKind,
      durationSeconds: options.durationSeconds,
      warmupSeconds: WARMUP_SECONDS,
      kbaConnections: options.connections,
      pollConnections: options.pollConnections,
      load: 'autocannon in two worker threads (KBA, poll); the service on the main thread',
    };

    console.log(formatRows(rows));
    console.log('req/s counts 2xx answers (successful checks, polls answered); 429s are counted apart, not in req/s');
    console.log('');
    console.log(
      `poll beside KBA: p99 ${comparison.pollP99BesideKbaMs} ms vs ${comparison.pollP99AloneMs} ms alone (x${comparison.pollP99Factor}), ` +
        `p50 ${comparison.pollP50BesideKbaMs} vs ${comparison.pollP50AloneMs} ms, req/s x${comparison.pollRequestsPerSecondFactor}; ` +
        `KBA ${comparison.kbaRequestsPerSecondBesidePoll} req/s beside poll vs ${comparison.kbaRequestsPerSecondAlone} alone`,
    );
    console.log(
      `hashing: argon2id m=${hashing.memoryKib} KiB t=${hashing.timeCost} p=${hashing.parallelism}, ${hashing.verificationsPerCheck} verifications per check; ` +
        `at most ${hashing.maxConcurrentHashes} hashes at once (${hashing.maxConcurrentHashesIsDefault ? 'default: cores - 1' : 'MFA_KBA_MAX_CONCURRENT_HASHES'}), ` +
        `${hashing.maxQueuedHashes} queued, libuv thread pool ${hashing.libuvThreadPool}`,
    );
    if (hashing.maxConcurrentHashes > threadPool) {
      console.log(`  (the thread pool runs at most ${threadPool} at once: the limit above ${threadPool} is not reached)`);
    }
    console.log(
      `one check alone: ${singleCheckMs.before} ms before the runs, ${singleCheckMs.afterPhases.join(' / ')} ms after each KBA phase (each also waits for the queue left behind)`,
    );
    console.log(
      `node ${environment.node}, ${environment.cpu}, ${environment.cores} cores (available parallelism ${environment.availableParallelism}), ${environment.platform}, ` +
        `1-min load ${environment.loadAverage1m.before} before / ${environment.loadAverage1m.after} after`,
    );
    console.log(
      `store ${settings.store}, ${settings.durationSeconds} s per phase after ${settings.warmupSeconds} s warm-up, ` +
        `${settings.kbaConnections} KBA / ${settings.pollConnections} poll connections, ${settings.load}`,
    );
    const kbaRows = rows.filter((r) => r.load === 'kba');
    console.log(`KBA answers SUCCESS: ${kbaRows.map((r) => `${r.phase} ${r.bodyMatched ?? 0}/${(r.bodyMatched ?? 0) + (r.bodyMismatched ?? 0)}`).join(', ')}`);
    if (problems.length > 0) {
      console.log('');
      console.log(`INVALID RUN (${problems.length} problem(s)); the figures above do not measure what they claim:`);
      for (const p of problems) console.log(`  - ${p}`);
      process.exitCode = 1;
    }

    const suffix = HASH_VARIABLES.filter(({ name }) => name in fromEnv)
      .map(({ tag, value }) => `-${tag}${value(kbaConfig)}`)
      .join('');
    const fileName = `kba-${service.storeKind}${suffix}.json`;
    const resultsDir = new URL('./results/', import.meta.url);
    await mkdir(resultsDir, { recursive: true });
    const report = {
      benchmark: 'kba',
      date: new Date().toISOString(),
      valid: problems.length === 0,
      problems,
      environment,
      settings,
      hashing,
      singleCheckMs,
      comparison,
      results: rows,
    };
    await writeFile(new URL(fileName, resultsDir), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to bench/results/${fileName}`);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup failed:', err));
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exitCode = 1;
});

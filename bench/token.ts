// Load benchmark of the token method against a bare Fastify route, in one run: the real service (embedded
// SQLite, or PostgreSQL with --database-url) and a bare app both listen in this thread, while autocannon
// drives them from a worker thread. Figures are ratios to the bare route within the run, not absolutes.
import Fastify, { type FastifyInstance } from 'fastify';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  DELIVERY_TYPE,
  databaseUrlOption,
  formatTable as formatCells,
  LoadGenerator,
  positive,
  round2,
  scratchSpace,
  sleep,
  startService,
  USER_ALIAS,
} from './common.js';
import type { BodySpec, LoadJob, LoadResult } from './load-worker.js';

const WARMUP_SECONDS = 2;
/** Time for requests still in flight when autocannon stops to reach the database before it is read. */
const SETTLE_MS = 300;

interface Options {
  readonly durationSeconds: number;
  readonly connections: number;
  readonly databaseUrl: string | undefined;
}

interface RouteResult extends LoadResult {
  readonly route: string;
  readonly path: string;
  readonly ratioToBare: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '10' },
      'database-url': { type: 'string' },
    },
    strict: true,
  });
  const databaseUrl = databaseUrlOption(values['database-url']);
  return {
    durationSeconds: positive('duration', values.duration),
    connections: positive('connections', values.connections),
    databaseUrl,
  };
}

/** The baseline: Fastify with no plugins and no logger, one route that parses JSON and answers. */
async function startBare(): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const app = Fastify({ logger: false });
  app.post('/bare', async () => ({ status: 'PENDING' }));
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, baseUrl };
}

function formatTable(rows: readonly RouteResult[]): string {
  const header = ['route', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'non-2xx', 'errors'];
  const lines = rows.map((r) => [
    r.route,
    r.requestsPerSecond.toFixed(0),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.ratioToBare.toFixed(3),
    String(r.non2xx),
    String(r.errors + r.timeouts),
  ]);
  return formatCells(header, lines);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  // Other work on the machine moves the figures between routes; the load average says how much there was.
  const loadBefore = loadavg()[0] ?? 0;
  const { dataDir, schema, cleanups } = await scratchSpace(options.databaseUrl);
  try {
    const service = await startService(options.databaseUrl, dataDir, schema);
    cleanups.unshift(() => service.runtime.close());
    const bare = await startBare();
    cleanups.unshift(() => bare.app.close());
    const load = new LoadGenerator();
    cleanups.unshift(() => load.close());

    const authHeader = { authorization: `Bearer ${service.accessToken}` };
    const guesses = (sequence: string): BodySpec => ({
      kind: 'guesses',
      sequence,
      excluded: service.realToken,
      userAlias: USER_ALIAS,
      deliveryType: DELIVERY_TYPE,
    });
    // The bare route gets the same headers and the same per-request body as authenticate, so the client
    // does the same work for both.
    const routes: Array<{ route: string; path: string; url: string; body: BodySpec }> = [
      { route: 'bare', path: 'POST /bare', url: `${bare.baseUrl}/bare`, body: guesses('bare') },
      { route: 'authenticate (wrong token)', path: 'POST /v3/mfa/token/authenticate', url: `${service.baseUrl}/v3/mfa/token/authenticate`, body: guesses('authenticate') },
      { route: 'poll', path: 'POST /v3/mfa/token/poll', url: `${service.baseUrl}/v3/mfa/token/poll`, body: { kind: 'fixed', json: { requestId: service.requestId } } },
    ];

    const attempts = async (): Promise<number> => (await service.runtime.store.findVerification(service.requestId))?.attempts ?? -1;
    const problems: string[] = [];
    const measured: LoadResult[] = [];
    let fullPathChecks: Record<string, unknown> = {};
    for (const r of routes) {
      const job = (durationSeconds: number): LoadJob => ({ url: r.url, headers: authHeader, body: r.body, durationSeconds, connections: options.connections });
      process.stderr.write(`${r.path}: ${WARMUP_SECONDS} s warm-up, ${options.durationSeconds} s measured\n`);
      const warm = await load.run(job(WARMUP_SECONDS));
      if (warm.non2xx + warm.errors + warm.timeouts > 0) problems.push(`${r.route} warm-up: ${warm.non2xx} non-2xx, ${warm.errors} errors, ${warm.timeouts} timeouts (${JSON.stringify(warm.statusCodes)})`);
      await sleep(SETTLE_MS);
      const attemptsBefore = await attempts();
      const result = await load.run(job(options.durationSeconds));
      await sleep(SETTLE_MS);
      measured.push(result);
      if (result.non2xx + result.errors + result.timeouts > 0) {
        problems.push(`${r.route}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts (${JSON.stringify(result.statusCodes)})`);
      }
      if (r.route.startsWith('authenticate')) {
        // Every answered guess must have used a try: fewer means some took a shorter path (a repeated
        // guess, a lockout, a finished verification) and the figure does not measure the wrong-token path.
        const attemptsUsed = (await attempts()) - attemptsBefore;
        const status = (await service.runtime.store.findVerification(service.requestId))?.status;
        fullPathChecks = { answered2xx: result.count2xx, attemptsUsed, verificationStatus: status, guessesRepeated: result.guessesRepeated ?? false };
        if (attemptsUsed < result.count2xx) problems.push(`authenticate: ${result.count2xx} answers but only ${attemptsUsed} tries used`);
        if (status !== 'PENDING') problems.push(`authenticate: the verification ended as ${status}`);
        if (result.guessesRepeated) problems.push('authenticate: the guess sequence ran out and repeated guesses');
      }
    }

    const bareRate = measured[0]!.requestsPerSecond;
    const rows: RouteResult[] = routes.map((r, i) => ({
      route: r.route,
      path: r.path,
      ...measured[i]!,
      ratioToBare: bareRate > 0 ? measured[i]!.requestsPerSecond / bareRate : 0,
    }));

    const environment = {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      platform: `${process.platform} ${process.arch}`,
      loadAverage1m: { before: round2(loadBefore), after: round2(loadavg()[0] ?? 0) },
    };
    const settings = {
      store: service.storeKind,
      durationSeconds: options.durationSeconds,
      warmupSeconds: WARMUP_SECONDS,
      connections: options.connections,
      load: 'autocannon in a worker thread; both servers on the main thread',
    };

    console.log(formatTable(rows));
    console.log('');
    console.log(
      `node ${environment.node}, ${environment.cpu}, ${environment.cores} cores, ${environment.platform}, 1-min load ${environment.loadAverage1m.before} before / ${environment.loadAverage1m.after} after`,
    );
    console.log(
      `store ${settings.store}, ${settings.durationSeconds} s per route after ${settings.warmupSeconds} s warm-up, ${settings.connections} connections, ${settings.load}`,
    );
    console.log(`authenticate: ${JSON.stringify(fullPathChecks)}`);
    if (problems.length > 0) {
      console.log('');
      console.log(`INVALID RUN (${problems.length} problem(s)); the figures above do not measure what they claim:`);
      for (const p of problems) console.log(`  - ${p}`);
      process.exitCode = 1;
    }

    const resultsDir = new URL('./results/', import.meta.url);
    await mkdir(resultsDir, { recursive: true });
    const resultsFile = new URL(`token-${service.storeKind}.json`, resultsDir);
    const report = { benchmark: 'token', date: new Date().toISOString(), valid: problems.length === 0, problems, environment, settings, authenticate: fullPathChecks, results: rows };
    await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to bench/results/token-${service.storeKind}.json`);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup failed:', err));
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exitCode = 1;
});

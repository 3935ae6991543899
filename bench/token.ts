// Load benchmark of the token method against a bare Fastify route, in one run: the real service (embedded
// SQLite, or PostgreSQL with --database-url) and a bare app both listen in this thread, while autocannon
// drives them from a worker thread. Figures are ratios to the bare route within the run, not absolutes.
import Fastify, { type FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { createClient } from '../src/auth/clients.js';
import { ALL_SCOPES } from '../src/auth/scopes.js';
import { loadConfig } from '../src/config.js';
import { generateId } from '../src/core/secrets.js';
import { readOutbox } from '../src/delivery/outbox.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { isPostgresUrl } from '../src/store/index.js';
import type { BodySpec, LoadJob, LoadResult, WorkerReply, WorkerRequest } from './load-worker.js';

const WARMUP_SECONDS = 2;
const USER_ALIAS = 'bench.user';
const DELIVERY_TYPE = 'EMAIL_WORK';
/** Time for requests still in flight when autocannon stops to reach the database before it is read. */
const SETTLE_MS = 300;

interface Options {
  readonly durationSeconds: number;
  readonly connections: number;
  readonly databaseUrl: string | undefined;
}

type StoreKind = 'sqlite' | 'postgres';

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
  const positive = (name: string, text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`--${name} must be a whole number above 0, got "${text}"`);
    return Number(text);
  };
  const databaseUrl = values['database-url'] ?? (process.env['BENCH_DATABASE_URL'] || undefined);
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) throw new Error('--database-url must be a postgres:// URL');
  return {
    durationSeconds: positive('duration', values.duration),
    connections: positive('connections', values.connections),
    databaseUrl,
  };
}

/** The worker thread running autocannon; one job at a time. */
class LoadGenerator {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();

  constructor() {
    // tsx's --import hooks do not reach worker threads (privatenumber/tsx#354), so the worker registers
    // tsx itself before importing the TypeScript module.
    const api = import.meta.resolve('tsx/esm/api');
    const target = new URL('./load-worker.ts', import.meta.url).href;
    const boot = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); });`;
    this.worker = new Worker(boot, { eval: true });
    this.worker.on('message', (reply: WorkerReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiting.reject(new Error(`load worker: ${reply.error}`));
      else waiting.resolve(reply.result);
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new Error(`load worker exited with code ${code}`)));
  }

  private failAll(err: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(err);
    this.pending.clear();
  }

  run(job: LoadJob): Promise<LoadResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, job } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

interface Service {
  readonly runtime: Runtime;
  readonly baseUrl: string;
  readonly storeKind: StoreKind;
  readonly accessToken: string;
  readonly requestId: string;
  /** The token that was sent, so the wrong-guess sequence can leave it out. */
  readonly realToken: string;
}

async function startService(options: Options, dataDir: string, schema: string | undefined): Promise<Service> {
  const config = loadConfig({
    MFA_DATA_DIR: dataDir,
    MFA_HOST: '127.0.0.1',
    MFA_PORT: '0',
    MFA_PUBLIC_URL: 'http://127.0.0.1',
    MFA_SECRET: randomBytes(32).toString('hex'),
    MFA_EMAIL_TRANSPORT: 'outbox',
    MFA_SMS_TRANSPORT: 'outbox',
    MFA_VOICE_TRANSPORT: 'outbox',
    // Never a lockout, an expiry or a used-up verification: every wrong guess takes the whole path.
    MFA_TOKEN_MAX_ATTEMPTS: '1000000000',
    MFA_TOKEN_MAX_FAILURES_PER_IDENTITY: '1000000000',
    MFA_TOKEN_TTL_SECONDS: '86400',
    ...(options.databaseUrl ? { MFA_DATABASE_URL: options.databaseUrl } : {}),
  });
  const runtime = await createRuntime(config, { logger: false, ...(schema ? { schema } : {}) });
  try {
    const baseUrl = await runtime.app.listen({ host: '127.0.0.1', port: 0 });

    const { clientId, clientSecret } = await createClient(runtime.store, runtime.clock, runtime.randomBytes, 'bench', [ALL_SCOPES]);
    const tokenResponse = await fetch(`${baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    if (tokenResponse.status !== 200) throw new Error(`POST /oauth/token answered ${tokenResponse.status}`);
    const accessToken = ((await tokenResponse.json()) as { access_token: string }).access_token;

    await runtime.store.upsertIdentities(
      [{ alias: USER_ALIAS, status: 'active', attributes: { email: 'bench.user@example.com' } }],
      () => generateId(runtime.randomBytes),
      runtime.clock.now(),
    );

    const sent = await postJson(`${baseUrl}/v3/mfa/token/send`, accessToken, { userAlias: USER_ALIAS, deliveryType: DELIVERY_TYPE });
    const requestId = (sent as { requestId?: unknown; status?: unknown }).requestId;
    if (typeof requestId !== 'string' || (sent as { status?: unknown }).status !== 'SUCCESS') {
      throw new Error(`POST /v3/mfa/token/send answered ${JSON.stringify(sent)}`);
    }
    const message = (await readOutbox(dataDir)).at(-1);
    const realToken = message ? /\b(\d{6})\b/.exec(message.body)?.[1] : undefined;
    if (!realToken) throw new Error('the sent token is not in the outbox');

    const storeKind: StoreKind = options.databaseUrl ? 'postgres' : 'sqlite';
    return { runtime, baseUrl, storeKind, accessToken, requestId, realToken };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

async function postJson(url: string, accessToken: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** The baseline: Fastify with no plugins and no logger, one route that parses JSON and answers. */
async function startBare(): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const app = Fastify({ logger: false });
  app.post('/bare', async () => ({ status: 'PENDING' }));
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, baseUrl };
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await admin.end();
  }
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  // Other work on the machine moves the figures between routes; the load average says how much there was.
  const loadBefore = loadavg()[0] ?? 0;
  const dataDir = await mkdtemp(join(tmpdir(), 'mfa-bench-'));
  const schema = options.databaseUrl ? `bench_${randomBytes(6).toString('hex')}` : undefined;
  const cleanups: Array<() => Promise<void>> = [() => rm(dataDir, { recursive: true, force: true })];
  if (options.databaseUrl && schema) {
    const url = options.databaseUrl;
    cleanups.unshift(() => dropSchema(url, schema));
  }
  try {
    const service = await startService(options, dataDir, schema);
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

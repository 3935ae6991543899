// Every scenario of issue 13 in one run, each against a started process as users run it: the service is
// `node dist/cli/main.js serve` (what `npm start` runs) with its default configuration (log level included;
// only the limits a benchmark must not meet are raised), the baseline a bare Fastify route in a process of
// its own, and on PostgreSQL `pgbench -N` on the same server. One table of figures and ratios at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { URI as OtpauthUri } from 'otpauth';
import pg from 'pg';
import { createClient } from '../src/auth/clients.js';
import { ALL_SCOPES } from '../src/auth/scopes.js';
import { generateId } from '../src/core/secrets.js';
import { readOutbox } from '../src/delivery/outbox.js';
import { driverOf, openStore } from '../src/store/index.js';
import type { Store } from '../src/core/ports.js';
import { clientToken, DELIVERY_TYPE, formatTable, freePort, LoadGenerator, positive, postJson, round2, scratchSpace, sleep, USER_ALIAS } from './common.js';
import type { BodySpec, LoadJob, LoadResult } from './load-worker.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WARMUP_SECONDS = 2;
const SETTLE_MS = 300;
/** Identities the send scenario writes to, each once: more than the sends of a run. */
const SEND_ALIASES = 60_000;
/** Identities the PostgreSQL authenticate load is spread over, each with one sent token. */
const SPREAD_ALIASES = 5_000;
const FIXED_RATE = 1_000;
/** The identity the TOTP scenario enrols an authenticator app for (apart from the token one's, so the lockouts stay apart). */
const TOTP_ALIAS = 'bench.totp';
const PGBENCH_DATABASE = 'bench_pgbench';
const PGBENCH_CLIENTS = 16;

interface Options {
  readonly durationSeconds: number;
  readonly connections: number;
  readonly databaseUrl: string | undefined;
  /** Where the service processes write CPU profiles (node --cpu-prof); absent: no profiling. */
  readonly profileDir: string | undefined;
  /** More flags for the service processes' node (e.g. --perf-basic-prof, for Linux perf). */
  readonly nodeFlags: readonly string[];
  /** Settings that differ from the defaults (`--set NAME=VALUE`), to compare a setting's cost; printed with the table. */
  readonly settings: Readonly<Record<string, string>>;
}

interface Row {
  readonly scenario: string;
  readonly store: 'sqlite' | 'postgres' | '-';
  readonly processes: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  /** The figure divided by its reference (`versus`), taken in this run. */
  readonly ratio: number | undefined;
  readonly versus: string;
  /** Service log lines written per answered request during the measured run. */
  readonly logLinesPerRequest: number | undefined;
  /** CPU microseconds of the server process(es) per answered request during the measured run. */
  readonly cpuUsPerRequest: number | undefined;
  /**
   * CPU microseconds of this benchmark process (the load generator's thread and this one) per answered
   * request: the share of the cores the service did not get.
   */
  readonly loadCpuUsPerRequest: number | undefined;
  readonly non2xx: number;
  readonly errors: number;
  readonly note?: string;
}

/**
 * A child process whose standard output is kept from the last `reset()`. Chunks are kept as they arrive
 * and split into lines only when asked for, as a supervisor appending the output to a file would: the
 * benchmark shares the cores with the service, and parsing while it measures would tax the rows that log.
 */
class Child {
  private chunks: Buffer[] = [];
  private carried = '';
  private stderr = '';

  constructor(readonly process: ChildProcess) {
    process.stdout?.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    process.stderr?.on('data', (chunk: Buffer) => { this.stderr = (this.stderr + chunk.toString()).slice(-4000); });
  }

  /** Forgets the output so far (a line cut in two by the reset counts after it). */
  reset(): void {
    const text = Buffer.concat(this.chunks).toString();
    this.chunks = [];
    this.carried = text.slice(text.lastIndexOf('\n') + 1);
  }

  /** The complete lines written since the last `reset()`. */
  output(): readonly string[] {
    const lines = (this.carried + Buffer.concat(this.chunks).toString()).split('\n');
    lines.pop();
    return lines;
  }

  errorOutput(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = once(this.process, 'exit');
    this.process.kill('SIGTERM');
    await exited;
  }
}


async function waitFor(check: () => Promise<boolean>, child: Child, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${what} exited: ${child.errorOutput()}`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} is not ready: ${child.errorOutput()}`);
    await sleep(100);
  }
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** `pid` and its children (the workers of `serve --workers N`), from /proc. */
function processTree(pid: number): number[] {
  const pids = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.ppid === pid) pids.push(Number(entry));
  }
  return pids;
}

function procStat(pid: number): { ppid: number; cpuTicks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/**
 * CPU milliseconds (user and system) used so far by a process and its children: taken before and after a
 * measured run, the service's own cost per request, which other work on the machine moves far less than
 * the rate. Undefined off Linux.
 */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync('/proc/self/stat')) return undefined;
  let ticks = 0;
  for (const p of processTree(pid)) ticks += procStat(p)?.cpuTicks ?? 0;
  return (ticks * 1000) / TICKS_PER_SECOND;
}

async function startBare(): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = new Child(spawn(process.execPath, ['--import', 'tsx', 'bench/bare-server.ts', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  await waitFor(async () => child.output().includes('listening'), child, 'the bare server');
  return { child, url: `http://127.0.0.1:${port}/bare` };
}

/** The environment of a service process: this one's, less every MFA_* setting, plus the given ones. */
function serviceEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MFA_')) env[key] = value;
  return { ...env, ...settings };
}

interface Service {
  readonly child: Child;
  readonly baseUrl: string;
  readonly store: Store;
  readonly accessToken: string;
}

/**
 * `node dist/cli/main.js serve` on a fresh data directory (and schema), with default settings but for
 * the limits below, an API client with sp:scopes:all and its access token.
 */
async function startService(options: Options, dataDir: string, databaseUrl: string | undefined, workers: number | undefined, profileName: string): Promise<Service> {
  const port = await freePort();
  // One directory per setup; worker processes inherit the flags and write their own files (named by pid).
  const nodeFlags = [...options.nodeFlags, ...(options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(options.profileDir, profileName)] : [])];
  const child = new Child(
    spawn(process.execPath, [...nodeFlags, 'dist/cli/main.js', 'serve', ...(workers === undefined ? [] : ['--workers', String(workers)])], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: serviceEnv({
        ...(databaseUrl ? { MFA_DATABASE_URL: databaseUrl } : {}),
        MFA_DATA_DIR: dataDir,
        MFA_HOST: '127.0.0.1',
        MFA_PORT: String(port),
        MFA_PUBLIC_URL: 'http://127.0.0.1',
        MFA_SECRET: randomBytes(32).toString('hex'),
        // Never a lockout, an expiry, a used-up verification or a rate limit: every request takes the whole path.
        MFA_TOKEN_MAX_ATTEMPTS: '1000000000',
        MFA_TOKEN_MAX_FAILURES_PER_IDENTITY: '1000000000',
        MFA_TOKEN_TTL_SECONDS: '86400',
        MFA_RATE_FAILED_CHECKS_PER_CLIENT: '1000000000',
        MFA_RATE_SENDS_PER_CLIENT: '1000000000',
        // The same for TOTP: wrong codes never reach a lockout, and their count is not restarted by a window's end.
        MFA_TOTP_MAX_FAILURES: '1000000000',
        MFA_TOTP_FAILURE_WINDOW_SECONDS: '86400',
        ...options.settings,
      }),
    }),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor(() => fetch(`${baseUrl}/health/ready`).then((r) => r.status === 200, () => false), child, 'the service');
    const store = openStore(databaseUrl ?? join(dataDir, 'mfa.sqlite'));
    const now = Date.now();
    const client = await createClient(store, { now: () => now }, (n) => randomBytes(n), 'bench', [ALL_SCOPES]);
    const accessToken = await clientToken(baseUrl, client.clientId, client.clientSecret);
    return { child, baseUrl, store, accessToken };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

async function stopService(service: Service): Promise<void> {
  await service.child.stop();
  await service.store.close();
}

async function addIdentities(store: Store, prefix: string, count: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => ({ alias: `${prefix}${i}`, status: 'active' as const, attributes: { email: `${prefix}${i}@example.com` } }));
  for (let at = 0; at < rows.length; at += 5000) {
    await store.upsertIdentities(rows.slice(at, at + 5000), () => generateId((n) => randomBytes(n)), Date.now());
  }
}

/** The 6-digit tokens last sent to `${prefix}0` ... from the outbox, by identity number. */
async function sentTokens(dataDir: string, prefix: string, count: number): Promise<number[]> {
  const tokens = new Array<number>(count).fill(-1);
  for (const entry of await readOutbox(dataDir)) {
    const match = /^(.*)@example\.com$/.exec(entry.to);
    if (!match || !match[1]!.startsWith(prefix)) continue;
    const i = Number(match[1]!.slice(prefix.length));
    const token = /\b(\d{6})\b/.exec(entry.body)?.[1];
    if (token !== undefined && i < count) tokens[i] = Number(token);
  }
  const missing = tokens.filter((t) => t < 0).length;
  if (missing > 0) throw new Error(`${missing} of ${count} sent tokens are not in the outbox`);
  return tokens;
}

/** Sends one token to each of `${prefix}0` ... through the service, 16 at a time. */
async function sendToAll(service: Service, prefix: string, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await postJson(`${service.baseUrl}/v3/mfa/token/send`, service.accessToken, { userAlias: `${prefix}${i}`, deliveryType: DELIVERY_TYPE });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

interface Measured {
  readonly result: LoadResult;
  /** The service's standard output during the measured run. */
  readonly lines: readonly string[];
  /** CPU time of the server process(es) per answered request during the measured run, in microseconds. */
  readonly cpuUsPerRequest: number | undefined;
  readonly loadCpuUsPerRequest: number | undefined;
}

/** A warm-up, then the measured run; the service's output is kept from the measured run only. */
async function measure(load: LoadGenerator, service: Child, label: string, job: (seconds: number) => LoadJob, options: Options, problems: string[], before?: () => Promise<void>): Promise<Measured> {
  process.stderr.write(`${label}: ${WARMUP_SECONDS} s warm-up, ${options.durationSeconds} s measured (service pid ${service.process.pid})\n`);
  const warm = await load.run(job(WARMUP_SECONDS));
  if (warm.non2xx + warm.errors + warm.timeouts > 0) problems.push(`${label} warm-up: ${warm.non2xx} non-2xx, ${warm.errors} errors, ${warm.timeouts} timeouts (${JSON.stringify(warm.statusCodes)})`);
  await sleep(SETTLE_MS);
  await before?.();
  service.reset();
  const cpuBefore = cpuMs(service.process.pid);
  const ownBefore = process.cpuUsage();
  const result = await load.run(job(options.durationSeconds));
  const own = process.cpuUsage(ownBefore);
  const cpuAfter = cpuMs(service.process.pid);
  await sleep(SETTLE_MS);
  if (result.non2xx + result.errors + result.timeouts > 0) problems.push(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts (${JSON.stringify(result.statusCodes)})`);
  if (result.bodyMismatched) problems.push(`${label}: ${result.bodyMismatched} answers without the expected status`);
  if (result.guessesRepeated) problems.push(`${label}: the sequence of guesses or identities ran out and repeated`);
  const cpuUsPerRequest = cpuBefore !== undefined && cpuAfter !== undefined && result.completed > 0 ? ((cpuAfter - cpuBefore) * 1000) / result.completed : undefined;
  const loadCpuUsPerRequest = result.completed > 0 ? (own.user + own.system) / result.completed : undefined;
  return { result, lines: service.output(), cpuUsPerRequest, loadCpuUsPerRequest };
}

const accessLines = (lines: readonly string[]): number => lines.filter((l) => l.includes('"msg":"request completed"')).length;

function row(scenario: string, store: Row['store'], processes: number, m: Measured, reference: { rate: number; name: string } | undefined, note?: string): Row {
  const answered = m.result.completed;
  return {
    scenario,
    store,
    processes,
    requestsPerSecond: m.result.requestsPerSecond,
    p50Ms: m.result.p50Ms,
    p99Ms: m.result.p99Ms,
    ratio: reference && reference.rate > 0 ? m.result.requestsPerSecond / reference.rate : undefined,
    versus: reference?.name ?? '',
    logLinesPerRequest: m.lines.length > 0 && answered > 0 ? m.lines.length / answered : undefined,
    cpuUsPerRequest: m.cpuUsPerRequest,
    loadCpuUsPerRequest: m.loadCpuUsPerRequest,
    non2xx: m.result.non2xx,
    errors: m.result.errors + m.result.timeouts,
    ...(note ? { note } : {}),
  };
}

/**
 * Enrols an authenticator app for TOTP_ALIAS through the API (enrol, then confirm with the code of the
 * current step, computed from the answered secret). Returns every code that would be right in the steps a
 * scenario of `durationSeconds` can reach (its warm-up and a margin included), which the load leaves out,
 * and a reader of the identity's count of wrong TOTP codes.
 */
async function enrolTotp(service: Service, durationSeconds: number): Promise<{ codes: string[]; failures: () => Promise<number> }> {
  const enrolment = (await postJson(`${service.baseUrl}/v3/mfa/totp/enrol`, service.accessToken, { userAlias: TOTP_ALIAS })) as { totpUrl: string };
  const app = OtpauthUri.parse(enrolment.totpUrl);
  if (!('period' in app)) throw new Error('the enrolment did not answer a TOTP key URI');
  const confirmed = (await postJson(`${service.baseUrl}/v3/mfa/totp/confirm`, service.accessToken, { userAlias: TOTP_ALIAS, totpCode: app.generate() })) as { mfaVerified: boolean };
  if (!confirmed.mfaVerified) throw new Error('the TOTP enrolment was not confirmed');
  // The service accepts one step either side by default; two either side of the whole run are left out.
  const periodMs = app.period * 1000;
  const codes: string[] = [];
  const end = Date.now() + (WARMUP_SECONDS + durationSeconds + 60) * 1000;
  for (let at = Date.now() - 2 * periodMs; at <= end + 2 * periodMs; at += periodMs) codes.push(app.generate({ timestamp: at }));
  const db = driverOf(service.store);
  const failures = async (): Promise<number> =>
    Number((await db.get<{ failures: number }>("SELECT failures FROM lockouts WHERE subject = ? AND method = 'totp'", [TOTP_ALIAS]))?.failures ?? 0);
  return { codes, failures };
}

/** Percentiles of the access lines' responseTime (ms): the time each request spent in the service. */
function serviceTimes(lines: readonly string[]): { p99: number; max: number } {
  const times: number[] = [];
  for (const line of lines) {
    if (line.includes('"msg":"request completed"')) times.push((JSON.parse(line) as { responseTime: number }).responseTime);
  }
  times.sort((a, b) => a - b);
  return { p99: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? 0, max: times.at(-1) ?? 0 };
}

/** The SQLite service in one process: authenticate and poll against the bare route, TOTP against token authenticate, the fixed rate, sends. */
async function sqliteScenarios(options: Options, load: LoadGenerator, rows: Row[], problems: string[], shares: Record<string, number>, only: readonly string[] | undefined): Promise<void> {
  const runs = (scenario: string): boolean => only === undefined || only.includes('sqlite') || only.includes(`sqlite-${scenario}`);
  const { dataDir, cleanups } = await scratchSpace(undefined);
  try {
    const bare = await startBare();
    cleanups.unshift(() => bare.child.stop());
    const service = await startService(options, dataDir, undefined, undefined, 'sqlite');
    cleanups.unshift(() => stopService(service));
    await service.store.upsertIdentities(
      [USER_ALIAS, TOTP_ALIAS].map((alias) => ({ alias, status: 'active' as const, attributes: { email: `${alias}@example.com` } })),
      () => generateId((n) => randomBytes(n)),
      Date.now(),
    );
    const sent = (await postJson(`${service.baseUrl}/v3/mfa/token/send`, service.accessToken, { userAlias: USER_ALIAS, deliveryType: DELIVERY_TYPE })) as { requestId: string };
    const realToken = /\b(\d{6})\b/.exec((await readOutbox(dataDir)).at(-1)?.body ?? '')?.[1];
    if (!realToken) throw new Error('the sent token is not in the outbox');

    const headers = { authorization: `Bearer ${service.accessToken}` };
    const guesses = (sequence: string): BodySpec => ({ kind: 'guesses', sequence, excluded: realToken, userAlias: USER_ALIAS, deliveryType: DELIVERY_TYPE });
    const job = (url: string, body: BodySpec, extra: Partial<LoadJob> = {}) => (durationSeconds: number): LoadJob => ({ url, headers, body, durationSeconds, connections: options.connections, ...extra });
    const attempts = async (): Promise<number> => (await service.store.findVerification(sent.requestId))?.attempts ?? -1;
    const checkTries = async (label: string, before: number, result: LoadResult): Promise<void> => {
      const used = (await attempts()) - before;
      if (used < result.count2xx) problems.push(`${label}: ${result.count2xx} answers but only ${used} tries used`);
    };

    const bareRun = await measure(load, bare.child, 'bare route', job(bare.url, guesses('bare')), options, problems);
    const bareRef = { rate: bareRun.result.requestsPerSecond, name: 'bare' };
    rows.push(row('bare Fastify route (own process)', '-', 1, bareRun, undefined));

    let before = 0;
    let tokenAuthenticate: { rate: number; name: string } | undefined;
    if (runs('authenticate')) {
      const auth = await measure(load, service.child, 'authenticate', job(`${service.baseUrl}/v3/mfa/token/authenticate`, guesses('authenticate')), options, problems, async () => void (before = await attempts()));
      await checkTries('authenticate', before, auth.result);
      rows.push(row('token authenticate (wrong token)', 'sqlite', 1, auth, bareRef, 'goal >= 0.5'));
      tokenAuthenticate = { rate: auth.result.requestsPerSecond, name: 'token authenticate' };
    }

    if (runs('totp')) {
      const { codes, failures } = await enrolTotp(service, options.durationSeconds);
      const totpJob = job(`${service.baseUrl}/v3/mfa/totp/authenticate`, { kind: 'totp-guesses', sequence: 'totp', excluded: codes, userAlias: TOTP_ALIAS }, { expectInBody: '"status":"FAILED"' });
      const totp = await measure(load, service.child, 'totp authenticate', totpJob, options, problems, async () => void (before = await failures()));
      const counted = (await failures()) - before;
      if (counted < totp.result.count2xx) problems.push(`totp authenticate: ${totp.result.count2xx} answers but only ${counted} failures counted`);
      rows.push(row('TOTP authenticate (wrong code)', 'sqlite', 1, totp, tokenAuthenticate, 'goal >= 0.9'));
    }

    if (runs('poll')) {
      const poll = await measure(load, service.child, 'poll', job(`${service.baseUrl}/v3/mfa/token/poll`, { kind: 'fixed', json: { requestId: sent.requestId } }, { expectInBody: '"status":"PENDING"' }), options, problems);
      rows.push(row('token poll', 'sqlite', 1, poll, bareRef, 'goal >= 0.7'));
    }

    if (runs('fixed-rate')) {
      // The same rate against the bare route: the tail this machine adds to any server.
      const bareFixed = await measure(load, bare.child, 'bare route at a fixed rate', job(bare.url, guesses('bare'), { overallRate: FIXED_RATE, connections: 10 }), options, problems);
      rows.push(row(`bare route at ${FIXED_RATE} req/s, 10 connections`, '-', 1, bareFixed, undefined));
      const fixed = await measure(load, service.child, 'authenticate at a fixed rate', job(`${service.baseUrl}/v3/mfa/token/authenticate`, guesses('authenticate'), { overallRate: FIXED_RATE, connections: 10 }), options, problems, async () => void (before = await attempts()));
      await checkTries('authenticate at a fixed rate', before, fixed.result);
      // The service's own time per request (Fastify's responseTime in the access line): a tail the load
      // generator sees but the service does not was spent outside it (scheduling, the generator itself).
      const served = serviceTimes(fixed.lines);
      rows.push(row(`token authenticate at ${FIXED_RATE} req/s, 10 connections`, 'sqlite', 1, fixed, undefined, `goal p99 < 5 ms; in the service p99 ${served.p99.toFixed(2)} ms, max ${served.max.toFixed(1)}`));
    }

    if (!runs('send')) return;
    await addIdentities(service.store, 'send.', SEND_ALIASES);

    const sends = await measure(
      load,
      service.child,
      'send',
      job(`${service.baseUrl}/v3/mfa/token/send`, { kind: 'sends', sequence: 'send', aliasPrefix: 'send.', count: SEND_ALIASES, deliveryType: DELIVERY_TYPE }, { expectInBody: '"status":"SUCCESS"' }),
      options,
      problems,
    );
    // The share of the send requests' time spent delivering, from the service's own log lines: the
    // transport's durationMs of each message against the access line's responseTime of each send.
    let deliveryMs = 0;
    let delivered = 0;
    let requestMs = 0;
    for (const line of sends.lines) {
      if (line.includes('"msg":"message delivered"')) {
        deliveryMs += (JSON.parse(line) as { durationMs: number }).durationMs;
        delivered++;
      } else if (line.includes('"msg":"request completed"') && line.includes('/token/send')) {
        requestMs += (JSON.parse(line) as { responseTime: number }).responseTime;
      }
    }
    if (delivered < sends.result.count2xx) problems.push(`send: ${sends.result.count2xx} answers but ${delivered} messages delivered`);
    const share = requestMs > 0 ? deliveryMs / requestMs : 0;
    shares['sqlite send'] = share;
    const sendRow = row('token send to the outbox', 'sqlite', 1, sends, undefined, `delivery ${(share * 100).toFixed(0)} % of request time`);
    // The send scenario writes two lines per request: the access line and the transport's "message delivered".
    rows.push({ ...sendRow, logLinesPerRequest: sends.result.completed > 0 ? accessLines(sends.lines) / sends.result.completed : undefined });
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup failed:', err));
  }
}

function pgbenchPath(): string {
  const onPath = spawnSync('pgbench', ['--version']);
  if (onPath.status === 0) return 'pgbench';
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const path = join(root, version, 'bin', 'pgbench');
    if (existsSync(path)) return path;
  }
  throw new Error('pgbench is neither on PATH nor in /usr/lib/postgresql/*/bin');
}

/** `pgbench -N` with 16 clients on its own database of the same server (created and initialised once). */
async function runPgbench(databaseUrl: string, seconds: number): Promise<number> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [PGBENCH_DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${PGBENCH_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${PGBENCH_DATABASE}`;
  url.search = '';
  const bench = new pg.Client({ connectionString: url.toString() });
  await bench.connect();
  const initialised = (await bench.query("SELECT 1 FROM pg_tables WHERE tablename = 'pgbench_accounts'")).rowCount! > 0;
  await bench.end();
  const binary = pgbenchPath();
  if (!initialised) {
    const init = spawnSync(binary, ['-i', '-q', '-s', '1', url.toString()], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
  }
  process.stderr.write(`pgbench -N: ${seconds} s, ${PGBENCH_CLIENTS} clients\n`);
  const child = spawn(binary, ['-n', '-N', '-c', String(PGBENCH_CLIENTS), '-j', '2', '-T', String(seconds), url.toString()], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1];
  if (code !== 0 || tps === undefined) throw new Error(`pgbench failed: ${out}`);
  return Number(tps);
}

/** Wrong-token authenticate over SPREAD_ALIASES identities, on PostgreSQL with `serve --workers N`. */
async function postgresScenario(options: Options, databaseUrl: string, workers: number, load: LoadGenerator, problems: string[]): Promise<Measured> {
  const { dataDir, schema, cleanups } = await scratchSpace(databaseUrl);
  try {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.end();
    const withSchema = new URL(databaseUrl);
    withSchema.searchParams.set('options', `-c search_path=${schema}`);
    const url = withSchema.toString();
    const service = await startService(options, dataDir, url, workers, `postgres-w${workers}`);
    cleanups.unshift(() => stopService(service));
    await addIdentities(service.store, 'pg.', SPREAD_ALIASES);
    await sendToAll(service, 'pg.', SPREAD_ALIASES);
    const excluded = await sentTokens(dataDir, 'pg.', SPREAD_ALIASES);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    cleanups.unshift(() => db.end());
    const tries = async (): Promise<number> => Number((await db.query<{ n: string }>('SELECT COALESCE(SUM(attempts), 0) AS n FROM verifications')).rows[0]!.n);
    let before = 0;
    const label = `postgres, --workers ${workers}`;
    const m = await measure(
      load,
      service.child,
      label,
      (durationSeconds) => ({
        url: `${service.baseUrl}/v3/mfa/token/authenticate`,
        headers: { authorization: `Bearer ${service.accessToken}` },
        body: { kind: 'spread-guesses', aliasPrefix: 'pg.', excluded, deliveryType: DELIVERY_TYPE },
        durationSeconds,
        connections: options.connections,
      }),
      options,
      problems,
      async () => void (before = await tries()),
    );
    const used = (await tries()) - before;
    if (used < m.result.count2xx) problems.push(`${label}: ${m.result.count2xx} answers but only ${used} tries used`);
    const ended = Number((await db.query<{ n: string }>("SELECT COUNT(*) AS n FROM verifications WHERE status <> 'PENDING'")).rows[0]!.n);
    if (ended > 0) problems.push(`${label}: ${ended} verifications ended`);
    return m;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup failed:', err));
  }
}

const fixed = (value: number | undefined, digits: number): string => (value === undefined ? '-' : value.toFixed(digits));

/** `NAME=VALUE` of `--set`: an MFA_* setting. */
function setting(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at < 1 || !text.startsWith('MFA_')) throw new Error(`--set takes MFA_NAME=VALUE, not ${JSON.stringify(text)}`);
  return [text.slice(0, at), text.slice(at + 1)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      duration: { type: 'string', default: '5' },
      connections: { type: 'string', default: '32' },
      'database-url': { type: 'string' },
      profile: { type: 'string' },
      only: { type: 'string' },
      workers: { type: 'string', default: '1,2,4' },
      'node-flags': { type: 'string', default: '' },
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  const options: Options = {
    durationSeconds: positive('duration', values.duration),
    connections: positive('connections', values.connections),
    databaseUrl: values['database-url'] ?? (process.env['BENCH_DATABASE_URL'] || process.env['MFA_TEST_DATABASE_URL'] || undefined),
    profileDir: values.profile,
    nodeFlags: values['node-flags'].split(' ').filter(Boolean),
    settings: Object.fromEntries(values.set.map(setting)),
  };
  if (options.profileDir) await mkdir(options.profileDir, { recursive: true });
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm run bench:all does)');
  if (!options.databaseUrl) console.log('no --database-url (or BENCH_DATABASE_URL / MFA_TEST_DATABASE_URL): PostgreSQL rows and pgbench skipped');

  const loadBefore = loadavg()[0] ?? 0;
  const load = new LoadGenerator();
  const rows: Row[] = [];
  const problems: string[] = [];
  const shares: Record<string, number> = {};
  // --only takes a comma-separated list, e.g. sqlite-authenticate,sqlite-totp.
  const only = values.only?.split(',').filter(Boolean);
  try {
    if (only === undefined || only.some((o) => o.startsWith('sqlite'))) await sqliteScenarios(options, load, rows, problems, shares, only);
    if (options.databaseUrl && (only === undefined || only.includes('postgres'))) {
      const tps = await runPgbench(options.databaseUrl, options.durationSeconds);
      const pgbenchRef = { rate: tps, name: 'pgbench -N' };
      rows.push({ scenario: `pgbench -N, ${PGBENCH_CLIENTS} clients (tps)`, store: 'postgres', processes: 1, requestsPerSecond: tps, p50Ms: undefined, p99Ms: undefined, ratio: undefined, versus: '', logLinesPerRequest: undefined, cpuUsPerRequest: undefined, loadCpuUsPerRequest: undefined, non2xx: 0, errors: 0 });
      let one: number | undefined;
      for (const workers of values.workers.split(',').map((w) => positive('workers', w))) {
        const m = await postgresScenario(options, options.databaseUrl, workers, load, problems);
        one ??= m.result.requestsPerSecond;
        const r = row(`authenticate over ${SPREAD_ALIASES} aliases, --workers ${workers}`, 'postgres', workers, m, pgbenchRef, workers === 1 ? 'goal >= 1.0' : `${(m.result.requestsPerSecond / one).toFixed(2)} x workers 1`);
        rows.push(r);
      }
    }
  } finally {
    await load.close();
  }

  console.log(
    formatTable(
      ['scenario', 'store', 'procs', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'vs', 'log lines/req', 'CPU µs/req', 'load µs/req', 'non-2xx', 'errors', 'note'],
      rows.map((r) => [
        r.scenario,
        r.store,
        String(r.processes),
        r.requestsPerSecond.toFixed(0),
        fixed(r.p50Ms, 2),
        fixed(r.p99Ms, 2),
        fixed(r.ratio, 2),
        r.versus,
        fixed(r.logLinesPerRequest, 2),
        fixed(r.cpuUsPerRequest, 0),
        fixed(r.loadCpuUsPerRequest, 0),
        String(r.non2xx),
        String(r.errors),
        r.note ?? '',
      ]),
    ),
  );
  const environment = {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadAverage1m: { before: round2(loadBefore), after: round2(loadavg()[0] ?? 0) },
  };
  console.log('');
  console.log(`node ${environment.node}, ${environment.cpu}, ${environment.cores} cores, 1-min load ${environment.loadAverage1m.before} before / ${environment.loadAverage1m.after} after`);
  console.log(`${options.durationSeconds} s per scenario after ${WARMUP_SECONDS} s warm-up, ${options.connections} connections unless stated; autocannon in a worker thread of the bench process`);
  const changed = Object.entries(options.settings).map(([name, value]) => `${name}=${value}`);
  if (changed.length > 0) console.log(`NOT the default configuration: ${changed.join(' ')}`);
  if (options.profileDir) console.log(`CPU profiles of the service processes in ${options.profileDir}/: ${(await readdir(options.profileDir)).join(', ')}`);
  if (problems.length > 0) {
    console.log(`\nINVALID RUN (${problems.length} problem(s)):`);
    for (const p of problems) console.log(`  - ${p}`);
    process.exitCode = 1;
  }
  const resultsDir = new URL('./results/', import.meta.url);
  await mkdir(resultsDir, { recursive: true });
  const report = { benchmark: 'all', date: new Date().toISOString(), valid: problems.length === 0, problems, environment, durationSeconds: options.durationSeconds, connections: options.connections, settings: options.settings, deliveryShare: shares, results: rows };
  await writeFile(new URL('all.json', resultsDir), `${JSON.stringify(report, null, 2)}\n`);
  console.log('results written to bench/results/all.json');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exitCode = 1;
});

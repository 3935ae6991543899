// Throughput of token authentication (wrong tokens, every guess distinct, as in bench/token.ts) by the real
// `mfa-controller serve` command: on PostgreSQL with 1, 2 and 4 worker processes (`serve --workers N`),
// beside SQLite in one process, in one run. autocannon drives each setup from a worker thread of this process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createClient } from '../src/auth/clients.js';
import { ALL_SCOPES } from '../src/auth/scopes.js';
import { generateId } from '../src/core/secrets.js';
import { readOutbox } from '../src/delivery/outbox.js';
import { openStore } from '../src/store/index.js';
import { clientToken, DELIVERY_TYPE, formatTable, freePort, LoadGenerator, positive, postJson, round2, scratchSpace, sleep, USER_ALIAS } from './common.js';
import type { LoadResult } from './load-worker.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WARMUP_SECONDS = 2;
const SETTLE_MS = 300;

interface Setup {
  readonly label: string;
  readonly store: 'sqlite' | 'postgres';
  /** undefined: plain `serve`, one process; N: `serve --workers N`. */
  readonly workers: number | undefined;
}

interface Row extends LoadResult {
  readonly setup: string;
  readonly processes: number;
  readonly attemptsUsed: number;
}


async function waitReady(baseUrl: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited: ${output()}`);
    const status = await fetch(`${baseUrl}/health/ready`).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`the service is not ready: ${output()}`);
    await sleep(200);
  }
}

async function measure(setup: Setup, databaseUrl: string | undefined, load: LoadGenerator, durationSeconds: number, connections: number): Promise<Row> {
  const { dataDir, schema, cleanups } = await scratchSpace(setup.store === 'postgres' ? databaseUrl : undefined);
  try {
    let url = join(dataDir, 'mfa.sqlite');
    if (setup.store === 'postgres') {
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`CREATE SCHEMA "${schema}"`);
      await admin.end();
      const withSchema = new URL(databaseUrl!);
      withSchema.searchParams.set('options', `-c search_path=${schema}`);
      url = withSchema.toString();
    }
    const port = await freePort();
    const args = ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...(setup.workers === undefined ? [] : ['--workers', String(setup.workers)])];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        MFA_DATABASE_URL: url,
        MFA_DATA_DIR: dataDir,
        MFA_HOST: '127.0.0.1',
        MFA_PORT: String(port),
        MFA_PUBLIC_URL: 'http://127.0.0.1',
        MFA_SECRET: randomBytes(32).toString('hex'),
        MFA_LOG_LEVEL: 'warn',
        // Never a lockout, an expiry or a used-up verification: every wrong guess takes the whole path.
        MFA_TOKEN_MAX_ATTEMPTS: '1000000000',
        MFA_TOKEN_MAX_FAILURES_PER_IDENTITY: '1000000000',
        MFA_TOKEN_TTL_SECONDS: '86400',
      },
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    cleanups.unshift(async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitReady(baseUrl, child, () => stderr);

    // Client and identity straight into the database, as the CLI would; the token is sent through the service.
    const store = openStore(url);
    cleanups.unshift(() => store.close());
    const now = Date.now();
    const client = await createClient(store, { now: () => now }, (n) => randomBytes(n), 'bench', [ALL_SCOPES]);
    await store.upsertIdentities([{ alias: USER_ALIAS, status: 'active', attributes: { email: 'bench.user@example.com' } }], () => generateId((n) => randomBytes(n)), now);
    const accessToken = await clientToken(baseUrl, client.clientId, client.clientSecret);
    const sent = (await postJson(`${baseUrl}/v3/mfa/token/send`, accessToken, { userAlias: USER_ALIAS, deliveryType: DELIVERY_TYPE })) as { requestId: string };
    const realToken = /\b(\d{6})\b/.exec((await readOutbox(dataDir)).at(-1)?.body ?? '')?.[1];
    if (!realToken) throw new Error('the sent token is not in the outbox');

    const job = (seconds: number) => ({
      url: `${baseUrl}/v3/mfa/token/authenticate`,
      headers: { authorization: `Bearer ${accessToken}` },
      body: { kind: 'guesses' as const, sequence: setup.label, excluded: realToken, userAlias: USER_ALIAS, deliveryType: DELIVERY_TYPE },
      durationSeconds: seconds,
      connections,
    });
    process.stderr.write(`${setup.label}: ${WARMUP_SECONDS} s warm-up, ${durationSeconds} s measured\n`);
    await load.run(job(WARMUP_SECONDS));
    await sleep(SETTLE_MS);
    const before = (await store.findVerification(sent.requestId))?.attempts ?? 0;
    const result = await load.run(job(durationSeconds));
    await sleep(SETTLE_MS);
    const after = await store.findVerification(sent.requestId);
    if (after?.status !== 'PENDING') throw new Error(`${setup.label}: the verification ended as ${after?.status}`);
    return { setup: setup.label, processes: setup.workers ?? 1, ...result, attemptsUsed: (after.attempts ?? 0) - before };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup failed:', err));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '16' }, 'database-url': { type: 'string' } },
  });
  const durationSeconds = positive('duration', values.duration);
  const connections = positive('connections', values.connections);
  const databaseUrl = values['database-url'] ?? (process.env['BENCH_DATABASE_URL'] || process.env['MFA_TEST_DATABASE_URL'] || undefined);
  const setups: Setup[] = [
    { label: 'sqlite, plain serve', store: 'sqlite', workers: undefined },
    ...(databaseUrl ? [1, 2, 4].map((n): Setup => ({ label: `postgres, --workers ${n}`, store: 'postgres', workers: n })) : []),
  ];
  if (!databaseUrl) console.log('no --database-url (or BENCH_DATABASE_URL / MFA_TEST_DATABASE_URL): PostgreSQL rows skipped');

  const loadBefore = loadavg()[0] ?? 0;
  const load = new LoadGenerator();
  const rows: Row[] = [];
  const problems: string[] = [];
  try {
    for (const setup of setups) {
      const row = await measure(setup, databaseUrl, load, durationSeconds, connections);
      rows.push(row);
      if (row.non2xx + row.errors + row.timeouts > 0) problems.push(`${row.setup}: ${row.non2xx} non-2xx, ${row.errors} errors, ${row.timeouts} timeouts (${JSON.stringify(row.statusCodes)})`);
      if (row.attemptsUsed < row.count2xx) problems.push(`${row.setup}: ${row.count2xx} answers but only ${row.attemptsUsed} tries used`);
      if (row.guessesRepeated) problems.push(`${row.setup}: the guess sequence ran out`);
    }
  } finally {
    await load.close();
  }

  const base = rows.find((r) => r.setup.startsWith('postgres, --workers 1'));
  console.log(
    formatTable(
      ['setup', 'processes', 'req/s', 'p50 ms', 'p99 ms', 'vs pg x1', 'non-2xx', 'errors'],
      rows.map((r) => [
        r.setup,
        String(r.processes),
        r.requestsPerSecond.toFixed(0),
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        base && base.requestsPerSecond > 0 ? (r.requestsPerSecond / base.requestsPerSecond).toFixed(2) : '-',
        String(r.non2xx),
        String(r.errors + r.timeouts),
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
  console.log(`${durationSeconds} s per setup after ${WARMUP_SECONDS} s warm-up, ${connections} connections, autocannon in a worker thread of the bench process`);
  if (problems.length > 0) {
    console.log(`\nINVALID RUN (${problems.length} problem(s)):`);
    for (const p of problems) console.log(`  - ${p}`);
    process.exitCode = 1;
  }
  const resultsDir = new URL('./results/', import.meta.url);
  await mkdir(resultsDir, { recursive: true });
  const report = { benchmark: 'processes', date: new Date().toISOString(), valid: problems.length === 0, problems, environment, durationSeconds, connections, results: rows };
  await writeFile(new URL('processes.json', resultsDir), `${JSON.stringify(report, null, 2)}\n`);
  console.log('results written to bench/results/processes.json');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exitCode = 1;
});

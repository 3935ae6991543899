// `serve --workers N`: the primary process forks N workers (node:cluster) that share the listening port,
// restarts one that dies unexpectedly, and on SIGTERM or SIGINT stops them all and exits when they have
// drained. Workers run the ordinary `serve`; every piece of shared state is in the database or Redis
// (docs/operations.md, "Several processes").
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config.js';
import { createLogger } from '../http/app.js';
import { masterSecret, openMigratedStore } from '../runtime.js';
import { isPostgresUrl } from '../store/index.js';
import { MAX_WORKERS } from './cluster-limits.js';

export { MAX_WORKERS };

/** A worker that dies sooner than this after it started died of its start-up; restarts back off. */
const QUICK_DEATH_MS = 5000;
const MAX_RESTART_DELAY_MS = 30_000;
/** Time the primary allows beyond the workers' own grace period before it kills what is left. */
const PRIMARY_MARGIN_MS = 2000;

export function parseWorkers(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_WORKERS) {
    throw new Error(`--workers must be a whole number from 1 to ${MAX_WORKERS}, got "${text}"`);
  }
  return Number(text);
}

/** Runs the primary: resolves never; exits the process when a stop has finished. */
export async function runPrimary(config: Config, workers: number): Promise<void> {
  const log = createLogger({ level: config.logLevel }).child({ component: 'primary' });
  if (!isPostgresUrl(config.databaseUrl) && workers > 1) {
    log.warn(
      { database: config.databaseUrl, workers },
      'several workers share one SQLite file: allowed on one machine (WAL, busy timeout), but writes are serialised by the file lock; use PostgreSQL to scale out',
    );
  }
  // Once, before the workers race for them: the schema and (in development) the generated secret file.
  masterSecret(config);
  const store = await openMigratedStore(config);
  await store.close();

  const startedAt = new Map<Worker, number>();
  let quickDeaths = 0;
  let stopping = false;
  let failedExit = false;

  const fork = (): void => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
  };

  cluster.on('listening', (worker, address) => log.info({ worker: worker.process.pid, port: address.port }, 'worker listening'));
  cluster.on('exit', (worker, code, signal) => {
    const started = startedAt.get(worker) ?? 0;
    startedAt.delete(worker);
    if (stopping) {
      if (code !== 0) failedExit = true;
      if (startedAt.size === 0) {
        log.info({ failedExit }, 'all workers stopped');
        process.exit(failedExit ? 1 : 0);
      }
      return;
    }
    quickDeaths = Date.now() - started < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
    const delayMs = quickDeaths === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (quickDeaths - 1));
    log.error({ worker: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker died unexpectedly; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, delayMs);
  });

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: startedAt.size }, 'stopping workers');
    if (startedAt.size === 0) process.exit(0);
    // Workers drain on their own within MFA_SHUTDOWN_GRACE_MS (and exit 1 if they cannot); the margin
    // covers their start and the database close.
    for (const worker of startedAt.keys()) worker.process.kill('SIGTERM');
    const force = setTimeout(() => {
      log.error({ left: startedAt.size }, 'workers did not stop within the grace period; killing them');
      for (const worker of startedAt.keys()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownGraceMs + PRIMARY_MARGIN_MS);
    force.unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < workers; i++) fork();
  log.info({ workers, host: config.host, port: config.port }, 'primary started');
}

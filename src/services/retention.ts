// Periodic pruning of what no answer depends on any more: verifications some days past their expiry,
// lockout rows whose window and lock have passed, rate counters of past windows, old audit events.
// The store deletes in small batches; on PostgreSQL one process of many does it at a time.
import type { Logger } from 'pino';
import type { Clock, PruneResult, RetentionPolicy, StoreMaintenance } from '../core/ports.js';

const DAY_MS = 86_400_000;

/**
 * Counter rows are dead once their window has passed; every window is at most a day (the rate and Okta
 * push windows are capped at 86400 s by the configuration, Duo's replay window is the response's
 * lifetime, at most an hour, plus an hour). Two days leaves a margin and needs no per-row window.
 */
export const COUNTER_RETENTION_MS = 2 * DAY_MS;

/** Rows per DELETE statement: small enough that no statement holds its locks for long. */
export const PRUNE_BATCH_SIZE = 1000;

export interface RetentionSettings {
  /** 0 turns the schedule off. */
  readonly pruneIntervalSeconds: number;
  readonly verificationDays: number;
  /** 0 keeps audit events forever. */
  readonly auditDays: number;
  /** The longest failure window of any method (token, KBA): lockout rows younger than it still count. */
  readonly longestFailureWindowSeconds: number;
}

/** The instants before which each kind of row goes, at `now`. */
export function retentionPolicy(settings: RetentionSettings, now: number, batchSize = PRUNE_BATCH_SIZE): RetentionPolicy {
  return {
    verificationsExpiredBefore: now - settings.verificationDays * DAY_MS,
    lockoutWindowsStartedBefore: now - settings.longestFailureWindowSeconds * 1000,
    countersStartedBefore: now - COUNTER_RETENTION_MS,
    auditEventsBefore: settings.auditDays === 0 ? null : now - settings.auditDays * DAY_MS,
    now,
    batchSize,
  };
}

export class Pruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly store: Pick<StoreMaintenance, 'prune'>,
    private readonly clock: Clock,
    private readonly settings: RetentionSettings,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
    /** The methods' own prunes (of tables they bring: docs/methods.md), run after the store's with the same policy. */
    private readonly methodPrunes: ReadonlyArray<(policy: RetentionPolicy) => Promise<number>> = [],
  ) {}

  /** Runs every interval, the first time one interval after start (processes starting together do not all prune at once). */
  start(): void {
    if (this.settings.pruneIntervalSeconds === 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        this.start();
      });
    }, this.settings.pruneIntervalSeconds * 1000);
    // Never what keeps the process alive.
    this.timer.unref();
  }

  /** One prune now; undefined when another process was pruning. A failure (database away) is logged, not thrown. */
  async runOnce(): Promise<PruneResult | undefined> {
    const startedAt = Date.now();
    try {
      const policy = retentionPolicy(this.settings, this.clock.now());
      const result = await this.store.prune(policy);
      // Another process is pruning this database now: it does the methods' rows too.
      if (!result) return result;
      let methodRows = 0;
      for (const prune of this.methodPrunes) methodRows += await prune(policy);
      if (Object.values(result).some((n) => n > 0) || methodRows > 0) {
        this.logger.info({ pruned: methodRows > 0 ? { ...result, methodRows } : result, ms: Date.now() - startedAt }, 'pruned expired rows');
      }
      return result;
    } catch (err) {
      this.logger.warn({ err }, 'prune failed; will try again at the next interval');
      return undefined;
    }
  }

  /** Stops the schedule and waits for a prune under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}

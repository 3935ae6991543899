// WAL checkpoints of a SQLite file on a thread of their own. SQLite copies the write-ahead log back into
// the database file once the log holds 1000 pages, inside the commit that crossed the mark, with an fsync:
// on the event loop, about 5 ms every third of a second for a service answering 1000 requests a second,
// which every request arriving meanwhile waits out (bench/README.md). A passive checkpoint from another
// connection does the same work without blocking the writer, and SQLite keeps the two consistent.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the thread checkpoints what the log holds. */
export const CHECKPOINT_INTERVAL_MS = 100;

// Plain JavaScript run with `eval`: the thread needs no loader, whether the service runs from dist/ or src/.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
const timer = setInterval(() => {
  // Busy (another process checkpoints the same file) or failed: the next turn tries again.
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class BackgroundCheckpoints {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private stopping = false;

  /** Starts checkpointing `path`; `onLost` is called if the thread ends before stop() (checkpoint inline again). */
  constructor(path: string, onLost: () => void) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(SOURCE, { eval: true, workerData: { driver, path, intervalMs: CHECKPOINT_INTERVAL_MS } });
    // It never keeps the process alive.
    this.worker.unref();
    this.worker.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        if (!this.stopping) onLost();
        resolve();
      }),
    );
  }

  /** Stops the thread once the checkpoint under way, if any, is done. */
  async stop(): Promise<void> {
    this.stopping = true;
    // Held open until it has ended, so a process closing its store waits for the checkpoint under way.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}

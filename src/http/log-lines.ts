// Log lines gathered into one string before they reach the destination. pino's destination appends each
// line to the text it holds and measures that text again (Buffer.byteLength over up to 16 KiB) on every
// write: about 2 µs an access line, a tenth of a busy service's time on a cheap request. Here a line costs
// an array push; the destination sees one string every LOG_BUFFER_BYTES.
import type { DestinationStream } from 'pino';

/** What this needs of pino's asynchronous destination (sonic-boom). */
export interface LineDestination extends DestinationStream {
  flushSync(): void;
}

/**
 * Largest write that a pipe takes whole (POSIX PIPE_BUF on Linux). Processes writing to one pipe (the
 * workers of `serve --workers N` share the primary's standard output) must keep each write within it:
 * a larger one can be split when the pipe is full, and another process's line lands inside this one's.
 */
export const ATOMIC_WRITE_BYTES = 4096;

export interface LineBatchOptions {
  /** Lines are handed on once they reach this many characters. */
  readonly minChars: number;
  /** Longest a line is held. */
  readonly flushMs: number;
  /** Each write at most ATOMIC_WRITE_BYTES, whole lines only (a longer line goes alone). */
  readonly atomicWrites: boolean;
}

export class LineBatch implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly drainAtExit = () => this.drain();

  constructor(
    private readonly destination: LineDestination,
    private readonly options: LineBatchOptions,
  ) {
    this.timer = setInterval(() => this.drain(), options.flushMs).unref();
    // Before the destination's own exit handler, which then writes out everything it holds.
    process.prependListener('exit', this.drainAtExit);
  }

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= this.options.minChars) this.drain();
  }

  /** Hands what is held to the destination, which writes it without waiting. */
  drain(): void {
    if (this.lines.length === 0) return;
    const lines = this.lines;
    this.lines = [];
    this.chars = 0;
    if (!this.options.atomicWrites) {
      this.destination.write(lines.length === 1 ? lines[0]! : lines.join(''));
      return;
    }
    let chunk: string[] = [];
    let bytes = 0;
    for (const line of lines) {
      const size = Buffer.byteLength(line);
      if (bytes + size > ATOMIC_WRITE_BYTES && chunk.length > 0) {
        this.destination.write(chunk.join(''));
        chunk = [];
        bytes = 0;
      }
      chunk.push(line);
      bytes += size;
    }
    this.destination.write(chunk.join(''));
  }

  /** Writes everything out before returning (pino's `logger.flush`, and at exit). */
  flushSync(): void {
    this.drain();
    this.destination.flushSync();
  }

  flush(): void {
    this.drain();
  }

  close(): void {
    clearInterval(this.timer);
    process.removeListener('exit', this.drainAtExit);
    this.drain();
  }
}

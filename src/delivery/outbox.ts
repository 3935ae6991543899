// The development transport: every message becomes one JSON line in <dataDir>/outbox.jsonl, so a developer
// (or the `outbox` CLI command) can read the token without a mail server or a phone.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Channel } from '../core/model.js';
import { DeliveryError, type Message, type Sender } from '../core/ports.js';

export const OUTBOX_FILE_NAME = 'outbox.jsonl';

export interface OutboxEntry {
  /** ISO 8601 time the message was written. */
  readonly at: string;
  readonly channel: Channel;
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  /** The verification's request id (as the send answered it); absent in entries written before it was kept. */
  readonly requestId?: string;
}

export function outboxPath(dataDir: string): string {
  return join(dataDir, OUTBOX_FILE_NAME);
}

interface PendingLine {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class OutboxSender implements Sender {
  private readonly path: string;
  /** The data directory was made (or found): later sends skip the mkdir unless the directory went away. */
  private directoryMade = false;
  /** Lines of sends that arrived while an append was under way: the next append writes them all. */
  private pending: PendingLine[] = [];
  private appending = false;

  constructor(
    private readonly dataDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.path = outboxPath(dataDir);
  }

  async send(message: Message): Promise<void> {
    const entry: OutboxEntry = {
      at: new Date(this.now()).toISOString(),
      channel: message.channel,
      to: message.to,
      subject: message.subject,
      body: message.body,
      ...(message.requestId === undefined ? {} : { requestId: message.requestId }),
    };
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(entry)}\n`, resolve, reject });
      if (!this.appending) void this.appendPending();
    });
  }

  /**
   * Appends every waiting line, one append at a time: an append is three tasks of libuv's pool (open,
   * write, close), and on a busy service one per message cost each send three wake-ups of a pool thread.
   * A send is answered once its own line is written.
   */
  private async appendPending(): Promise<void> {
    this.appending = true;
    while (this.pending.length > 0) {
      const lines = this.pending;
      this.pending = [];
      try {
        await this.appendAgainIfDirectoryWentAway(lines.map((p) => p.line).join(''));
        for (const p of lines) p.resolve();
      } catch (err) {
        const failure = new DeliveryError(`outbox: cannot write ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
        for (const p of lines) p.reject(failure);
      }
    }
    this.appending = false;
  }

  private async appendAgainIfDirectoryWentAway(text: string): Promise<void> {
    try {
      await this.append(text);
    } catch (err) {
      // The directory was removed while the service ran: make it again, once.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.directoryMade = false;
      await this.append(text);
    }
  }

  /**
   * One appendFile call with complete lines: O_APPEND writes of one buffer do not interleave. The file is
   * opened and closed each time, so a developer who deletes it to start afresh loses nothing written later.
   */
  private async append(text: string): Promise<void> {
    if (!this.directoryMade) {
      // The file holds live tokens: readable by the service's user only. Modes apply on creation only.
      await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      this.directoryMade = true;
    }
    await appendFile(this.path, text, { encoding: 'utf8', mode: 0o600 });
  }

  async close(): Promise<void> {
    // Nothing held open: every append opens and closes the file.
  }
}

/**
 * The outbox entries, oldest first. A missing file is an empty outbox. Lines that are not a complete entry
 * (a write cut short by a crash) are skipped so one bad line does not hide the rest.
 */
export async function readOutbox(dataDir: string): Promise<OutboxEntry[]> {
  let text: string;
  try {
    text = await readFile(outboxPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: OutboxEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = parseEntry(line);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseEntry(line: string): OutboxEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { at, channel, to, subject, body, requestId } = value as Record<string, unknown>;
  if (typeof at !== 'string' || typeof to !== 'string' || typeof subject !== 'string' || typeof body !== 'string') return undefined;
  if (channel !== 'email' && channel !== 'sms' && channel !== 'voice') return undefined;
  return { at, channel, to, subject, body, ...(typeof requestId === 'string' ? { requestId } : {}) };
}

// argon2id hashing of security answers. The work runs on libuv's thread pool, never the event loop, and
// at most `maxConcurrent` hashes run at once so a burst of KBA checks leaves CPU for every other call;
// past `maxQueued` waiting, callers are told to come back (429) rather than queued without end.
import argon2 from 'argon2';
import { rateLimited } from '../core/errors.js';

export interface HashParameters {
  readonly memoryKib: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

export class AnswerHasher {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly params: HashParameters,
    private readonly maxConcurrent: number,
    private readonly maxQueued: number,
  ) {}

  /** Computes the decoy hash now, so the first check of an unknown question costs no more than later ones. */
  async warmUp(): Promise<void> {
    await (this.decoy ??= this.hash('\u0000decoy answer\u0000'));
  }

  hash(normalizedAnswer: string): Promise<string> {
    return this.limited(() =>
      argon2.hash(normalizedAnswer, {
        type: argon2.argon2id,
        memoryCost: this.params.memoryKib,
        timeCost: this.params.timeCost,
        parallelism: this.params.parallelism,
      }),
    );
  }

  /**
   * Compares an answer with a stored hash. Without a stored hash (a question the identity never
   * answered, or an unknown id) it compares with a decoy of the same cost and answers false, so the
   * time taken does not tell the two apart.
   */
  async verify(storedHash: string | undefined, normalizedAnswer: string): Promise<boolean> {
    if (!this.decoy) await this.warmUp();
    const hash = storedHash ?? (await this.decoy!);
    const matches = await this.limited(() => argon2.verify(hash, normalizedAnswer));
    return storedHash !== undefined && matches;
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueued) throw rateLimited(1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter, or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

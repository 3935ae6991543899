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

/** Room claimed in the hasher for a number of verifications, taken before a check's attempt is counted. */
export interface HashReservation {
  /** Compares one answer in a claimed slot (never refused for lack of room); at most as many calls as were claimed. */
  verify(storedHash: string | undefined, normalizedAnswer: string): Promise<boolean>;
  /** Gives back the slots not used; safe to call more than once. */
  release(): void;
}

export class AnswerHasher {
  private running = 0;
  /** Slots claimed by reserve() whose comparison has not been asked for yet. */
  private reserved = 0;
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
    return this.limited(
      () =>
        argon2.hash(normalizedAnswer, {
          type: argon2.argon2id,
          memoryCost: this.params.memoryKib,
          timeCost: this.params.timeCost,
          parallelism: this.params.parallelism,
        }),
      false,
    );
  }

  /**
   * Compares an answer with a stored hash. Without a stored hash (a question the identity never
   * answered, or an unknown id) it compares with a decoy of the same cost and answers false, so the
   * time taken does not tell the two apart.
   */
  verify(storedHash: string | undefined, normalizedAnswer: string): Promise<boolean> {
    return this.compare(storedHash, normalizedAnswer, false);
  }

  /**
   * Claims room (running or queued) for `count` verifications at once, or returns undefined when there is not
   * enough: a check claims its room before its attempt is counted, so a check refused for lack of capacity (429)
   * does not use one of the identity's attempts, and a claimed comparison is never refused half-way.
   */
  reserve(count: number): HashReservation | undefined {
    if (this.running + this.waiting.length + this.reserved + count > this.maxConcurrent + this.maxQueued) return undefined;
    this.reserved += count;
    let left = count;
    return {
      verify: (storedHash, normalizedAnswer) => {
        if (left === 0) throw new Error('more verifications than were reserved');
        left--;
        // No longer merely claimed: counted as taken from here, so a comparison failing before it starts leaks nothing.
        this.reserved--;
        return this.compare(storedHash, normalizedAnswer, true);
      },
      release: () => {
        this.reserved -= left;
        left = 0;
      },
    };
  }

  private async compare(storedHash: string | undefined, normalizedAnswer: string, claimed: boolean): Promise<boolean> {
    if (!this.decoy) await this.warmUp();
    const hash = storedHash ?? (await this.decoy!);
    const matches = await this.limited(() => argon2.verify(hash, normalizedAnswer), claimed);
    return storedHash !== undefined && matches;
  }

  /** Runs `work` in a slot; without a claimed slot, past maxQueued waiting, it is refused (429). */
  private async limited<T>(work: () => Promise<T>, claimed: boolean): Promise<T> {
    if (!claimed && this.running + this.waiting.length + this.reserved >= this.maxConcurrent + this.maxQueued) throw rateLimited(1);
    if (this.running < this.maxConcurrent) {
      this.running++;
    } else {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
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

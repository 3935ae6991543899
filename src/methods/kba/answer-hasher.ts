// argon2id hashing of security answers. The work runs on libuv's thread pool, never the event loop, and
// at most `maxConcurrent` hashes run at once so a burst of KBA checks leaves CPU for every other call;
// past `maxQueued` waiting, callers are told to come back (429) rather than queued without end.
//
// Checks (verifications) and enrolments (hashing new answers) wait in separate lanes, each bounded on its
// own: enrolment work never counts against the room checks are admitted by, so a caller enrolling in a
// loop cannot turn anyone's check into a 429. Enrolments run on at most half the slots (at least one),
// and a free slot goes to a waiting check first, so they delay checks by one hash at most.
import argon2 from 'argon2';
import { rateLimited } from '../../core/errors.js';

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

type Lane = 'check' | 'enrolment';

export class AnswerHasher {
  private checksRunning = 0;
  private enrolmentsRunning = 0;
  /** Check slots claimed by reserve() whose comparison has not been asked for yet. */
  private reserved = 0;
  private readonly checksWaiting: Array<() => void> = [];
  private readonly enrolmentsWaiting: Array<() => void> = [];
  /** Slots enrolment hashing may hold at once. */
  private readonly enrolmentSlots: number;
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly params: HashParameters,
    private readonly maxConcurrent: number,
    private readonly maxQueued: number,
  ) {
    this.enrolmentSlots = Math.max(1, Math.floor(maxConcurrent / 2));
  }

  /** Computes the decoy hash now, so the first check of an unknown question costs no more than later ones. */
  async warmUp(): Promise<void> {
    await (this.decoy ??= this.hash('\u0000decoy answer\u0000'));
  }

  /** Hashes a new answer (enrolment), in the enrolment lane: refused (429) only when that lane is full. */
  hash(normalizedAnswer: string): Promise<string> {
    return this.limited(
      () =>
        argon2.hash(normalizedAnswer, {
          type: argon2.argon2id,
          memoryCost: this.params.memoryKib,
          timeCost: this.params.timeCost,
          parallelism: this.params.parallelism,
        }),
      'enrolment',
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
    if (this.checkLoad() + count > this.maxConcurrent + this.maxQueued) return undefined;
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
    const matches = await this.limited(() => argon2.verify(hash, normalizedAnswer), 'check', claimed);
    return storedHash !== undefined && matches;
  }

  /** Check work running, waiting or claimed: what checks are admitted by. Enrolment work is not in it. */
  private checkLoad(): number {
    return this.checksRunning + this.checksWaiting.length + this.reserved;
  }

  /** Runs `work` in a slot of its lane; without a claimed slot, past its lane's room, it is refused (429). */
  private async limited<T>(work: () => Promise<T>, lane: Lane, claimed: boolean): Promise<T> {
    if (lane === 'check' && !claimed && this.checkLoad() >= this.maxConcurrent + this.maxQueued) throw rateLimited(1);
    if (lane === 'enrolment' && this.enrolmentsRunning + this.enrolmentsWaiting.length >= this.enrolmentSlots + this.maxQueued) throw rateLimited(1);
    await new Promise<void>((resolve) => {
      (lane === 'check' ? this.checksWaiting : this.enrolmentsWaiting).push(resolve);
      this.dispatch();
    });
    try {
      return await work();
    } finally {
      if (lane === 'check') this.checksRunning--;
      else this.enrolmentsRunning--;
      this.dispatch();
    }
  }

  /** Starts waiting work while slots are free: checks first, enrolments within their share of the slots. */
  private dispatch(): void {
    while (this.checksRunning + this.enrolmentsRunning < this.maxConcurrent) {
      const check = this.checksWaiting.shift();
      if (check) {
        this.checksRunning++;
        check();
        continue;
      }
      const enrolment = this.enrolmentsRunning < this.enrolmentSlots ? this.enrolmentsWaiting.shift() : undefined;
      if (!enrolment) return;
      this.enrolmentsRunning++;
      enrolment();
    }
  }
}

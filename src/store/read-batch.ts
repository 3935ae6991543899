// Reads by key, many keys per statement: on PostgreSQL every read is a round trip (a write of a query, a
// read of its answer) however little it returns, and on SQLite a read transaction of its own. Keys asked
// for in one turn of the event loop, or while a read is under way, go in the next statement, so each is
// answered by a statement that began after it was asked, exactly as if it had read alone.

/** Keys one statement reads at most. */
const MAX_KEYS = 64;

interface Waiting<V> {
  readonly resolve: (value: V) => void;
  readonly reject: (err: unknown) => void;
}

export class ReadBatch<V> {
  private readonly waiting = new Map<string, Array<Waiting<V>>>();
  private busy = false;

  /**
   * `readMany` reads distinct keys in one statement and answers each key's value. `turnBetween`: after a
   * statement, the next waits a turn of the event loop, so that a caller that reads again once answered
   * (a queue of its own, as the failed-check limit keeps per client) joins it rather than the one after.
   */
  constructor(
    private readonly readMany: (keys: readonly string[]) => Promise<ReadonlyMap<string, V>>,
    private readonly options: { readonly turnBetween?: boolean } = {},
  ) {}

  read(key: string): Promise<V> {
    return new Promise((resolve, reject) => {
      const same = this.waiting.get(key);
      if (same) same.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
      if (!this.busy) {
        this.busy = true;
        // Once the I/O of this turn has been handled, so that the requests it brought share the statement.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    for (let first = true; this.waiting.size > 0; first = false) {
      if (!first && this.options.turnBetween) await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = [...this.waiting].slice(0, MAX_KEYS);
      for (const [key] of batch) this.waiting.delete(key);
      try {
        const values = await this.readMany(batch.map(([key]) => key));
        for (const [key, readers] of batch) for (const r of readers) r.resolve(values.get(key)!);
      } catch (err) {
        for (const [, readers] of batch) for (const r of readers) r.reject(err);
      }
    }
    this.busy = false;
  }
}

// Defends the batched reads of the PostgreSQL store against stale answers: a key asked for while a read
// is under way must be answered by a statement that began after it was asked (it may have been written
// meanwhile), never by the one already running.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadBatch } from '../../src/store/read-batch.js';

/** A `readMany` whose statements are answered only when the test says, each with the values as they were when it began. */
function heldReads(values: Map<string, number>) {
  const statements: Array<{ keys: readonly string[]; answer: () => void; fail: (err: Error) => void }> = [];
  const readMany = (keys: readonly string[]): Promise<ReadonlyMap<string, number>> => {
    const seen = new Map(keys.map((k) => [k, values.get(k) ?? 0]));
    return new Promise((resolve, reject) => statements.push({ keys, answer: () => resolve(seen), fail: reject }));
  };
  return { statements, readMany };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ReadBatch', () => {
  it('a key asked for during a read waits for the next statement, and sees what was written before it asked', async () => {
    const values = new Map([['a', 1]]);
    const { statements, readMany } = heldReads(values);
    const batch = new ReadBatch(readMany);
    const first = batch.read('a');
    await settle();
    values.set('a', 2);
    const second = batch.read('a');
    await settle();
    assert.equal(statements.length, 1, 'one statement at a time');
    statements[0]!.answer();
    assert.equal(await first, 1);
    await settle();
    assert.deepEqual(statements[1]?.keys, ['a']);
    statements[1]!.answer();
    assert.equal(await second, 2);
  });

  it('keys asked for during a read go together in the next statement, each once, at most 64 to a statement', async () => {
    const values = new Map(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    const { statements, readMany } = heldReads(values);
    const batch = new ReadBatch(readMany);
    const first = batch.read('k0');
    await settle();
    const keys = [...values.keys(), ...values.keys()];
    const answers = Promise.all(keys.map((k) => batch.read(k)));
    await settle();
    statements[0]!.answer();
    await first;
    await settle();
    assert.equal(statements[1]!.keys.length, 64);
    assert.equal(new Set(statements[1]!.keys).size, 64);
    statements[1]!.answer();
    await settle();
    assert.equal(statements[2]!.keys.length, 36);
    statements[2]!.answer();
    assert.deepEqual(await answers, keys.map((k) => values.get(k)));
    assert.equal(statements.length, 3);
  });

  it('a failed statement fails the reads it carried, and the next one goes on', async () => {
    const { statements, readMany } = heldReads(new Map([['b', 7]]));
    const batch = new ReadBatch(readMany);
    const failing = batch.read('a');
    await settle();
    const next = batch.read('b');
    statements[0]!.fail(new Error('connection lost'));
    await assert.rejects(failing, /connection lost/);
    await settle();
    statements[1]!.answer();
    assert.equal(await next, 7);
  });
});

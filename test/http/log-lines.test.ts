// The standard-output logger gathers lines before writing them (src/http/log-lines.ts): none may be lost
// when the process exits with lines still held, and their order must stay as logged.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ATOMIC_WRITE_BYTES, LineBatch, type LineDestination } from '../../src/http/log-lines.js';

const APP = fileURLToPath(new URL('../../src/http/app.ts', import.meta.url));

function recording(): LineDestination & { writes: string[]; syncs: number } {
  const writes: string[] = [];
  return { writes, syncs: 0, write(text: string) { writes.push(text); }, flushSync() { this.syncs++; } };
}

describe('log lines gathered before they are written', () => {
  it('hands the destination one string per LOG_BUFFER_BYTES, lines in order', () => {
    const destination = recording();
    const batch = new LineBatch(destination, { minChars: 100, flushMs: 60_000, atomicWrites: false });
    try {
      for (let i = 0; i < 30; i++) batch.write(`{"n":${i}}\n`);
      assert.ok(destination.writes.length >= 2 && destination.writes.length <= 4, `writes: ${destination.writes.length}`);
      batch.flushSync();
      assert.equal(destination.syncs, 1);
      assert.equal(destination.writes.join(''), Array.from({ length: 30 }, (_, i) => `{"n":${i}}\n`).join(''));
    } finally {
      batch.close();
    }
  });

  it('writes whole lines of at most ATOMIC_WRITE_BYTES each when processes share the output (several workers, one pipe)', () => {
    const destination = recording();
    const batch = new LineBatch(destination, { minChars: 64 * 1024, flushMs: 60_000, atomicWrites: true });
    try {
      // Lines of varied length, some with characters of two and three bytes in UTF-8, and one longer than a write.
      const lines = Array.from({ length: 400 }, (_, i) => `{"n":${i},"url":"/${'é'.repeat(i % 50)}${'€'.repeat(i % 7)}${'x'.repeat((i * 37) % 300)}"}\n`);
      lines.splice(200, 0, `{"long":"${'y'.repeat(ATOMIC_WRITE_BYTES + 500)}"}\n`);
      for (const line of lines) batch.write(line);
      batch.flushSync();
      assert.equal(destination.writes.join(''), lines.join(''));
      for (const text of destination.writes) {
        assert.ok(text.endsWith('\n'), 'a write ends inside a line');
        const whole = text.includes('"long"');
        if (!whole) assert.ok(Buffer.byteLength(text) <= ATOMIC_WRITE_BYTES, `a write of ${Buffer.byteLength(text)} bytes`);
        else assert.equal(text.split('\n').length, 2, 'the long line is written alone');
      }
      assert.ok(destination.writes.length > 10);
    } finally {
      batch.close();
    }
  });

  it('writes lines still held when the process exits (process.exit right after logging)', () => {
    // A child process logs through the service's own logger, then exits at once: no timer has run.
    const script = `
      const { createLogger } = await import(${JSON.stringify(APP)});
      const log = createLogger({ level: 'info' });
      for (let i = 0; i < 5; i++) log.info({ n: i }, 'held line');
      process.exit(0);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(child.status, 0, child.stderr);
    const numbers = child.stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { n: number }).n);
    assert.deepEqual(numbers, [0, 1, 2, 3, 4]);
  });
});

// Waiting on other processes. Starting a Node child with tsx takes a second on an idle machine and can take
// tens of seconds on a loaded 2-core one running several test files: tests wait for a condition and give up
// only at a generous deadline, so a slow machine is slow, not failing.

/** How long a test waits for a child process (or a server it starts) before calling it stuck. */
export const CHILD_DEADLINE_MS = 120_000;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Repeats `probe` until it resolves true (a rejection counts as false), or fails naming `what` at the deadline. */
export async function eventually(what: string, probe: () => Promise<boolean>, deadlineMs = CHILD_DEADLINE_MS, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await sleep(intervalMs);
  }
}

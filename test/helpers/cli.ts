// Runs the command line as a child process, as an operator would, from the sources (no build needed).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHILD_DEADLINE_MS } from './wait.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a CLI child: this process's, less any MFA_* setting and the test runner's own. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MFA_') && key !== 'NODE_TEST_CONTEXT'));
  return { ...base, ...env };
}

/** Runs the CLI to its end; a run still going at the deadline is killed and reported as stuck. */
export function cli(args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: ROOT, env: childEnv(env), timeout: CHILD_DEADLINE_MS }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      const stuck = error?.killed ? `\n(killed: still running after ${CHILD_DEADLINE_MS} ms)` : '';
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + stuck });
    });
  });
}

/** Runs the CLI and insists it succeeds. */
export async function ok(args: readonly string[], env: Record<string, string>): Promise<string> {
  const run = await cli(args, env);
  assert.equal(run.code, 0, `${args.join(' ')} failed with ${run.code}:\n${run.stderr}`);
  return run.stdout;
}

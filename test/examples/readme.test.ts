// Defends the README's "First calls" against drift: its shell blocks and its SDK snippet, copied out of
// README.md as they are, run in a user's folder against a started server and reach SUCCESS. Only the
// address is replaced (the test server listens on a free port, not 8080).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, childEnv, type Run } from '../helpers/cli.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { CHILD_DEADLINE_MS } from '../helpers/wait.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SERVER_SECRET = 'a'.repeat(64); // the one test/helpers/server.ts starts with

const SKIP = ['bash', 'curl'].filter((tool) => {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});

/** The fenced blocks of one language under the README heading `section`, in order. */
function blocks(section: string, language: string): string[] {
  const start = README.indexOf(`\n## ${section}\n`);
  assert.ok(start >= 0, `README has no section ${section}`);
  const end = README.indexOf('\n## ', start + 1);
  const text = README.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter(([, lang]) => lang === language).map(([, , body]) => body!);
}

function run(command: string, args: readonly string[], cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: childEnv(env), timeout: CHILD_DEADLINE_MS }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe('README "First calls", as written', { skip: SKIP.length > 0 ? `${SKIP.join(' and ')} not found: the README's shell blocks cannot run` : false }, () => {
  let server: TestServer;
  let folder: string;
  const atServer = (text: string) => text.replaceAll('http://127.0.0.1:8080', server.baseUrl);

  before(async () => {
    // With the default resend interval, as `npm start` runs (the helper turns it off for other tests).
    server = await startServer({ env: { MFA_TOKEN_RESEND_INTERVAL_SECONDS: '30' } });
    // The folder a user runs the calls in: the service's data directory as ./data, the package installed
    // (its bin and the SDK, linked from this checkout).
    folder = mkdtempSync(join(tmpdir(), 'mfa-readme-'));
    symlinkSync(server.dataDir, join(folder, 'data'), 'dir');
    mkdirSync(join(folder, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', 'sailpoint-api-client'), join(folder, 'node_modules', 'sailpoint-api-client'), 'dir');
    symlinkSync(join(ROOT, 'bin', 'mfa-controller.js'), join(folder, 'node_modules', '.bin', 'mfa-controller'));
  });
  after(async () => {
    await server.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('has the blocks this test runs: setup and curl in sh, first-call.mjs in js', () => {
    const shell = blocks('First calls', 'sh');
    assert.equal(shell.length, 2);
    assert.match(shell[0]!, /clients create/);
    assert.match(shell[1]!, /\/v3\/mfa\/token\/poll/);
    assert.match(blocks('First calls', 'js')[0]!, /^\/\/ first-call\.mjs\n/);
  });

  it('setup, then the SDK snippet, then the curl block each reach SUCCESS', async () => {
    const [setup, curl] = blocks('First calls', 'sh') as [string, string];
    writeFileSync(join(folder, 'first-call.mjs'), atServer(blocks('First calls', 'js')[0]!));
    const script = [
      'set -eo pipefail',
      setup,
      'echo "--- node first-call.mjs"',
      'node first-call.mjs',
      'echo "--- curl"',
      atServer(curl),
    ].join('\n');
    const result = await run('bash', ['-c', script], folder, { MFA_SECRET: SERVER_SECRET });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const [, sdk, shell] = result.stdout.split(/^--- .*$/m) as [string, string, string];
    assert.equal(sdk.trim(), 'SUCCESS SUCCESS', result.stderr);
    const [authenticated, polled] = shell.trim().split('\n').slice(-2).map((line) => JSON.parse(line.trim()));
    // As the README says they answer.
    assert.deepEqual(authenticated, { status: 'SUCCESS' }, shell);
    assert.deepEqual(Object.keys(polled), ['requestId', 'status', 'error'], shell);
    assert.equal(polled.status, 'SUCCESS', shell);
    assert.equal(polled.error, null, shell);
    assert.match(polled.requestId, /^[0-9a-f]{32}$/);
  });
});

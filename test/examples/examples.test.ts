// Defends the README's promise that examples/ runs as written: each example, run as a user runs it (plain
// node, its own package.json, settings from the environment), reaches SUCCESS against a started server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readOutbox } from '../../src/delivery/outbox.js';
import { ROOT, childEnv, type Run } from '../helpers/cli.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { CHILD_DEADLINE_MS, sleep } from '../helpers/wait.js';

const EXAMPLES = join(ROOT, 'examples');

/** Runs an example with node from examples/ (its imports resolve as in the clone); `input` goes to its stdin. */
function runExample(file: string, env: Record<string, string>, input?: (write: (text: string) => void) => Promise<void>): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [file], { cwd: EXAMPLES, env: childEnv(env), timeout: CHILD_DEADLINE_MS }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input) void input((text) => child.stdin!.write(text));
    else child.stdin!.end();
  });
}

describe('examples/', () => {
  it('package.json is an ESM package declaring every package the examples import', () => {
    const manifest = JSON.parse(readFileSync(join(EXAMPLES, 'package.json'), 'utf8')) as { type?: string; dependencies?: Record<string, string> };
    assert.equal(manifest.type, 'module');
    const files = readdirSync(EXAMPLES).filter((name) => name.endsWith('.mjs'));
    assert.ok(files.length > 0, 'no example in examples/');
    for (const file of files) {
      const source = readFileSync(join(EXAMPLES, file), 'utf8');
      for (const [, specifier] of source.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
        if (specifier!.startsWith('node:') || builtinModules.includes(specifier!) || specifier!.startsWith('.')) continue;
        assert.ok(manifest.dependencies?.[specifier!], `${file} imports ${specifier}, which examples/package.json does not declare`);
      }
    }
  });
});

describe('examples/token.mjs', () => {
  let server: TestServer;
  let env: Record<string, string>;

  before(async () => {
    server = await startServer();
    await server.addIdentity('will.albin', { email: 'will.albin@example.com' });
    const { clientId, clientSecret } = await server.client(['sp:scopes:all'], 'example');
    env = { SAIL_BASE_URL: server.baseUrl, SAIL_CLIENT_ID: clientId, SAIL_CLIENT_SECRET: clientSecret };
  });
  after(() => server.close());

  it('reads the code from OUTBOX_FILE and reaches SUCCESS', async () => {
    const run = await runExample('token.mjs', { ...env, OUTBOX_FILE: join(server.dataDir, 'outbox.jsonl') });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^send: SUCCESS, requestId [0-9a-f]{32}$/m);
    assert.match(run.stdout, /^authenticate: SUCCESS$/m);
    assert.match(run.stdout, /^poll: SUCCESS$/m);
  });

  it('without OUTBOX_FILE asks for the code on the terminal, naming the outbox command', async () => {
    const before = (await readOutbox(server.dataDir)).length;
    const run = await runExample('token.mjs', env, async (write) => {
      // Answer the prompt as a person would: with the code of the message that arrives for this send.
      for (;;) {
        const entries = await readOutbox(server.dataDir);
        const code = entries.length > before ? /\b(\d{6})\b/.exec(entries.at(-1)!.body)?.[1] : undefined;
        if (code) return write(`${code}\n`);
        await sleep(50);
      }
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /npx mfa-controller outbox --last 1/);
    assert.match(run.stdout, /^poll: SUCCESS$/m);
  });

  it('a wrong code ends FAILED with exit code 1', async () => {
    const run = await runExample('token.mjs', env, async (write) => write('000000\n'));
    // 000000 is the code one time in a million.
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /^authenticate: FAILED$/m);
    assert.doesNotMatch(run.stdout, /^poll:/m);
  });

  it('says which variables to set, and a refused secret in one line, without a stack trace', async () => {
    const unset = await runExample('token.mjs', { SAIL_BASE_URL: server.baseUrl });
    assert.equal(unset.code, 2);
    assert.match(unset.stderr, /SAIL_CLIENT_ID and SAIL_CLIENT_SECRET/);

    const refused = await runExample('token.mjs', { ...env, SAIL_CLIENT_SECRET: 'not-the-secret' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^failed: .*\b401\b/m);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);
  });
});

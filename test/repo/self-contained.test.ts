// Defends the README's promise that `npm test` passes in a fresh clone: no test, script, benchmark or
// example reads a file outside the repository (such as ../shared beside the maintainers' checkout), and
// the tests that read files pass in a copy of the repository with nothing beside it.
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, childEnv } from '../helpers/cli.js';
import { CHILD_DEADLINE_MS } from '../helpers/wait.js';

const SCANNED = ['src', 'test', 'scripts', 'bench', 'examples'];
const CODE = /\.(ts|mts|js|mjs|cjs)$/;

/**
 * Files allowed to name a place outside the repository, and why. Each must cope with its absence:
 * that is checked below for the test, and by the script's own message for the script.
 */
const ALLOWED_OUTSIDE: Record<string, string> = {
  'test/contract/spec.test.ts': 'compares spec/ with ../shared/openapi when present, skipped with a reason otherwise',
  'scripts/import-spec.ts': 'imports the spec from ../shared/openapi by default and says where to get it when absent',
};

/** Literals that look like paths but are attack payloads sent to the server (the fuzz test's path traversals). */
const PAYLOAD = /(^|\/)etc\/passwd$/;

function codeFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : codeFiles(path);
    return CODE.test(entry.name) ? [path] : [];
  });
}

const inside = (path: string): boolean => {
  const rel = relative(ROOT, path);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel));
};

/** The string literals in `source` that name a path outside the repository, resolved from `file`. */
function outsideReferences(file: string, source: string): string[] {
  const found: string[] = [];
  for (const [, literal] of source.matchAll(/['"`]((?:\.\.\/)+[^'"`$\s]*)/g)) {
    // Imports and new URL(..., import.meta.url) resolve from the file's folder.
    if (!inside(resolve(dirname(file), literal!)) && !PAYLOAD.test(literal!)) found.push(literal!);
  }
  // Paths built otherwise (join(ROOT, '..', 'shared'), an absolute path) are caught by what they name.
  for (const [, literal] of source.matchAll(/['"`]([^'"`\n]*(?:\bshared\/(?:openapi|vectors|protocols|seed-docs)|\/work\/)[^'"`\n]*)['"`]/g)) found.push(literal!);
  return found;
}

describe('no test, script, benchmark or example reads outside the repository', () => {
  const files = SCANNED.flatMap((dir) => codeFiles(join(ROOT, dir)));

  it('finds the files it scans', () => {
    for (const dir of ['src', 'test', 'scripts', 'bench', 'examples']) {
      assert.ok(files.some((file) => relative(ROOT, file).startsWith(`${dir}${sep}`)), `nothing scanned in ${dir}/`);
    }
    assert.ok(files.includes(join(ROOT, 'test', 'repo', 'self-contained.test.ts')));
  });

  it('names no path outside the repository, except in files that cope with its absence', () => {
    const offenders = files
      .map((file) => [relative(ROOT, file).split(sep).join('/'), outsideReferences(file, readFileSync(file, 'utf8'))] as const)
      .filter(([name, found]) => found.length > 0 && !(name in ALLOWED_OUTSIDE) && name !== 'test/repo/self-contained.test.ts');
    assert.deepEqual(offenders, []);
  });

  it('the scan would see a reference to ../shared (checked on sample text)', () => {
    const sample = join(ROOT, 'test', 'core', 'sample.test.ts');
    assert.deepEqual(outsideReferences(sample, "new URL('../../../shared/vectors/x.json', import.meta.url)"), ['../../../shared/vectors/x.json', '../../../shared/vectors/x.json']);
    assert.deepEqual(outsideReferences(sample, "new URL('../fixtures/x.json', import.meta.url)"), []);
    assert.deepEqual(outsideReferences(sample, "join(ROOT, '..', 'shared/openapi')"), ['shared/openapi']);
    assert.deepEqual(outsideReferences(sample, "readFileSync('/work/shared/openapi/mfa-v3.yaml')"), ['/work/shared/openapi/mfa-v3.yaml']);
  });

  it('every allowed exception still exists and guards the absence', () => {
    for (const name of Object.keys(ALLOWED_OUTSIDE)) {
      const source = readFileSync(join(ROOT, name), 'utf8');
      assert.match(source, /existsSync\(/, `${name} must check that the folder exists before reading it`);
    }
  });
});

/** The files git would put in a clone: tracked ones still present, plus new ones not ignored. */
function filesOfAClone(): string[] | undefined {
  try {
    const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
    return listed.split('\0').filter((name) => name !== '' && existsSync(join(ROOT, name)));
  } catch {
    return undefined;
  }
}

const CLONE_FILES = filesOfAClone();
const SKIP_CLONE = CLONE_FILES ? false : 'not a git checkout (or git is missing): cannot tell which files a clone carries';

describe('the tests that read files, in a copy of the repository with nothing beside it', { skip: SKIP_CLONE }, () => {
  let parent: string;
  let copy: string;

  before(() => {
    // An empty parent folder: the copy has no ../shared, as a user's clone has none.
    parent = mkdtempSync(join(tmpdir(), 'mfa-clone-'));
    copy = join(parent, 'mfa-controller');
    mkdirSync(copy);
    for (const name of CLONE_FILES!) cpSync(join(ROOT, name), join(copy, name), { recursive: true });
    // node_modules as `npm install` would make it; linked, since installing takes minutes.
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  });
  after(() => rmSync(parent, { recursive: true, force: true }));

  it('has nothing beside it', () => {
    assert.deepEqual(readdirSync(parent), ['mfa-controller']);
  });

  it('carries the spec, the Duo vectors and the examples', () => {
    for (const name of ['spec/mfa-v3.json', 'spec/mfa-beta.json', 'test/fixtures/duo_web_v2_vectors.json', 'examples/package.json', 'examples/token.mjs']) {
      assert.ok(existsSync(join(copy, name)), `${name} is not in the clone (not committed, or ignored by .gitignore)`);
    }
  });

  it('test/contract/spec.test.ts and test/core/duo-web.test.ts pass there, the comparison with ../shared skipped and saying why', async () => {
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/contract/spec.test.ts', 'test/core/duo-web.test.ts'],
        { cwd: copy, env: childEnv({}), timeout: CHILD_DEADLINE_MS, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout: String(stdout), stderr: String(stderr) }),
      );
    });
    assert.equal(run.code, 0, `${run.stdout.split('\n').filter((line) => /not ok|Error|error:/.test(line)).join('\n')}\n${run.stderr}`);
    assert.match(run.stdout, /^# fail 0$/m);
    assert.match(run.stdout, /unchanged # SKIP \.\.\/shared\/openapi is absent/);
    const passed = Number(/^# pass (\d+)$/m.exec(run.stdout)?.[1]);
    assert.ok(passed > 50, `only ${passed} tests passed`);
  });
});

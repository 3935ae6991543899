// Mutation testing of the modules that make security decisions: each module is mutated by StrykerJS
// against the test files that exercise it, one module at a time, and a table of scores is printed at the end.
// Run: npm run mutate                 (every module below; slow, tens of minutes)
//      npm run mutate -- src/core/secrets.ts [more files]
// Environment: MFA_MUTATE_CONCURRENCY (default 1), and MFA_TEST_DATABASE_URL if the store tests should
// also run on PostgreSQL (slower). Reports: reports/mutation/<module>.json. See docs/testing.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

/**
 * Each module with the tests that decide about it: its unit tests first, then, where the unit tests do not
 * reach, the fastest security or provider tests that do. Every mutant runs the whole list, so lists stay short.
 */
const MODULES: Readonly<Record<string, readonly string[]>> = {
  'src/core/secrets.ts': ['test/core/secrets.test.ts'],
  'src/core/circuit.ts': ['test/core/circuit.test.ts', 'test/providers/gateway.test.ts'],
  'src/core/token-rules.ts': ['test/core/token-rules.test.ts'],
  'src/core/verification.ts': ['test/core/token-rules.test.ts', 'test/core/verification.test.ts'],
  'src/core/kba.ts': ['test/core/kba.test.ts'],
  'src/core/duo-web.ts': ['test/core/duo-web.test.ts'],
  'src/core/okta-verify.ts': ['test/providers/okta-rules.test.ts'],
  'src/core/rsa.ts': ['test/providers/rsa-core.test.ts'],
  'src/core/provider-config.ts': ['test/core/provider-config.test.ts'],
  'src/auth/scopes.ts': ['test/auth/scopes.test.ts'],
  'src/auth/access-tokens.ts': ['test/auth/access-tokens.test.ts'],
  'src/methods/token/service.ts': ['test/security/token-limits.test.ts'],
  'src/methods/duo-web/service.ts': ['test/providers/duo-verify.test.ts'],
  'src/methods/kba/service.ts': ['test/security/kba-lockout.test.ts'],
};

interface Tally {
  readonly module: string;
  readonly killed: number;
  readonly survived: number;
  readonly score: number;
}

function tally(module: string, reportFile: string): Tally {
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
    files: Record<string, { mutants: { status: string }[] }>;
  };
  let killed = 0;
  let survived = 0;
  for (const file of Object.values(report.files)) {
    for (const mutant of file.mutants) {
      // Stryker's score: a timeout counts as detected; mutants that do not compile or run are left out.
      if (mutant.status === 'Killed' || mutant.status === 'Timeout') killed++;
      else if (mutant.status === 'Survived' || mutant.status === 'NoCoverage') survived++;
    }
  }
  return { module, killed, survived, score: killed + survived === 0 ? 100 : (100 * killed) / (killed + survived) };
}

const asked = process.argv.slice(2);
const unknown = asked.filter((file) => !(file in MODULES));
if (unknown.length > 0) {
  process.stderr.write(`mutate: no test list for ${unknown.join(', ')}; known modules:\n  ${Object.keys(MODULES).join('\n  ')}\n`);
  process.exit(2);
}

mkdirSync('reports/mutation', { recursive: true });
const results: Tally[] = [];
for (const module of asked.length > 0 ? asked : Object.keys(MODULES)) {
  const tests = (MODULES[module] ?? []).filter((file) => existsSync(file));
  if (tests.length === 0) {
    process.stderr.write(`mutate: none of the test files for ${module} exist; skipped\n`);
    process.exitCode = 1;
    continue;
  }
  const report = `reports/mutation/${module.replace(/^src\//, '').replace(/[/.]/g, '-')}.json`;
  process.stdout.write(`\nmutate: ${module} against ${tests.join(' ')}\n`);
  const run = spawnSync('npx', ['stryker', 'run'], {
    stdio: 'inherit',
    env: { ...process.env, MFA_MUTATE_FILE: module, MFA_MUTATE_TESTS: tests.join(' '), MFA_MUTATE_REPORT: report },
  });
  if (run.status !== 0) {
    process.stderr.write(`mutate: stryker failed on ${module} (exit ${run.status})\n`);
    process.exitCode = 1;
    continue;
  }
  results.push(tally(module, report));
}

if (results.length === 0) process.exit();
const width = Math.max(...results.map((r) => r.module.length), 'module'.length);
process.stdout.write(`\n${'module'.padEnd(width)}  killed  survived  score\n`);
for (const r of results) {
  process.stdout.write(`${r.module.padEnd(width)}  ${String(r.killed).padStart(6)}  ${String(r.survived).padStart(8)}  ${r.score.toFixed(1).padStart(5)}%\n`);
}

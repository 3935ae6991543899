// StrykerJS settings for `npm run mutate` (scripts/mutate.ts). The script runs one module at a time and
// passes, through the environment, the module to mutate and the test files that decide about it; the
// tests run as they always do (node --import tsx --test), so Stryker's `command` runner is used and every
// mutant runs the whole command (no per-test coverage, hence one module and a short test list at a time).
const mutate = process.env.MFA_MUTATE_FILE;
const tests = process.env.MFA_MUTATE_TESTS;
const report = process.env.MFA_MUTATE_REPORT ?? 'reports/mutation/mutation.json';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  commandRunner: { command: `node --import tsx --test --test-concurrency=1 ${tests ?? 'test/core/*.test.ts'}` },
  coverageAnalysis: 'off',
  // One module, or several comma-separated, each optionally with a line range (src/x.ts:10-20).
  mutate: mutate ? mutate.split(',') : ['src/core/secrets.ts'],
  concurrency: Number(process.env.MFA_MUTATE_CONCURRENCY ?? 1),
  reporters: ['json', 'clear-text', 'progress'],
  jsonReporter: { fileName: report },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: false },
  // A mutant that loops forever is killed by time: the allowance is generous because the machine is shared.
  timeoutMS: 20000,
  timeoutFactor: 2,
  // Copy only what the tests read; dist/ and data/ are not needed in the sandbox.
  ignorePatterns: ['dist', 'data', 'reports', '.tmp', 'bench', '*.log'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  disableTypeChecks: 'src/**/*.ts',
};

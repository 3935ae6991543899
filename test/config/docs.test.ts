// Defends the operator's one reference: a setting that config.ts reads but docs/configuration.md does not
// name is a setting nobody can find without reading the source.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { closestName, loadConfig } from '../../src/config.js';

const source = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Where settings are read: src/config.ts, and each method's own settings (src/methods/<id>/settings.ts), read through it. */
async function settingSources(): Promise<string> {
  const methods = await readdir(new URL('../../src/methods/', import.meta.url), { withFileTypes: true });
  const files = ['src/config.ts', ...methods.filter((m) => m.isDirectory()).map((m) => `src/methods/${m.name}/settings.ts`)];
  return (await Promise.all(files.map((file) => source(file).catch(() => '')))).join('\n');
}

describe('docs/configuration.md', () => {
  it('names every setting src/config.ts reads (with the methods\' own)', async () => {
    // Settings are read by their quoted names; the pattern of the test harness's own variables is not one.
    const names = new Set([...(await settingSources()).matchAll(/'(MFA_[A-Z0-9_]+)'/g)].map((m) => m[1]!));
    assert.ok(names.size > 50, `only ${names.size} settings found: the pattern no longer matches how config.ts reads them`);
    const doc = await source('docs/configuration.md');
    const missing = [...names].filter((name) => !new RegExp(`\\b${name}\\b`).test(doc));
    assert.deepEqual(missing, [], `settings missing from docs/configuration.md: ${missing.join(', ')}`);
  });

  it('names no setting that src/config.ts does not read', async () => {
    const names = new Set([...(await settingSources()).matchAll(/'(MFA_[A-Z0-9_]+)'/g)].map((m) => m[1]!));
    const doc = await source('docs/configuration.md');
    // The settings tables: the first cell of each row names one setting or several.
    const firstCells = doc.split('\n').filter((line) => line.startsWith('| `MFA_')).map((line) => line.split('|')[1] ?? '');
    const documented = new Set(firstCells.flatMap((cell) => [...cell.matchAll(/`(MFA_[A-Z0-9_]+)`/g)].map((m) => m[1]!)));
    const unknown = [...documented].filter((name) => !names.has(name) && !name.startsWith('MFA_TEST_'));
    assert.deepEqual(unknown, [], `documented but not read: ${unknown.join(', ')}`);
  });
});

describe('closestName', () => {
  it('finds a swapped, missing or extra letter, and nothing for a distant name', () => {
    const known = ['MFA_SMTP_URL', 'MFA_PORT', 'MFA_HOST', 'MFA_REDIS_URL'];
    assert.equal(closestName('MFA_SMTP_ULR', known), 'MFA_SMTP_URL');
    assert.equal(closestName('MFA_PRT', known), 'MFA_PORT');
    assert.equal(closestName('MFA_REDDIS_URL', known), 'MFA_REDIS_URL');
    assert.equal(closestName('MFA_COMPLETELY_DIFFERENT', known), undefined);
  });

  it('is used for every name loadConfig reads', () => {
    // A name read by loadConfig is never reported as unknown, so the warning cannot fire on a real setting.
    assert.deepEqual(loadConfig({ MFA_OKTA_TIMEOUT_MS: '1000', MFA_PREVIOUS_SECRETS: '' }).warnings, []);
  });
});

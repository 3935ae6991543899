// Copies the official MFA API descriptions from ../shared/openapi into spec/ as JSON, so the service
// carries its wire contract without a YAML parser at run time. Run: npx tsx scripts/import-spec.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

for (const version of ['v3', 'beta']) {
  const doc = parse(readFileSync(new URL(`../../shared/openapi/mfa-${version}.yaml`, import.meta.url), 'utf8'));
  writeFileSync(new URL(`../spec/mfa-${version}.json`, import.meta.url), JSON.stringify(doc, null, 2) + '\n');
}

// Copies the official MFA API descriptions (mfa-v3.yaml, mfa-beta.yaml) into spec/ as JSON, so the service
// carries its wire contract without a YAML parser at run time.
// Run: npx tsx scripts/import-spec.ts [FOLDER]   (FOLDER defaults to ../shared/openapi beside the repository)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';

const VERSIONS = ['v3', 'beta'] as const;
const given = process.argv[2];
const folder = given ? pathToFileURL(resolve(given) + '/') : new URL('../../shared/openapi/', import.meta.url);

const missing = VERSIONS.map((version) => new URL(`mfa-${version}.yaml`, folder)).filter((file) => !existsSync(file));
if (missing.length > 0) {
  process.stderr.write(
    [
      `import-spec: ${missing.map((file) => file.pathname).join(', ')} not found.`,
      'The MFA API descriptions come from SailPoint\'s published specification, https://github.com/sailpoint-oss/api-specs',
      '(MIT licence): the /mfa/... paths of idn/sailpoint-api.v3.yaml and idn/sailpoint-api.beta.yaml with the files they',
      'reference under idn/v3/ (paths/mfa-*.yaml, schemas, responses), gathered into one self-contained file per version,',
      'mfa-v3.yaml and mfa-beta.yaml. spec/README.md says which commit spec/ was taken from.',
      'Put both files in one folder and run: npx tsx scripts/import-spec.ts FOLDER',
      '',
    ].join('\n'),
  );
  process.exit(2);
}

for (const version of VERSIONS) {
  const doc = parse(readFileSync(new URL(`mfa-${version}.yaml`, folder), 'utf8'));
  writeFileSync(new URL(`../spec/mfa-${version}.json`, import.meta.url), JSON.stringify(doc, null, 2) + '\n');
}

// Defends the wire contract: the schemas the server validates with are the official ones, unchanged.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { SERVED_OPERATIONS } from '../../src/http/openapi.js';
import { schemaOf } from '../../src/http/spec.js';
import { startServer, type TestServer } from '../helpers/server.js';

// The official YAML sits beside the repository only on the maintainers' machines; a clone carries its copy in
// spec/, which is what the server and the rest of this file use.
const OFFICIAL_DIR = new URL('../../../shared/openapi/', import.meta.url);
const SKIP_OFFICIAL = existsSync(OFFICIAL_DIR) ? false : '../shared/openapi is absent beside the repository: spec/ cannot be compared with it here';
const official = (version: string) => parse(readFileSync(new URL(`mfa-${version}.yaml`, OFFICIAL_DIR), 'utf8'));
const copied = (version: string) => JSON.parse(readFileSync(new URL(`../../spec/mfa-${version}.json`, import.meta.url), 'utf8'));

describe('official API description', () => {
  for (const version of ['v3', 'beta']) {
    it(`spec/mfa-${version}.json is ../shared/openapi/mfa-${version}.yaml, unchanged`, { skip: SKIP_OFFICIAL }, () => {
      assert.deepEqual(copied(version), official(version));
    });
  }

  it('request schemas keep every required field and enum of the spec', () => {
    const send = schemaOf('SendTokenRequest') as any;
    assert.deepEqual(send.required, ['userAlias', 'deliveryType']);
    assert.deepEqual(send.properties.deliveryType.enum, ['SMS_PERSONAL', 'VOICE_PERSONAL', 'SMS_WORK', 'VOICE_WORK', 'EMAIL_WORK', 'EMAIL_PERSONAL']);
    const auth = schemaOf('TokenAuthRequest') as any;
    assert.deepEqual(auth.required, ['token', 'userAlias', 'deliveryType']);
    const poll = schemaOf('VerificationResponse') as any;
    assert.deepEqual(poll.properties.status.enum, ['PENDING', 'SUCCESS', 'FAILED', 'LOCKOUT', 'NOT_ENOUGH_DATA']);
  });
});

describe('served OpenAPI document', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('describes each served operation under /v3 and /beta exactly as the official spec does', async () => {
    const document = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as any;
    const spec = copied('v3');
    for (const [path, method] of SERVED_OPERATIONS) {
      const original = spec.paths[path][method];
      assert.deepEqual(document.paths[`/v3${path}`][method], original);
      assert.deepEqual(document.paths[`/beta${path}`][method], { ...original, operationId: `${original.operationId}Beta` });
    }
    assert.deepEqual(document.components.schemas, spec.components.schemas);
  });
});

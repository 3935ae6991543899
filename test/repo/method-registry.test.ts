// Defends the method registry (src/methods/index.ts) as the one list of methods: a method in one derived
// list and missing from another (the routes served and /openapi.json, the poll enum, METHODS, the provider
// calls, the fuzz fixtures, a method folder nobody registered) fails here, not as a 400 or a route the fuzz
// test never reaches. docs/methods.md says what a method brings.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SERVED_OPERATIONS } from '../../src/http/openapi.js';
import { officialOperation } from '../../src/http/spec.js';
import {
  CONFIGURATION_V1_PROVIDER_METHODS,
  DESCRIPTORS,
  LOCKOUT_METHODS,
  METHODS,
  PROVIDER_DESCRIPTORS,
  PROVIDER_METHODS,
  specMethodEnum,
} from '../../src/methods/index.js';
import type { MethodDescriptor } from '../../src/methods/method.js';
import { startServer, type TestServer } from '../helpers/server.js';

const METHODS_DIR = new URL('../../src/methods/', import.meta.url);
const ids = DESCRIPTORS.map((d) => d.id);

/** `VERB /path` of every route the router serves ({param} for :param), HEAD left out; parsed from printRoutes. */
function servedRoutes(tree: string): Set<string> {
  const routes = new Set<string>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│   |    )*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (stack[depth - 1] ?? '') + match[2]!;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const verb of (match[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m && m !== 'HEAD')) {
      routes.add(`${verb} ${path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    }
  }
  return routes;
}

describe('the method registry', () => {
  it('lists each method once, and every folder under src/methods is a registered method', async () => {
    assert.equal(new Set(ids).size, ids.length);
    const folders = readdirSync(METHODS_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    assert.deepEqual([...folders].sort(), [...ids].sort(), 'one folder per method, named by its id');
    for (const folder of folders) {
      const module = (await import(new URL(`${folder}/index.ts`, METHODS_DIR).href)) as Record<string, unknown>;
      const exported = Object.values(module).filter((value) => (DESCRIPTORS as readonly unknown[]).includes(value)) as MethodDescriptor[];
      assert.deepEqual(exported.map((d) => d.id), [folder], `src/methods/${folder}/index.ts exports the registered descriptor of ${folder}`);
    }
  });

  it('derives METHODS from it, in the order of the spec\'s poll enum with this service\'s own after', () => {
    assert.deepEqual([...METHODS].sort(), [...ids].sort());
    const spec = specMethodEnum('/mfa/{method}/poll', 'post');
    const official = METHODS.filter((m) => spec.includes(m));
    assert.deepEqual(official, spec.filter((m) => (ids as readonly string[]).includes(m)), 'the spec\'s methods in its order');
    assert.deepEqual(METHODS.slice(official.length).every((m) => !spec.includes(m)), true, 'this service\'s own after');
  });

  it('derives the provider methods from the descriptors that bring a provider configuration', () => {
    assert.deepEqual(PROVIDER_METHODS, DESCRIPTORS.filter((d) => d.provider !== undefined).map((d) => d.id));
    for (const method of CONFIGURATION_V1_PROVIDER_METHODS) assert.ok(PROVIDER_METHODS.includes(method), method);
    for (const d of PROVIDER_DESCRIPTORS) {
      const example = d.provider.example('https://provider.example.com');
      assert.equal(example['mfaMethod'], d.id, `${d.id}'s example configuration is its own`);
    }
    assert.ok(LOCKOUT_METHODS.every((m) => (ids as readonly string[]).includes(m)));
  });

  it("names only official operations as official, and each method's extensions under its own path", () => {
    for (const d of DESCRIPTORS) {
      for (const [path, verb] of [...(d.openapi.official ?? []), ...(d.openapi.configurationV1 ?? [])]) {
        assert.doesNotThrow(() => officialOperation(path, verb), `${d.id}: ${verb} ${path} is in the official spec`);
        assert.ok(path.startsWith(`/mfa/${d.id}/`), `${d.id}: ${path} is under /mfa/${d.id}/`);
      }
      for (const path of [...Object.keys(d.openapi.extensions ?? {}), ...Object.keys(d.openapi.public ?? {})]) {
        assert.ok(path.startsWith(`/mfa/${d.id}/`), `${d.id}: extension ${path} is under /mfa/${d.id}/`);
        assert.throws(() => officialOperation(path, 'post'), `${d.id}: ${path} is no official path`);
      }
    }
  });
});

describe('the running service against the registry', () => {
  let server: TestServer;
  let routes: Set<string>;
  let documented: Set<string>;
  let token: string;

  before(async () => {
    server = await startServer({ env: { MFA_KBA_ARGON2_MEMORY_KIB: '1024', MFA_KBA_ARGON2_TIME_COST: '1' } });
    routes = servedRoutes(server.runtime.app.printRoutes({ commonPrefix: false }));
    const document = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    documented = new Set(Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((verb) => `${verb.toUpperCase()} ${path}`)));
    token = await server.accessToken(['sp:scopes:all']);
  });
  after(() => server.close());

  it('serves every route /openapi.json describes under /v3, /beta, /mfa/v1 and a method\'s public /mfa/{id}/, and describes every one it serves', () => {
    const api = (route: string) => / \/(v3|beta|mfa)\//.test(route);
    const undocumented = [...routes].filter((r) => api(r) && !documented.has(r));
    const unserved = [...documented].filter((r) => api(r) && !routes.has(r));
    assert.deepEqual(undocumented, [], 'served but not in /openapi.json');
    assert.deepEqual(unserved, [], 'in /openapi.json but not served');
  });

  it('serves each method\'s official operations and extensions under /v3 and /beta', () => {
    for (const d of DESCRIPTORS) {
      const operations = [...(d.openapi.official ?? []), ...Object.entries(d.openapi.extensions ?? {}).flatMap(([path, ops]) => Object.keys(ops).map((verb) => [path, verb] as const))];
      for (const prefix of ['/v3', '/beta']) {
        for (const [path, verb] of operations) assert.ok(routes.has(`${verb.toUpperCase()} ${prefix}${path}`), `${d.id}: ${verb} ${prefix}${path}`);
      }
    }
    for (const [path, verb] of SERVED_OPERATIONS) assert.ok(routes.has(`${verb.toUpperCase()} /v3${path}`), `${verb} /v3${path}`);
  });

  it('polls every method and no other', async () => {
    const poll = (method: string) =>
      fetch(`${server.baseUrl}/v3/mfa/${method}/poll`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ requestId: 'nothing-here' }) });
    for (const method of ids) assert.equal((await poll(method)).status, 200, `poll ${method}`);
    const refused = await poll('no-such-method');
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { causes: Array<{ text: string }> };
    assert.deepEqual(body.causes.map((c) => c.text), [`params.method: must be one of ${METHODS.join(', ')}`]);
  });

  it('has the provider calls of exactly the provider methods', async () => {
    for (const method of ids) {
      const isProvider = (PROVIDER_METHODS as readonly string[]).includes(method);
      for (const prefix of ['/v3', '/beta']) {
        assert.equal(routes.has(`PUT ${prefix}/mfa/${method}/config`), isProvider, `PUT ${prefix}/mfa/${method}/config`);
      }
      const tested = await fetch(`${server.baseUrl}/v3/mfa/${method}/test`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(tested.status, isProvider ? 200 : 400, `GET /v3/mfa/${method}/test`);
    }
    for (const method of PROVIDER_METHODS) assert.ok(server.runtime.providers.testers[method], `${method} has a tester`);
    for (const method of CONFIGURATION_V1_PROVIDER_METHODS) assert.ok(routes.has(`PUT /mfa/v1/${method}/config`), `PUT /mfa/v1/${method}/config`);
  });

  it('has a fuzz fixture (an example request) for every route of a method that takes a body, and none for a route it does not serve', () => {
    const examples = new Set(DESCRIPTORS.flatMap((d) => Object.keys(d.examples.requests)));
    const providerConfigs = new Set(PROVIDER_METHODS.map((m) => `PUT /mfa/${m}/config`));
    for (const route of routes) {
      // Under /v3, and a method's public routes at the root.
      const match = /^(POST|PUT) (?:\/v3)?(\/mfa\/([^/{]+)\/.*)$/.exec(route);
      if (!match || !(ids as readonly string[]).includes(match[3]!)) continue;
      const key = `${match[1]} ${match[2]}`;
      assert.ok(examples.has(key) || providerConfigs.has(key), `no example request for ${key}`);
    }
    for (const key of examples) assert.ok(routes.has(key.replace(' /mfa/', ' /v3/mfa/')) || routes.has(key), `example for ${key}, which is not served`);
  });
});

// The access log at the default level: one line per request, written when it is answered, with what an
// operator needs to find it (method, URL, status, time, request id). Two lines per request (Fastify's
// incoming and completed) cost a busy service a quarter of its throughput (bench/README.md).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';

interface AccessLine {
  readonly level: number;
  readonly msg: string;
  readonly reqId?: string;
  readonly req?: { method?: string; url?: string };
  readonly res?: { statusCode?: number };
  readonly responseTime?: number;
}

describe('the access log at the default level', () => {
  let dataDir: string;
  let runtime: Runtime;
  let baseUrl: string;
  const written: string[] = [];
  const lines = (): AccessLine[] =>
    written
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AccessLine);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mfa-access-log-'));
    const config = loadConfig({ MFA_DATA_DIR: dataDir, MFA_PORT: '0', MFA_SECRET: '6a'.repeat(32), MFA_PUBLIC_URL: 'http://127.0.0.1' });
    runtime = await createRuntime(config, { logger: { level: config.logLevel, stream: { write: (line: string) => void written.push(line) } } });
    baseUrl = await runtime.app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await runtime?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes one line per request, when it is answered, with method, URL, status, time and request id', async () => {
    written.length = 0;
    assert.equal((await fetch(`${baseUrl}/health/ready`)).status, 200);
    const refused = await fetch(`${baseUrl}/v3/mfa/token/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(refused.status, 401);
    assert.equal((await fetch(`${baseUrl}/no/such/route`)).status, 404);

    const logged = lines();
    assert.equal(logged.length, 3, `expected one line per request, got:\n${written.join('')}`);
    assert.deepEqual(
      logged.map((l) => [l.msg, l.req?.method, l.req?.url, l.res?.statusCode]),
      [
        ['request completed', 'GET', '/health/ready', 200],
        ['request completed', 'POST', '/v3/mfa/token/poll', 401],
        ['request completed', 'GET', '/no/such/route', 404],
      ],
    );
    for (const line of logged) {
      assert.equal(line.level, 30);
      assert.equal(typeof line.responseTime, 'number');
      assert.match(line.reqId ?? '', /^[0-9a-f-]{36}$/);
    }
    assert.equal(new Set(logged.map((l) => l.reqId)).size, 3);
  });

  it("writes the line as pino would: pino's fields first, then the request's, in order, as valid JSON", async () => {
    written.length = 0;
    const weird = '/no/such/route?q=%22quote%22&x="\\\u00e9';
    assert.equal((await fetch(`${baseUrl}${weird}`, { headers: { 'accept-version': '2' } })).status, 404);
    const [line] = written.join('').split('\n').filter(Boolean).map((text) => JSON.parse(text) as Record<string, unknown>);
    assert.ok(line);
    assert.deepEqual(Object.keys(line), ['level', 'time', 'pid', 'hostname', 'reqId', 'req', 'res', 'responseTime', 'msg']);
    assert.equal(line['pid'], process.pid);
    assert.equal(typeof line['time'], 'number');
    const req = line['req'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(req), ['method', 'url', 'version', 'host', 'remoteAddress', 'remotePort']);
    assert.equal(req['url'], new URL(`${baseUrl}${weird}`).pathname + new URL(`${baseUrl}${weird}`).search);
    assert.equal(req['version'], '2');
    assert.equal(req['host'], new URL(baseUrl).host);
    assert.equal(req['remoteAddress'], '127.0.0.1');
    assert.equal(typeof req['remotePort'], 'number');
    assert.deepEqual(line['res'], { statusCode: 404 });
  });
});

describe('the access log above the info level', () => {
  it('writes no access line at MFA_LOG_LEVEL=warn', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mfa-access-log-warn-'));
    const written: string[] = [];
    const config = loadConfig({ MFA_DATA_DIR: dataDir, MFA_PORT: '0', MFA_SECRET: '6a'.repeat(32), MFA_PUBLIC_URL: 'http://127.0.0.1', MFA_LOG_LEVEL: 'warn' });
    const runtime = await createRuntime(config, { logger: { level: config.logLevel, stream: { write: (line: string) => void written.push(line) } } });
    try {
      const baseUrl = await runtime.app.listen({ host: '127.0.0.1', port: 0 });
      assert.equal((await fetch(`${baseUrl}/health/ready`)).status, 200);
      assert.equal((await fetch(`${baseUrl}/no/such/route`)).status, 404);
      assert.equal(written.filter((line) => line.includes('request completed')).length, 0, written.join(''));
    } finally {
      await runtime.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

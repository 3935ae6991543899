// Defends availability and honesty under faults of the backing services: PostgreSQL or Redis going away
// must answer 503 with the spec's ErrorResponseDto (not a 500 that blames us, not a crash), turn readiness
// false, and recover by itself when the service returns, with no restart of ours.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { postJson, startServer, type TestServer } from '../helpers/server.js';
import { CHILD_DEADLINE_MS, eventually, sleep } from '../helpers/wait.js';

const REDIS_URL = process.env['MFA_TEST_REDIS_URL'];
const DATABASE_URL = process.env['MFA_TEST_DATABASE_URL'];

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves when something accepts TCP connections on the port. */
async function waitForPort(port: number, timeoutMs = CHILD_DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await sleep(50);
  }
}

function assertUnavailable(answer: { status: number; body: any }): void {
  assert.equal(answer.status, 503, JSON.stringify(answer.body));
  assert.deepEqual(Object.keys(answer.body).sort(), ['causes', 'detailCode', 'messages', 'trackingId']);
  assert.equal(answer.body.detailCode, '503 Service Unavailable');
  assert.match(answer.body.trackingId, /^[0-9a-f]{32}$/);
}

const ready = async (server: TestServer): Promise<number> => (await fetch(`${server.baseUrl}/health/ready`)).status;

/** A private redis-server the test may kill and start again on the same port. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPort(this.port);
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

/** A TCP proxy in front of PostgreSQL: cut() drops every connection and refuses new ones; restore() lets them through again. */
class CuttableProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private cutOff = false;
  port = 0;

  constructor(private readonly targetPort: number, private readonly targetHost: string) {
    this.server = createServer((client) => {
      if (this.cutOff) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
  }

  cut(): void {
    this.cutOff = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('Redis going away and coming back', { skip: REDIS_URL ? false : 'MFA_TEST_REDIS_URL not set: Redis fault tests skipped' }, () => {
  let redis: PrivateRedis;
  let server: TestServer;
  let token: string;

  before(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    server = await startServer({ env: { MFA_REDIS_URL: `redis://127.0.0.1:${redis.port}` } });
    token = await server.accessToken(['sp:scopes:all']);
    await server.addIdentity('fault.redis', { email: 'fault.redis@example.com' });
  });

  after(async () => {
    await server?.close();
    await redis?.kill();
  });

  const send = () => postJson(server, '/v3/mfa/token/send', token, { userAlias: 'fault.redis', deliveryType: 'EMAIL_WORK' });

  it('answers 503 with the spec body and turns not ready while Redis is down, then recovers by itself', async () => {
    const first = await send();
    assert.equal(first.status, 200);
    assert.equal(await ready(server), 200);

    await redis.kill();
    // ioredis notices the closed socket at once; give it a moment to mark the connection down.
    await eventually('readiness turns 503', async () => (await ready(server)) === 503);
    assertUnavailable(await send());
    // A call that needs only the database still works: Redis holds rate counters, nothing else.
    const poll = await postJson(server, '/v3/mfa/token/poll', token, { requestId: first.body.requestId });
    assert.equal(poll.status, 200);

    await redis.start();
    await eventually('readiness turns 200', async () => (await ready(server)) === 200);
    await eventually('a send succeeds', async () => (await send()).status === 200);
  });
});

describe('PostgreSQL going away and coming back', { skip: DATABASE_URL ? false : 'MFA_TEST_DATABASE_URL not set: PostgreSQL fault tests skipped' }, () => {
  let proxy: CuttableProxy;
  let server: TestServer;
  let token: string;
  let requestId: string;

  before(async () => {
    const target = new URL(DATABASE_URL!);
    proxy = new CuttableProxy(Number(target.port || 5432), target.hostname);
    await proxy.listen();
    const viaProxy = new URL(DATABASE_URL!);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    server = await startServer({ postgres: true, env: { MFA_DATABASE_URL: viaProxy.toString() } });
    token = await server.accessToken(['sp:scopes:all']);
    await server.addIdentity('fault.pg', { email: 'fault.pg@example.com' });
    const sent = await postJson(server, '/v3/mfa/token/send', token, { userAlias: 'fault.pg', deliveryType: 'EMAIL_WORK' });
    assert.equal(sent.status, 200);
    requestId = sent.body.requestId;
  });

  after(async () => {
    proxy?.restore();
    await server?.close();
    await proxy?.close();
  });

  const poll = () => postJson(server, '/v3/mfa/token/poll', token, { requestId });
  const send = () => postJson(server, '/v3/mfa/token/send', token, { userAlias: 'fault.pg', deliveryType: 'EMAIL_WORK' });

  it('answers 503 with the spec body and turns not ready while the database is cut off, then recovers by itself', async () => {
    assert.equal((await poll()).status, 200);
    assert.equal(await ready(server), 200);

    proxy.cut();
    assert.equal(await ready(server), 503);
    // Reads, writes in a transaction, and the token endpoint: each 503, none 500.
    assertUnavailable(await poll());
    assertUnavailable(await send());
    const oauth = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'nothing' }),
    });
    assert.equal(oauth.status, 503);
    assert.equal(((await oauth.json()) as { detailCode: string }).detailCode, '503 Service Unavailable');

    proxy.restore();
    await eventually('readiness turns 200', async () => (await ready(server)) === 200);
    const again = await poll();
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'PENDING');
    assert.equal((await send()).status, 200);
  });
});

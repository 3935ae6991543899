// Pieces shared by the benchmarks (bench/token.ts, bench/kba.ts): the driver of the load worker, the service
// under test with its client, identity and one sent token, scratch space, and small helpers.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { createClient } from '../src/auth/clients.js';
import { ALL_SCOPES } from '../src/auth/scopes.js';
import { loadConfig } from '../src/config.js';
import { generateId } from '../src/core/secrets.js';
import { readOutbox } from '../src/delivery/outbox.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { isPostgresUrl } from '../src/store/index.js';
import type { LoadJob, LoadResult, WorkerReply, WorkerRequest } from './load-worker.js';

export const USER_ALIAS = 'bench.user';
export const DELIVERY_TYPE = 'EMAIL_WORK';

export type StoreKind = 'sqlite' | 'postgres';

/** A command-line count: a whole number above 0. */
export function positive(name: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`--${name} must be a whole number above 0, got "${text}"`);
  return Number(text);
}

/** --database-url, else BENCH_DATABASE_URL; undefined means SQLite. */
export function databaseUrlOption(value: string | undefined): string | undefined {
  const databaseUrl = value ?? (process.env['BENCH_DATABASE_URL'] || undefined);
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) throw new Error('--database-url must be a postgres:// URL');
  return databaseUrl;
}

/** The worker thread running autocannon (bench/load-worker.ts); one job at a time. */
export class LoadGenerator {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();

  constructor() {
    // tsx's --import hooks do not reach worker threads (privatenumber/tsx#354), so the worker registers
    // tsx itself before importing the TypeScript module.
    const api = import.meta.resolve('tsx/esm/api');
    const target = new URL('./load-worker.ts', import.meta.url).href;
    const boot = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); });`;
    this.worker = new Worker(boot, { eval: true });
    this.worker.on('message', (reply: WorkerReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiting.reject(new Error(`load worker: ${reply.error}`));
      else waiting.resolve(reply.result);
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new Error(`load worker exited with code ${code}`)));
  }

  private failAll(err: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(err);
    this.pending.clear();
  }

  run(job: LoadJob): Promise<LoadResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, job } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** A fresh data directory and, for PostgreSQL, a fresh schema; `cleanups` run in order remove them again. */
export async function scratchSpace(databaseUrl: string | undefined): Promise<{ dataDir: string; schema: string | undefined; cleanups: Array<() => Promise<void>> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mfa-bench-'));
  const schema = databaseUrl ? `bench_${randomBytes(6).toString('hex')}` : undefined;
  const cleanups: Array<() => Promise<void>> = [() => rm(dataDir, { recursive: true, force: true })];
  if (databaseUrl && schema) cleanups.unshift(() => dropSchema(databaseUrl, schema));
  return { dataDir, schema, cleanups };
}

export interface Service {
  readonly runtime: Runtime;
  readonly baseUrl: string;
  readonly storeKind: StoreKind;
  /** Access token of an API client (not personal) with sp:scopes:all. */
  readonly accessToken: string;
  /** The verification of the one token sent to USER_ALIAS, by that client. */
  readonly requestId: string;
  /** The token that was sent, so the wrong-guess sequence can leave it out. */
  readonly realToken: string;
}

/**
 * The real service listening on 127.0.0.1 with the outbox transport and no lockouts, expiries or used-up
 * verifications; with an API client, its access token, the identity USER_ALIAS, and one token sent to it.
 * `extraEnv` adds or overrides configuration variables.
 */
export async function startService(
  databaseUrl: string | undefined,
  dataDir: string,
  schema: string | undefined,
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<Service> {
  const config = loadConfig({
    MFA_DATA_DIR: dataDir,
    MFA_HOST: '127.0.0.1',
    MFA_PORT: '0',
    MFA_PUBLIC_URL: 'http://127.0.0.1',
    MFA_SECRET: randomBytes(32).toString('hex'),
    MFA_EMAIL_TRANSPORT: 'outbox',
    MFA_SMS_TRANSPORT: 'outbox',
    MFA_VOICE_TRANSPORT: 'outbox',
    // Never a lockout, an expiry or a used-up verification: every wrong guess takes the whole path.
    MFA_TOKEN_MAX_ATTEMPTS: '1000000000',
    MFA_TOKEN_MAX_FAILURES_PER_IDENTITY: '1000000000',
    MFA_TOKEN_TTL_SECONDS: '86400',
    // Nor the client's budget of failed checks, which every wrong guess spends.
    MFA_RATE_FAILED_CHECKS_PER_CLIENT: '1000000000',
    ...extraEnv,
    ...(databaseUrl ? { MFA_DATABASE_URL: databaseUrl } : {}),
  });
  const runtime = await createRuntime(config, { logger: false, ...(schema ? { schema } : {}) });
  try {
    const baseUrl = await runtime.app.listen({ host: '127.0.0.1', port: 0 });

    const { clientId, clientSecret } = await createClient(runtime.store, runtime.clock, runtime.randomBytes, 'bench', [ALL_SCOPES]);
    const accessToken = await clientToken(baseUrl, clientId, clientSecret);

    await runtime.store.upsertIdentities(
      [{ alias: USER_ALIAS, status: 'active', attributes: { email: 'bench.user@example.com' } }],
      () => generateId(runtime.randomBytes),
      runtime.clock.now(),
    );

    const sent = await postJson(`${baseUrl}/v3/mfa/token/send`, accessToken, { userAlias: USER_ALIAS, deliveryType: DELIVERY_TYPE });
    const requestId = (sent as { requestId?: unknown; status?: unknown }).requestId;
    if (typeof requestId !== 'string' || (sent as { status?: unknown }).status !== 'SUCCESS') {
      throw new Error(`POST /v3/mfa/token/send answered ${JSON.stringify(sent)}`);
    }
    const message = (await readOutbox(dataDir)).at(-1);
    const realToken = message ? /\b(\d{6})\b/.exec(message.body)?.[1] : undefined;
    if (!realToken) throw new Error('the sent token is not in the outbox');

    const storeKind: StoreKind = databaseUrl ? 'postgres' : 'sqlite';
    return { runtime, baseUrl, storeKind, accessToken, requestId, realToken };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

/** An access token from POST /oauth/token (client credentials grant). */
export async function clientToken(baseUrl: string, clientId: string, clientSecret: string): Promise<string> {
  const tokenResponse = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  if (tokenResponse.status !== 200) throw new Error(`POST /oauth/token answered ${tokenResponse.status}`);
  return ((await tokenResponse.json()) as { access_token: string }).access_token;
}

export async function postJson(url: string, accessToken: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await admin.end();
  }
}

export const round2 = (value: number): number => Math.round(value * 100) / 100;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function formatTable(header: readonly string[], lines: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

/** A TCP port free on loopback at this moment, for a server process started next. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

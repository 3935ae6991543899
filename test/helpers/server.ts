// Starts the real service on an ephemeral port for a test, with a fresh data directory.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type NewClientCredentials } from '../../src/auth/clients.js';
import { loadConfig } from '../../src/config.js';
import type { Clock, Sender } from '../../src/core/ports.js';
import { generateId } from '../../src/core/secrets.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';

export interface TestServer {
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly runtime: Runtime;
  readonly schema: string | undefined;
  readonly postgres: boolean;
  client(scopes: readonly string[], name?: string): Promise<NewClientCredentials>;
  /** A bearer token straight from the token endpoint. */
  accessToken(scopes: readonly string[]): Promise<string>;
  /** A token for these client credentials by the client credentials grant; fails the test unless issued. */
  tokenOf(clientId: string, clientSecret: string): Promise<string>;
  /** A personal client of the identity `alias` (which must exist), and a way to get a token of it. */
  personalClient(alias: string, scopes?: readonly string[]): Promise<NewClientCredentials & { token(): Promise<string> }>;
  addIdentity(alias: string, attributes: Record<string, string>): Promise<void>;
  /**
   * Records a verification of `alias` that succeeded just now, as any method's success would: the proof the
   * factor-change rule asks for before answers the identity already has are replaced (docs/security.md).
   */
  recordSuccess(alias: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  readonly env?: Record<string, string>;
  readonly clock?: Clock;
  readonly sender?: Sender;
  /** Run on PostgreSQL (MFA_TEST_DATABASE_URL) in a fresh schema dropped on close. */
  readonly postgres?: boolean;
  /** Another instance on the same database and data directory, as a second process would be. */
  readonly shareWith?: TestServer;
  /** pino options for the service's log (a `stream` key captures it); silent when absent. */
  readonly logger?: Record<string, unknown>;
  /** Listen on this port instead of any free one (a page test that sets MFA_PUBLIC_URL to it). */
  readonly port?: number;
}

export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const shared = options.shareWith;
  const dataDir = shared?.dataDir ?? (await mkdtemp(join(tmpdir(), 'mfa-server-')));
  const usePostgres = shared?.postgres ?? options.postgres ?? false;
  const postgresUrl = usePostgres ? process.env['MFA_TEST_DATABASE_URL'] : undefined;
  if (usePostgres && !postgresUrl) throw new Error('MFA_TEST_DATABASE_URL is not set');
  const schema = shared?.schema ?? (postgresUrl ? `t_${randomBytes(8).toString('hex')}` : undefined);
  const config = loadConfig({
    MFA_DATA_DIR: dataDir,
    MFA_PORT: '0',
    MFA_SECRET: 'a'.repeat(64),
    MFA_PUBLIC_URL: 'http://127.0.0.1',
    MFA_TOKEN_RESEND_INTERVAL_SECONDS: '0',
    // Test providers are local fakes on 127.0.0.1 over http; test/security/provider-ssrf.test.ts turns it off.
    MFA_ALLOW_PRIVATE_PROVIDER_HOSTS: 'true',
    ...(postgresUrl ? { MFA_DATABASE_URL: postgresUrl } : {}),
    ...options.env,
  });
  const runtime = await createRuntime(config, {
    logger: options.logger ?? false,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.sender ? { sender: options.sender } : {}),
    ...(schema ? { schema } : {}),
  });
  const address = await runtime.app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const server: TestServer = {
    baseUrl: address,
    dataDir,
    runtime,
    schema,
    postgres: usePostgres,
    client: (scopes, name = 'test client') => createClient(runtime.store, runtime.clock, runtime.randomBytes, name, scopes),
    async accessToken(scopes) {
      const { clientId, clientSecret } = await server.client(scopes);
      return server.tokenOf(clientId, clientSecret);
    },
    async tokenOf(clientId, clientSecret) {
      const response = await fetch(`${address}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
      });
      if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { access_token: string }).access_token;
    },
    async personalClient(alias, scopes = ['sp:scopes:all']) {
      const created = await createClient(runtime.store, runtime.clock, runtime.randomBytes, `${alias} app`, scopes, alias);
      return { ...created, token: () => server.tokenOf(created.clientId, created.clientSecret) };
    },
    async addIdentity(alias, attributes) {
      await runtime.store.upsertIdentities([{ alias, status: 'active', attributes }], () => generateId(runtime.randomBytes), runtime.clock.now());
    },
    async recordSuccess(alias) {
      const now = runtime.clock.now();
      await runtime.store.recordVerification({
        id: generateId(runtime.randomBytes),
        method: 'token',
        subject: alias,
        clientId: 'test',
        deliveryType: null,
        secretHash: null,
        status: 'SUCCESS',
        error: null,
        attempts: 0,
        createdAt: now,
        expiresAt: now + 60_000,
        completedAt: now,
      });
    },
    async close() {
      await runtime.close();
      if (shared) return;
      await rm(dataDir, { recursive: true, force: true });
      if (postgresUrl && schema) await dropSchema(postgresUrl, schema);
    },
  };
  return server;
}

/** A JSON POST with a bearer token; resolves to status, headers and parsed body. */
export async function postJson(server: TestServer, path: string, token: string, body: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await admin.end();
  }
}

/** One describe per database the server can run on; PostgreSQL only with MFA_TEST_DATABASE_URL, skipped visibly otherwise. */
export function describeEachDatabase(title: string, fn: (options: { postgres: boolean }) => void): void {
  describe(`${title} [sqlite]`, () => fn({ postgres: false }));
  if (process.env['MFA_TEST_DATABASE_URL']) {
    describe(`${title} [postgres]`, () => fn({ postgres: true }));
  } else {
    describe(`${title} [postgres]`, () => {
      it('runs against PostgreSQL', { skip: 'MFA_TEST_DATABASE_URL not set: PostgreSQL tests skipped' }, () => undefined);
    });
  }
}

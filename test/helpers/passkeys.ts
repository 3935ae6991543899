// What the passkey tests share: the service on a known port reached as http://localhost (WebAuthn
// refuses IP addresses), an application with its own front end on another localhost port, tokens for
// that application acting for an identity, forged answers, and stored passkeys no authenticator holds.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { IDENTITY_ALIAS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/http/routes/oauth.js';
import { SqlPasskeyStore } from '../../src/methods/passkey/store.js';
import { driverOf } from '../../src/store/index.js';
import { startServer, type TestServer, type TestServerOptions } from './server.js';

export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/** An application's front end: a page that loads the WebAuthn browser library, and a page to return to. */
export interface ExampleApp {
  readonly origin: string;
  /** Where hosted verifications may return: on the allow-list. */
  readonly backUrl: string;
  close(): Promise<void>;
}

export async function startExampleApp(): Promise<ExampleApp> {
  const port = await freePort();
  const main = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const bundle = readFileSync(join(dirname(main), '..', 'dist', 'bundle', 'index.umd.min.js'));
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/webauthn.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    } else if (path === '/back') {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Back</title><h1>Back at the application</h1>');
    } else {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Example application</title><script src="/webauthn.js"></script><h1>Example application</h1>');
    }
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://localhost:${port}`;
  return {
    origin,
    backUrl: `${origin}/back`,
    async close() {
      server.close();
      server.closeAllConnections();
      await once(server, 'close');
    },
  };
}

export interface PasskeyServer {
  readonly server: TestServer;
  /** The service as browsers reach it: http://localhost:PORT. */
  readonly pageBase: string;
}

/** The service on a known port with MFA_PUBLIC_URL naming it `localhost`, admitting `app`'s origin and return page. */
export async function startPasskeyServer(app: ExampleApp | undefined, options: TestServerOptions = {}): Promise<PasskeyServer> {
  const port = await freePort();
  const pageBase = `http://localhost:${port}`;
  const server = await startServer({
    ...options,
    port,
    env: {
      MFA_PUBLIC_URL: pageBase,
      ...(app ? { MFA_PASSKEY_ORIGINS: app.origin, MFA_PASSKEY_RETURN_URLS: app.backUrl } : {}),
      ...options.env,
    },
  });
  return { server, pageBase };
}

/** A token of the service client `app` acting for `alias` (RFC 8693 token exchange). */
export async function actingToken(server: TestServer, app: { clientId: string; clientSecret: string }, alias: string): Promise<string> {
  const response = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      client_id: app.clientId,
      client_secret: app.clientSecret,
      subject_token: alias,
      subject_token_type: IDENTITY_ALIAS_TOKEN_TYPE,
    }),
  });
  if (response.status !== 200) throw new Error(`token exchange answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** An assertion of the right shape that no passkey made: checked, and refused. */
export const FORGED_ASSERTION = {
  id: 'AAECAwQFBgcICQoLDA0ODw',
  rawId: 'AAECAwQFBgcICQoLDA0ODw',
  type: 'public-key',
  response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' },
  clientExtensionResults: {},
};

/** An attestation of the right shape that no authenticator made. */
export const FORGED_ATTESTATION = {
  id: 'AAECAwQFBgcICQoLDA0ODw',
  rawId: 'AAECAwQFBgcICQoLDA0ODw',
  type: 'public-key',
  response: { clientDataJSON: 'e30', attestationObject: 'oA' },
  clientExtensionResults: {},
};

/** Gives `alias` a stored passkey (not one any authenticator holds): a factor the identity has. */
export async function givePasskey(server: TestServer, alias: string): Promise<string> {
  const identity = await server.runtime.store.findIdentity(alias);
  if (!identity) throw new Error(`no identity ${alias}`);
  const id = randomBytes(16).toString('base64url');
  const outcome = await new SqlPasskeyStore(driverOf(server.runtime.store)).addPasskey(
    { id, identityId: identity.id, name: 'Laptop', publicKey: 'pQECAyYgASFYIA', signCount: 0, userHandle: 'aGFuZGxl', transports: [], deviceType: 'multiDevice', backedUp: true, createdAt: server.runtime.clock.now(), lastUsedAt: null },
    { maxPerIdentity: 100, onlyIfNone: false },
  );
  if (outcome !== 'added') throw new Error(`passkey not added: ${outcome}`);
  return id;
}

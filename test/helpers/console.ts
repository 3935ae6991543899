// What the console tests share: operators made as `operators create` makes them (the enrolment link's
// token), and a signed-in console session made straight in storage for HTTP tests that need no browser
// (the passkey sign-in itself is tested in Chromium, test/web/console.test.ts).
import { randomBytes } from 'node:crypto';
import { sessionIdHash } from '../../src/core/portal-session.js';
import type { OperatorRole } from '../../src/core/operator.js';
import { deriveKey } from '../../src/core/secrets.js';
import { masterSecret, operatorsFor } from '../../src/runtime.js';
import { AuditTrail } from '../../src/services/audit.js';
import { operatorStoreOf } from '../../src/store/index.js';
import { PortalBrowser } from './portal.js';
import type { TestServer } from './server.js';

/** Creates (or renews) an operator: the enrolment link and its token. */
export async function createOperator(server: TestServer, email: string, role: OperatorRole = 'admin'): Promise<{ link: string; token: string; operatorId: string }> {
  const { runtime } = server;
  const audit = new AuditTrail({ store: runtime.store, clock: runtime.clock, randomBytes: runtime.randomBytes });
  const created = await operatorsFor(runtime.config, runtime.store, undefined, audit, runtime.clock, runtime.randomBytes).create(email, role);
  return { link: created.link, token: created.link.split('#')[1]!, operatorId: created.operator.id };
}

/** A browser (cookie jar and form token) signed in to the console as a new operator of `role`. */
export async function consoleBrowser(server: TestServer, email: string, role: OperatorRole): Promise<PortalBrowser> {
  const { operatorId } = await createOperator(server, email, role);
  const secret = randomBytes(32).toString('base64url');
  const key = deriveKey(masterSecret(server.runtime.config), 'console-session');
  await operatorStoreOf(server.runtime.store).addSession(sessionIdHash(key, secret), operatorId, server.runtime.clock.now());
  const browser = new PortalBrowser(server);
  browser.cookies.set('mfa-console', secret);
  return browser;
}

// The self-service portal driven over HTTP as a browser would: a cookie jar, the form token of the last
// page, the service's Origin on every post. Plus invitations through the admin API and codes from the outbox.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import { readOutbox } from '../../src/delivery/outbox.js';
import { isPostgresUrl } from '../../src/store/url.js';
import type { TestServer } from './server.js';

export interface PortalAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Where a 303 sends the browser. */
  readonly location: string | null;
}

export interface PostOptions {
  /** The Origin header to send; null sends none. Default: the server's own. */
  readonly origin?: string | null;
  /** The form token to send; null sends none. Default: the last page's. */
  readonly csrf?: string | null;
}

/** A browser's view of the portal: its cookies and the form token of the last page it read. */
export class PortalBrowser {
  readonly cookies = new Map<string, string>();
  csrf: string | undefined;

  constructor(readonly server: TestServer) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private async answer(response: Response): Promise<PortalAnswer> {
    this.remember(response.headers);
    const text = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (token) this.csrf = token;
    return { status: response.status, headers: response.headers, text, location: response.headers.get('location') };
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<PortalAnswer> {
    return this.answer(await fetch(`${this.server.baseUrl}${path}`, { redirect: 'manual', headers: { cookie: this.cookieHeader(), ...headers } }));
  }

  async post(path: string, fields: Record<string, string>, options: PostOptions = {}): Promise<PortalAnswer> {
    const origin = options.origin === undefined ? this.server.baseUrl : options.origin;
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    const body = new URLSearchParams({ ...(csrf === null || csrf === undefined ? {} : { _csrf: csrf }), ...fields });
    const headers: Record<string, string> = { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' };
    if (origin !== null) headers['origin'] = origin;
    return this.answer(await fetch(`${this.server.baseUrl}${path}`, { method: 'POST', redirect: 'manual', headers, body }));
  }

  /** A script's call: a JSON body with the form token in x-csrf-token, from the service's Origin. */
  async postJson(path: string, body: unknown, options: PostOptions = {}): Promise<PortalAnswer> {
    const origin = options.origin === undefined ? this.server.baseUrl : options.origin;
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    const headers: Record<string, string> = { cookie: this.cookieHeader(), 'content-type': 'application/json' };
    if (origin !== null) headers['origin'] = origin;
    if (csrf !== null && csrf !== undefined) headers['x-csrf-token'] = csrf;
    return this.answer(await fetch(`${this.server.baseUrl}${path}`, { method: 'POST', redirect: 'manual', headers, body: JSON.stringify(body) }));
  }

  /** The session cookie's value, whichever name it has (with or without __Host-). */
  get sessionCookie(): string | undefined {
    return this.cookies.get('mfa-portal') ?? this.cookies.get('__Host-mfa-portal');
  }
}

/** Sends an invitation through the admin API; the token from the link, and the whole answer. */
export async function invite(server: TestServer, alias: string): Promise<{ token: string; link: string; body: any }> {
  const admin = await server.accessToken(['mfa:admin']);
  const response = await fetch(`${server.baseUrl}/admin/v1/identities/${encodeURIComponent(alias)}/invitations`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
  const body = (await response.json()) as any;
  assert.equal(response.status, 201, JSON.stringify(body));
  const link = String(body.link);
  return { token: link.slice(link.indexOf('#') + 1), link, body };
}

/** A browser signed in by a fresh invitation of `alias`. */
export async function signedInByInvitation(server: TestServer, alias: string): Promise<PortalBrowser> {
  const { token } = await invite(server, alias);
  const browser = new PortalBrowser(server);
  await browser.get('/portal/invitation');
  const answer = await browser.post('/portal/invitation', { invitation: token });
  assert.equal(answer.status, 303, answer.text);
  await browser.get('/portal');
  return browser;
}

/** The newest code sent to `to` (an email address) in the server's outbox. */
export async function lastCodeTo(server: TestServer, to: string): Promise<string> {
  const entries = (await readOutbox(server.dataDir)).filter((entry) => entry.to === to);
  const code = /\b(\d{6,10})\b/.exec(entries.at(-1)?.body ?? '')?.[1];
  assert.ok(code, `no code was sent to ${to}`);
  return code;
}

/** A browser signed in with an emailed code of `alias` (whose email is `email`). */
export async function signedInByCode(server: TestServer, alias: string, email: string): Promise<PortalBrowser> {
  const browser = new PortalBrowser(server);
  await browser.get('/portal/sign-in');
  assert.equal((await browser.post('/portal/sign-in', { alias })).status, 200);
  const answer = await browser.post('/portal/sign-in/code', { alias, code: await lastCodeTo(server, email) });
  assert.equal(answer.status, 303, answer.text);
  await browser.get('/portal');
  return browser;
}

/** Confirms it is you in a signed-in browser (an emailed code), as the factor-change rule asks. */
export async function reverify(browser: PortalBrowser, email: string, next = '/portal'): Promise<PortalAnswer> {
  await browser.get(`/portal/verify?next=${encodeURIComponent(next)}`);
  assert.equal((await browser.post('/portal/verify', { next })).status, 200);
  return browser.post('/portal/verify/code', { next, code: await lastCodeTo(browser.server, email) });
}

/** Settings for portal tests: cheap hashing, two answers enrol. */
export const PORTAL_TEST_ENV: Readonly<Record<string, string>> = {
  MFA_KBA_ARGON2_MEMORY_KIB: '1024',
  MFA_KBA_ARGON2_TIME_COST: '1',
  MFA_KBA_MIN_ANSWERS: '2',
};

/** The catalog the portal tests choose from. */
export async function addQuestions(server: TestServer): Promise<void> {
  const now = Date.now();
  await server.runtime.store.putQuestion({ id: 'pet', texts: { '': 'Name of your first pet?', de: 'Name Ihres ersten Haustiers?', fr: 'Nom de votre premier animal ?' }, createdAt: now });
  await server.runtime.store.putQuestion({ id: 'city', texts: { '': 'City you were born in?', de: 'Ihre Geburtsstadt?', fr: 'Votre ville de naissance ?' }, createdAt: now + 1 });
  await server.runtime.store.putQuestion({ id: 'street', texts: { '': 'Street you grew up in?', de: 'Straße Ihrer Kindheit?', fr: 'Rue de votre enfance ?' }, createdAt: now + 2 });
}

/** The form fields that answer two questions. */
export const answers = (pet: string, city: string): Record<string, string> => ({ 'question-1': 'pet', 'answer-1': pet, 'question-2': 'city', 'answer-2': city });

/** The question ids and hashes stored for the identity, to see whether a refused form changed anything. */
export async function storedAnswers(server: TestServer, alias: string): Promise<string> {
  const identity = await server.runtime.store.findIdentity(alias);
  assert.ok(identity, alias);
  return JSON.stringify(await server.runtime.store.listAnswers(identity.id));
}

/** Every row of a table as the database holds it, read beside the service (to see what is stored in clear). */
export async function tableRows(server: TestServer, table: 'portal_sessions' | 'portal_invitations'): Promise<Array<Record<string, unknown>>> {
  const url = server.runtime.config.databaseUrl;
  if (!isPostgresUrl(url)) {
    const db = new Database(url, { readonly: true });
    try {
      return db.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(`SELECT * FROM "${server.schema}".${table}`)).rows as Array<Record<string, unknown>>;
  } finally {
    await client.end();
  }
}

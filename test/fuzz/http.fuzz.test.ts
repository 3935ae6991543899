// Defends the HTTP boundary against bad input (issue "Bad input"): thousands of malformed and hostile
// requests, from a seeded generator, at every route the running app serves. Threats: a crash or a 5xx
// an attacker can trigger at will, memory that grows with hostile traffic, and error bodies that leak
// detail or break the spec's shapes (ErrorResponseDto, {error} on 401, {message} on 429, RFC 6749 on
// /oauth/token). Reproduce a failure with the seed it prints (docs/fuzzing.md).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { KeyObject, sign as cryptoSign } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { createClient } from '../../src/auth/clients.js';
import { loadConfig } from '../../src/config.js';
import { sessionIdHash } from '../../src/core/portal-session.js';
import { deriveKey, generateId } from '../../src/core/secrets.js';
import { DESCRIPTORS, METHODS as METHOD_IDS, PROVIDER_DESCRIPTORS } from '../../src/methods/index.js';
import type { ExampleSource } from '../../src/methods/method.js';
import { webauthnResponse as exampleWebauthnResponse } from '../../src/methods/passkey/index.js';
import { createRuntime, masterSecret, operatorsFor, type Runtime } from '../../src/runtime.js';
import { AuditTrail } from '../../src/services/audit.js';
import { operatorStoreOf } from '../../src/store/index.js';

// ---------------------------------------------------------------------------------------------------
// Settings

function intEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got ${text}`);
  return value;
}

const SEED = intEnv('MFA_FUZZ_SEED', 1);
/** Requests in all (in-process, real HTTP and raw sockets together). */
const COUNT = intEnv('MFA_FUZZ_COUNT', 20_000);
/** Requests in flight at once; 1 makes a run replay in the same order every time. */
const CONCURRENCY = Math.max(1, intEnv('MFA_FUZZ_CONCURRENCY', 8));
const BATCH_SIZE = 400;
/** Share of the requests sent over a real socket instead of app.inject. */
const RAW_SHARE = 0.1;
/** Share of requests that are header-level attacks only a raw socket can send. */
const HEADER_LEVEL_SHARE = 0.05;
const RAW_TIMEOUT_MS = 10_000;
/** Allowed heap growth from after the warm-up to the end (after a full GC when one can be forced). */
const HEAP_GROWTH_LIMIT_BYTES = 48 * 1024 * 1024;
const HEAP_GROWTH_LIMIT_NO_GC_BYTES = 256 * 1024 * 1024;

const BODY_LIMIT_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------------
// A seeded PRNG (mulberry32): the same seed gives the same requests.

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(items.length)]!;
  }
  /** One of the weighted choices: [weight, value] pairs. */
  weighted<T>(choices: ReadonlyArray<readonly [number, T]>): T {
    const total = choices.reduce((sum, [w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [w, value] of choices) {
      roll -= w;
      if (roll < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }
  hex(bytes: number): string {
    let out = '';
    for (let i = 0; i < bytes; i++) out += this.int(256).toString(16).padStart(2, '0');
    return out;
  }
  bytes(size: number): Buffer {
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i++) out[i] = this.int(256);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------
// A JSON model that can say what JSON.stringify cannot: duplicate keys, prototype keys as own keys, and
// number tokens such as 1e309 or -0 written exactly.

class Raw {
  constructor(readonly text: string) {}
}
class Obj {
  constructor(readonly entries: Array<[string, J]>) {}
}
type J = null | boolean | number | string | Raw | Obj | J[];

function obj(fields: Record<string, J>): Obj {
  return new Obj(Object.entries(fields));
}

function emit(value: J): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Obj) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${emit(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(emit).join(',')}]`;
  return JSON.stringify(value) ?? 'null';
}

// ---------------------------------------------------------------------------------------------------
// Hostile values

const SEEDED_ALIASES = ['fuzz.user', 'will.albin', 'fuzz.second'];
const VICTIM_ALIASES = ['victim-1', 'victim-2', 'victim.three'];
const QUESTION_IDS = ['q-pet', 'q-city', 'q-school', 'q-food'];
const VICTIM_QUESTIONS = ['vq-1', 'vq-2'];

const FIXED_STRINGS: readonly string[] = [
  '', ' ', '\t', 'null', 'undefined', 'true', 'false', '0', '-0', '1e309', '-1e309', 'NaN', 'Infinity', '-1', '0x1F', '9'.repeat(400),
  '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83d', '\udc00\ud800', '\u202eevil\u202c', '\u200b\u200d', '\ufeff', '\u2028\u2029',
  'e\u0301'.repeat(300), 'Z' + '\u0336'.repeat(2000), '😀👩‍👩‍👧‍👦🏳️‍🌈', '\u{10FFFF}', '\uFFFE\uFFFF', 'ﬁ', '１２３４５６', '١٢٣٤٥٦', 'İı', 'ß', '\u212a',
  '../../../../etc/passwd', '..\\..\\windows\\win.ini', "' OR '1'='1", "'; DROP TABLE identities;--", '%00', '%s%s%n%x', '${jndi:ldap://127.0.0.1/a}', '{{7*7}}',
  '<script>alert(1)</script>', '\r\nX-Injected: 1', '\n', '\r', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
  'will.albin', 'fuzz.user', 'FUZZ.USER', ' fuzz.user ', 'fuzz@example.com', '+15555550100', '123456', '000000', '12345', 'EMAIL_WORK', 'email_work',
  'okta-verify', 'duo-web', 'kba', 'token', 'rsa', 'SUCCESS', 'APPROVE', 'SECURID', 'q-pet', 'sp:scopes:all', 'mfa:admin',
];

/** Percent-encoding that, unlike encodeURIComponent, also writes lone surrogates (as their 3-byte WTF-8 form). */
function pct(value: string): string {
  let out = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(ch);
    }
  }
  return out;
}

function hostileString(rng: Rng): string {
  return rng.weighted<() => string>([
    [6, () => rng.pick(FIXED_STRINGS)],
    [1, () => 'a'.repeat(rng.pick([129, 201, 257, 1025, 4097, 20_000]))],
    [1, () => '\u00e9'.repeat(rng.between(1, 3000))],
    [1, () => rng.bytes(rng.between(1, 64)).toString('latin1')],
    [1, () => String.fromCharCode(...Array.from({ length: rng.between(1, 40) }, () => rng.int(0x10000)))],
    [1, () => rng.hex(rng.between(1, 40))],
  ])();
}

const RAW_NUMBERS = ['1e309', '-1e309', '-0', '0.0', '1' + '0'.repeat(400), '1e-400', '9007199254740993', '-9007199254740993', '1E+2', '0.1e1', '123456', '2147483648', '-2147483649'];
const BAD_TOKENS = ['NaN', 'Infinity', '-Infinity', 'undefined', "'single'", '0x10', '01', '.5', '+1', '1.', 'tru', 'nul'];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', '', ' ', '\u0000', 'toString', 'hasOwnProperty', '$where', 'a.b', 'a[0]', '\ud800', '__defineGetter__'];

function randomJson(rng: Rng, depth = 0): J {
  const leaf = depth > 3;
  return rng.weighted<() => J>([
    [2, () => null],
    [2, () => rng.chance(0.5)],
    [2, () => rng.pick([0, -1, 1.5, 2 ** 31, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, 1e21])],
    [2, () => new Raw(rng.pick(RAW_NUMBERS))],
    [4, () => hostileString(rng)],
    [leaf ? 0 : 2, () => Array.from({ length: rng.between(0, 4) }, () => randomJson(rng, depth + 1))],
    [
      leaf ? 0 : 2,
      () => new Obj(Array.from({ length: rng.between(0, 4) }, () => [rng.chance(0.3) ? rng.pick(HOSTILE_KEYS) : hostileString(rng).slice(0, 40), randomJson(rng, depth + 1)] as [string, J])),
    ],
  ])();
}

/** One to three structural changes of a valid value: wrong types, missing and extra fields, arrays for objects. */
function mutate(rng: Rng, value: J, depth = 0): J {
  let out = value;
  const rounds = depth === 0 ? rng.between(1, 3) : 1;
  for (let i = 0; i < rounds; i++) out = mutateOnce(rng, out, depth);
  return out;
}

function mutateOnce(rng: Rng, value: J, depth: number): J {
  if (value instanceof Obj) {
    const entries = [...value.entries];
    return rng.weighted<() => J>([
      [3, () => (entries.length > 0 ? new Obj(entries.filter((_, i) => i !== rng.int(entries.length))) : new Obj([]))],
      [3, () => new Obj([...entries, [rng.chance(0.5) ? rng.pick(HOSTILE_KEYS) : hostileString(rng).slice(0, 64), randomJson(rng, depth + 1)]])],
      [
        6,
        () => {
          if (entries.length === 0) return new Obj([[hostileString(rng), randomJson(rng)]]);
          const at = rng.int(entries.length);
          const [key, inner] = entries[at]!;
          entries[at] = [key, rng.chance(0.5) ? mutate(rng, inner, depth + 1) : randomJson(rng, depth + 1)];
          return new Obj(entries);
        },
      ],
      [2, () => (entries.length > 0 ? new Obj([...entries, rng.pick(entries).map((x, i) => (i === 1 ? randomJson(rng, depth + 1) : x)) as [string, J]]) : value)],
      [1, () => new Obj([...entries, ['__proto__', obj({ scopes: ['mfa:admin'], isAdmin: true, status: 'SUCCESS' })], ['constructor', obj({ prototype: obj({ polluted: true }) })]])],
      [1, () => [value]],
      [1, () => randomJson(rng, depth + 1)],
      [1, () => new Obj(Array.from({ length: rng.between(200, 3000) }, (_, i) => [`k${i}`, i] as [string, J]))],
    ])();
  }
  if (Array.isArray(value)) {
    return rng.weighted<() => J>([
      [2, () => []],
      [2, () => (value.length > 0 ? mutate(rng, rng.pick(value), depth + 1) : obj({}))],
      [3, () => value.map((item) => (rng.chance(0.4) ? mutate(rng, item, depth + 1) : item))],
      [2, () => [...value, randomJson(rng, depth + 1)]],
      [1, () => Array.from({ length: rng.pick([50, 200, 1000]) }, (_, i) => value[i % Math.max(1, value.length)] ?? null)],
      [1, () => randomJson(rng, depth + 1)],
    ])();
  }
  return rng.weighted<() => J>([
    [5, () => hostileString(rng)],
    [2, () => randomJson(rng, depth + 1)],
    [1, () => new Raw(rng.pick(RAW_NUMBERS))],
    [1, () => [value]],
    [1, () => obj({ value })],
    [1, () => null],
  ])();
}

/** Bytes that are not UTF-8 or only look like it: overlong forms, encoded surrogates, truncated sequences. */
const BAD_UTF8: readonly number[][] = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xf0, 0x80, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xc3],
  [0xe2, 0x82],
  [0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xc0, 0x80],
  [0x00],
];

const BROKEN_JSON = [
  '{', '}', '[', '{"a":}', '{"a":1,}', "{'a':1}", '[1,2', '{"a":1}{"b":2}', '{"a":1} trailing', '/*c*/{}', '\ufeff{}', 'nul', '"string"', '123', 'true', 'null',
  '', ' ', '\n', '{"a":"\\u12"}', '{"a":"\\x41"}', '{"a":"line\nbreak"}', '{"a":"tab\there"}', '{"a" 1}', '{a:1}', '[,]', '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}', '{"a":1e309}', '{"a":-0}', '{"a":' + '1'.repeat(5000) + '}', '{"\\u0000":1}', '{"a":"\\ud800"}', '[][]',
  'a=1&b=2', '<xml/>', '--boundary\r\n\r\n--boundary--',
];

// ---------------------------------------------------------------------------------------------------
// Requests and responses

/** page: the portal's HTML pages, whose errors are pages too (under the strict policy), and which redirect. */
type Expect = 'api' | 'oauth' | 'page' | 'wire';

interface FuzzRequest {
  readonly index: number;
  readonly label: string;
  readonly method: string;
  /** The request target exactly as sent. */
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer | undefined;
  readonly transport: 'inject' | 'raw';
  /** Header-level attacks: the whole request, bytes as sent. */
  readonly rawBytes?: Buffer;
  /** The server may close the connection without answering (the request never completes). */
  readonly mayClose?: boolean;
  readonly expect: Expect;
  /** The route aimed at, when the method and path are the route's own (for the coverage check). */
  readonly route?: string;
}

interface FuzzResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly elapsedMs: number;
}

interface Finding {
  readonly problem: string;
  readonly request: FuzzRequest;
  readonly status: number | undefined;
  readonly body: string;
}

// ---------------------------------------------------------------------------------------------------
// Routes, from the running app: the served OpenAPI document plus every route the router knows.

interface Route {
  readonly method: string;
  /** With {param} placeholders. */
  readonly path: string;
}

function routerRoutes(tree: string): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│   |    )*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (stack[depth - 1] ?? '') + match[2]!;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean)) {
      if (method !== 'HEAD') routes.push({ method, path: path.replace(/:([A-Za-z]+)/g, '{$1}') });
    }
  }
  return routes;
}

/** The route as the controller names it: /v3 and /beta dropped, and /mfa/v1 (the configuration API v1) as /mfa. */
const prefixless = (path: string) => path.replace(/^\/(v3|beta)(?=\/mfa\/)/, '').replace(/^\/mfa\/v1\//, '/mfa/');

// ---------------------------------------------------------------------------------------------------
// The world the requests act on

interface World {
  readonly runtime: Runtime;
  readonly dataDir: string;
  readonly baseUrl: string;
  readonly port: number;
  readonly routes: readonly Route[];
  readonly closedPort: number;
  /** Tokens with every spec scope, mfa:admin and mfa:metrics (a service client). */
  readonly serviceTokens: readonly string[];
  /** Tokens of a personal client acting for fuzz.user, every spec scope. */
  readonly personalTokens: readonly string[];
  /** Valid tokens without the route's scope. */
  readonly narrowTokens: readonly string[];
  /** Tokens that must be refused: forged, expired, tampered, malformed. */
  readonly badTokens: ReadonlyArray<readonly [string, string]>;
  readonly client: { clientId: string; clientSecret: string };
  /** Request ids seen in answers, so polls also reach real verifications. */
  readonly requestIds: string[];
  readonly errorLog: string[];
  rotations: number;
  consoleRotations: number;
  /** A signed-in portal session of fuzz.user and a browser's pre-session cookie, with their form tokens (renewed by seed()). */
  portal: PortalCredentials;
  /** A console session of an admin operator and a pre-session cookie, with their tokens (renewed by seed()). */
  console: PortalCredentials;
}

interface PortalCredentials {
  readonly sessionCookie: string;
  readonly sessionToken: string;
  readonly preCookie: string;
  readonly preToken: string;
}

/** Stands for the Origin of the service as the transport reaches it (inject's Host, or the socket's). */
const OWN_ORIGIN = '{own origin}';

const formToken = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const setCookie = (headers: Record<string, unknown>, name: string): string => {
  const lines = ([] as unknown[]).concat(headers['set-cookie'] ?? []).map(String);
  return lines.find((line) => line.startsWith(`${name}=`))?.split(';')[0] ?? '';
};

/** Signs fuzz.user in to the portal by an invitation, as a browser would; and a pre-session for the sign-in forms. */
async function portalCredentials(runtime: Runtime, adminToken: string): Promise<PortalCredentials> {
  const invitation = await runtime.app.inject({ method: 'POST', url: '/admin/v1/identities/fuzz.user/invitations', headers: { authorization: `Bearer ${adminToken}` } });
  assert.equal(invitation.statusCode, 201, invitation.body);
  const link = String((invitation.json() as { link: string }).link);
  const page = await runtime.app.inject({ method: 'GET', url: '/portal/invitation' });
  const preCookie = setCookie(page.headers, 'mfa-portal-pre');
  const preToken = formToken(page.body);
  const signIn = await runtime.app.inject({
    method: 'POST',
    url: '/portal/invitation',
    headers: { cookie: preCookie, origin: 'http://localhost', 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: preToken, invitation: link.slice(link.indexOf('#') + 1) }).toString(),
  });
  assert.equal(signIn.statusCode, 303, signIn.body);
  const sessionCookie = setCookie(signIn.headers, 'mfa-portal');
  const overview = await runtime.app.inject({ method: 'GET', url: '/portal', headers: { cookie: sessionCookie } });
  assert.equal(overview.statusCode, 200, overview.body);
  const pre = await runtime.app.inject({ method: 'GET', url: '/portal/sign-in' });
  return { sessionCookie, sessionToken: formToken(overview.body), preCookie: setCookie(pre.headers, 'mfa-portal-pre'), preToken: formToken(pre.body) };
}

/** An admin operator of the console signed in (the session made in storage: passkeys are tested in Chromium), and a pre-session. */
async function consoleCredentials(runtime: Runtime): Promise<PortalCredentials> {
  const audit = new AuditTrail({ store: runtime.store, clock: runtime.clock, randomBytes: runtime.randomBytes });
  const { operator } = await operatorsFor(runtime.config, runtime.store, undefined, audit, runtime.clock, runtime.randomBytes).create('fuzz.operator@example.com', 'admin');
  const secret = runtime.randomBytes(32).toString('base64url');
  await operatorStoreOf(runtime.store).addSession(sessionIdHash(deriveKey(masterSecret(runtime.config), 'console-session'), secret), operator.id, runtime.clock.now());
  const sessionCookie = `mfa-console=${secret}`;
  const dashboard = await runtime.app.inject({ method: 'GET', url: '/console', headers: { cookie: sessionCookie } });
  assert.equal(dashboard.statusCode, 200, dashboard.body);
  const pre = await runtime.app.inject({ method: 'GET', url: '/console/sign-in' });
  return { sessionCookie, sessionToken: formToken(dashboard.body), preCookie: setCookie(pre.headers, 'mfa-console-pre'), preToken: /data-csrf="([^"]+)"/.exec(pre.body)?.[1] ?? '' };
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const b64u = (text: string | Buffer) => Buffer.from(text).toString('base64url');

/** Each provider method's example configuration (from its descriptor), its provider at a closed local port. */
function providerConfigs(port: number): Record<string, J> {
  return Object.fromEntries(PROVIDER_DESCRIPTORS.map((d) => [d.id, toModel(d.provider.example(`http://127.0.0.1:${port}`))]));
}

/** A plain JSON value as the model. */
function toModel(value: unknown): J {
  if (Array.isArray(value)) return value.map(toModel);
  if (value !== null && typeof value === 'object') return new Obj(Object.entries(value).map(([k, v]) => [k, toModel(v)]));
  return value as J;
}

async function seedIdentities(runtime: Runtime): Promise<void> {
  await runtime.store.upsertIdentities(
    [
      { alias: 'fuzz.user', status: 'active', attributes: { email: 'fuzz@example.com', personalEmail: 'fuzz.home@example.com', phone: '+15555550100', workPhone: '+15555550101', locale: 'fr' } },
      { alias: 'will.albin', status: 'active', attributes: { email: 'will.albin@example.com', phone: '+15555550102' } },
      { alias: 'fuzz.second', status: 'active', attributes: { email: 'second@example.com' } },
    ],
    () => generateId(runtime.randomBytes),
    runtime.clock.now(),
  );
}

/** Puts back what the fuzzing may have changed: the seeded identities and the provider configurations. */
async function seed(world: World): Promise<void> {
  const { runtime } = world;
  await seedIdentities(runtime);
  const admin = world.serviceTokens[0]!;
  const overview = await runtime.app.inject({ method: 'GET', url: '/portal', headers: { cookie: world.portal.sessionCookie } });
  if (overview.statusCode !== 200) world.portal = await portalCredentials(runtime, admin);
  const dashboard = await runtime.app.inject({ method: 'GET', url: '/console', headers: { cookie: world.console.sessionCookie } });
  if (dashboard.statusCode !== 200) world.console = await consoleCredentials(runtime);
  for (const id of QUESTION_IDS) {
    const answer = await runtime.app.inject({ method: 'PUT', url: `/admin/v1/kba/questions/${id}`, headers: { authorization: `Bearer ${admin}` }, payload: { text: `Question ${id}?` } });
    assert.equal(answer.statusCode, 200, `seeding question ${id}: ${answer.body}`);
  }
  for (const [method, body] of Object.entries(providerConfigs(world.closedPort))) {
    const answer = await runtime.app.inject({ method: 'PUT', url: `/v3/mfa/${method}/config`, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: emit(body) });
    assert.equal(answer.statusCode, 200, `seeding ${method}: ${answer.body}`);
  }
}

async function issueToken(runtime: Runtime, scopes: readonly string[], identityAlias: string | null = null): Promise<string> {
  const { clientId, clientSecret } = await createClient(runtime.store, runtime.clock, runtime.randomBytes, 'fuzz', scopes, identityAlias);
  const answer = await runtime.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } });
  assert.equal(answer.statusCode, 200, answer.body);
  return (answer.json() as { access_token: string }).access_token;
}

/** Tokens that must all be refused with 401 (or, for validly signed ones with odd claims, never a 5xx). */
async function forgeTokens(runtime: Runtime, valid: string): Promise<Array<readonly [string, string]>> {
  const { kid, privateKey } = await runtime.keys.signingKey();
  const jwks = (await runtime.keys.jwks()) as { keys: JWK[] };
  const publicJwk = jwks.keys.find((k) => k.kid === kid) ?? jwks.keys[0]!;
  const issuer = runtime.config.publicUrl;
  const now = Math.floor(Date.now() / 1000);
  const claims = { scope: 'sp:scopes:all mfa:admin', client_id: 'forged', sub: 'forged', iss: issuer, iat: now, exp: now + 600 };
  const header = { alg: 'EdDSA', kid, typ: 'at+jwt' };
  const signReal = (payload: Record<string, unknown>, protectedHeader: Record<string, unknown> = header) =>
    new SignJWT(payload).setProtectedHeader(protectedHeader as { alg: string }).sign(privateKey);
  // Compact JWS signed with the real key, for what jose refuses to produce (unknown crit, odd payloads).
  const keyObject = privateKey instanceof KeyObject ? privateKey : KeyObject.from(privateKey as CryptoKey);
  const signRaw = (protectedHeader: Record<string, unknown>, payloadText: string) => {
    const input = `${b64u(JSON.stringify(protectedHeader))}.${b64u(payloadText)}`;
    return `${input}.${b64u(cryptoSign(null, Buffer.from(input), keyObject))}`;
  };
  const [headerPart, payloadPart, signaturePart] = valid.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Record<string, unknown>;
  const rsa = await generateKeyPair('RS256');
  const otherEd = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const es = await generateKeyPair('ES256');
  const hsSecret = new TextEncoder().encode(JSON.stringify(publicJwk));
  const hsX = Buffer.from(String(publicJwk.x), 'base64url');

  const tokens: Array<readonly [string, string]> = [
    ['garbage', 'garbage'],
    ['dots', 'a.b.c'],
    ['empty parts', '..'],
    ['long', 'x'.repeat(8000)],
    ['very long', 'eyJ' + 'A'.repeat(60_000)],
    ['truncated', valid.slice(0, -10)],
    ['last char flipped', valid.slice(0, -1) + (valid.endsWith('A') ? 'B' : 'A')],
    ['no signature', `${headerPart}.${payloadPart}.`],
    ['two parts', `${headerPart}.${payloadPart}`],
    ['five parts (JWE shape)', `${headerPart}.${payloadPart}.${signaturePart}.${payloadPart}.${signaturePart}`],
    ['padded', `${valid}==`],
    ['tampered payload', `${headerPart}.${b64u(JSON.stringify({ ...payload, scope: 'sp:scopes:all mfa:admin', client_id: 'someone-else' }))}.${signaturePart}`],
    ['tampered header alg none', `${b64u(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid }))}.${payloadPart}.${signaturePart}`],
    ['alg none', `${b64u(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid }))}.${b64u(JSON.stringify(claims))}.`],
    ['alg NONE', `${b64u(JSON.stringify({ alg: 'NONE', typ: 'at+jwt' }))}.${b64u(JSON.stringify(claims))}.`],
    ['HS256 keyed by public JWK', await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(hsSecret)],
    ['HS256 keyed by public key bytes', await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(hsX)],
    ['RS256 random key', await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' }).sign(rsa.privateKey)],
    ['ES256 random key', await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(es.privateKey)],
    ['EdDSA random key, real kid', await new SignJWT(claims).setProtectedHeader(header).sign(otherEd.privateKey)],
    ['embedded jwk', await new SignJWT(claims).setProtectedHeader({ ...header, jwk: await exportJWK(otherEd.publicKey) }).sign(otherEd.privateKey)],
    ['jku', await new SignJWT(claims).setProtectedHeader({ ...header, jku: 'http://127.0.0.1:1/jwks.json' }).sign(otherEd.privateKey)],
    ['unknown kid', await new SignJWT(claims).setProtectedHeader({ ...header, kid: 'no-such-kid' }).sign(otherEd.privateKey)],
    ['path kid', await new SignJWT(claims).setProtectedHeader({ ...header, kid: '../../../etc/passwd' }).sign(otherEd.privateKey)],
    ['huge kid', await new SignJWT(claims).setProtectedHeader({ ...header, kid: 'k'.repeat(10_000) }).sign(otherEd.privateKey)],
    ['huge header', await signReal(claims, { ...header, pad: 'p'.repeat(40_000) })],
    ['expired', await signReal({ ...claims, iat: now - 7200, exp: now - 3600 })],
    ['not yet valid', await signReal({ ...claims, nbf: now + 3600 })],
    ['wrong issuer', await signReal({ ...claims, iss: 'https://evil.example' })],
    ['no exp', await signReal({ scope: claims.scope, client_id: 'forged', sub: 'forged', iss: issuer })],
    ['no client_id', await signReal({ ...claims, client_id: undefined })],
    ['no sub', await signReal({ ...claims, sub: undefined })],
    ['typ JWT', await signReal(claims, { ...header, typ: 'JWT' })],
    ['no typ', await signReal(claims, { alg: 'EdDSA', kid })],
    ['crit unknown', signRaw({ ...header, crit: ['x-unknown'], 'x-unknown': 1 }, JSON.stringify(claims))],
    ['crit exp', signRaw({ ...header, crit: ['exp'] }, JSON.stringify(claims))],
    ['b64 false', signRaw({ ...header, b64: false, crit: ['b64'] }, JSON.stringify(claims))],
    ['payload null', signRaw(header, 'null')],
    ['payload array', signRaw(header, '[1,2]')],
    ['payload string', signRaw(header, '"sp:scopes:all"')],
    ['payload not JSON', signRaw(header, '{"exp":')],
    ['payload with __proto__', signRaw(header, `{"__proto__":{"scope":"mfa:admin"},"client_id":"p","sub":"p","iss":${JSON.stringify(issuer)},"exp":${now + 600}}`)],
    ['header not JSON', `${b64u('{"alg":')}.${payloadPart}.${signaturePart}`],
    ['exp as string', await signReal({ ...claims, exp: String(now + 600) })],
    ['exp huge', await signReal({ ...claims, exp: 1e300 })],
  ];
  // Validly signed with odd claims: they pass the signature, so the handlers see odd principals.
  const odd: Array<readonly [string, string]> = [
    ['signed: numeric client_id', await signReal({ ...claims, client_id: 12345 })],
    ['signed: object client_id', await signReal({ ...claims, client_id: { $ne: null } })],
    ['signed: scope array', await signReal({ ...claims, scope: ['sp:scopes:all'] })],
    ['signed: scope padded', await signReal({ ...claims, scope: ' '.repeat(500) + 'sp:scopes:all' + ' '.repeat(500) })],
    ['signed: identity array', await signReal({ ...claims, scope: 'sp:scopes:all', mfa_identity: ['fuzz.user'] })],
    ['signed: identity __proto__', await signReal({ ...claims, scope: 'sp:scopes:all', mfa_identity: '__proto__' })],
    ['signed: identity missing', await signReal({ ...claims, scope: 'sp:scopes:all', mfa_identity: 'nobody-at-all' })],
    ['signed: identity unicode', await signReal({ ...claims, scope: 'sp:scopes:all', mfa_identity: '\ud800\u0000\u202e' })],
    ['signed: empty client_id', await signReal({ ...claims, client_id: '' })],
    ['signed: huge client_id', await signReal({ ...claims, client_id: 'c'.repeat(5000) })],
  ];
  return [...tokens, ...odd];
}

// ---------------------------------------------------------------------------------------------------
// Generators

const PARAM_VALUES: Readonly<Record<string, readonly string[]>> = {
  method: METHOD_IDS,
  alias: VICTIM_ALIASES,
  id: VICTIM_QUESTIONS,
  clientId: ['0123456789abcdef0123456789abcdef'],
};

/**
 * Path parameters never name the seeded identities and questions: deleting them mid-batch only makes
 * the KBA requests of that batch fail early (and races a known store bug, see docs/fuzzing.md).
 */
const PROTECTED = new Set([...SEEDED_ALIASES, ...QUESTION_IDS].map((v) => v.toLowerCase()));

function pathParam(rng: Rng, name: string): string {
  const value = pathParamCandidate(rng, name);
  return PROTECTED.has(safeDecode(value).trim().toLowerCase()) ? rng.pick(PARAM_VALUES[name] ?? ['x']) : value;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function pathParamCandidate(rng: Rng, name: string): string {
  return rng.weighted<() => string>([
    [6, () => rng.pick(PARAM_VALUES[name] ?? ['x'])],
    [3, () => pct(hostileString(rng)).slice(0, 600)],
    [1, () => rng.pick(['', '%', '%zz', '%E0%A4%A', '%00', '%2F', '..', '.', '%2e%2e', '%C0%AF', '%ED%A0%80', '%FF', '%25', '%u0041', 'OKTA-VERIFY', 'a'.repeat(199), 'a'.repeat(201), 'b'.repeat(5000)])],
  ])();
}

function fillPath(rng: Rng, path: string): string {
  return path.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => pathParam(rng, name));
}

/** Odd forms of a path that must still route sensibly (404 or the route). */
function distortPath(rng: Rng, path: string): string {
  return rng.pick<(p: string) => string>([
    (p) => `${p}/`,
    (p) => `/${p}`,
    (p) => p.toUpperCase(),
    (p) => p.replace('/mfa/', '/mfa//'),
    (p) => p.replace('/mfa/', '/mfa/./'),
    (p) => `${p}/..`,
    (p) => p.replace('/mfa/', '/mfa/%2e%2e/'),
    (p) => `${p};jsessionid=1`,
    (p) => p.replace(/\//g, '%2F'),
    (p) => `${p}%00`,
    (p) => `${p}%`,
    (p) => `${p}/${'x'.repeat(3000)}`,
    (p) => p.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`),
  ])(path);
}

function hostileQueryValue(rng: Rng): string {
  return rng.weighted<() => string>([
    [4, () => pct(hostileString(rng)).slice(0, 2000)],
    [2, () => rng.pick(['%', '%zz', '%E0%A4%A', '%00', '%C0%AF', '%ED%A0%80', '%uD800', '+', '%2B', '&', '=', '==', 'true', 'TRUE', '1', ''])],
    [1, () => 'q'.repeat(rng.pick([1000, 9000]))],
  ])();
}

function queryFor(rng: Rng, key: string): string {
  const parts: string[] = [];
  if (key === 'GET /mfa/kba/config') {
    parts.push(
      rng.weighted<() => string>([
        [3, () => `allLanguages=${rng.pick(['true', 'false'])}`],
        [2, () => `allLanguages=${hostileQueryValue(rng)}`],
        [1, () => 'allLanguages=true&allLanguages=false'],
        [1, () => 'allLanguages'],
        [1, () => 'allLanguages[]=true'],
      ])(),
    );
  }
  if (key === 'GET /mfa/totp/status' || key === 'DELETE /mfa/totp/registration') {
    parts.push(
      rng.weighted<() => string>([
        [4, () => `userAlias=${encodeURIComponent(rng.pick([...SEEDED_ALIASES, ...VICTIM_ALIASES, 'nobody']))}`],
        [2, () => `userAlias=${hostileQueryValue(rng)}`],
        [1, () => 'userAlias=fuzz.user&userAlias=will.albin'],
        [1, () => `userAlias=${'a'.repeat(257)}`],
        [1, () => 'userAlias'],
      ])(),
    );
  }
  if (key === 'GET /console/identity' || key === 'GET /console/identities') {
    parts.push(rng.pick([`alias=${encodeURIComponent(rng.pick([...SEEDED_ALIASES, 'nobody']))}`, `alias=${hostileQueryValue(rng)}`, `q=${rng.pick(['fuzz', hostileQueryValue(rng)])}`, `after=${hostileQueryValue(rng)}`, 'alias=a&alias=b']));
  }
  if (key === 'GET /console/audit' || key === 'GET /console/audit/export' || key === 'GET /console/verifications') {
    parts.push(
      rng.pick([
        `method=${rng.pick(['token', 'console', hostileQueryValue(rng)])}`,
        `outcome=${rng.pick(['SUCCESS', 'LOCKOUT', hostileQueryValue(rng)])}`,
        `since=${rng.pick(['2026-01-01T00:00', '1700000000000', hostileQueryValue(rng)])}&until=${hostileQueryValue(rng)}`,
        `client=${hostileQueryValue(rng)}&alias=fuzz.user`,
        `format=${rng.pick(['csv', 'json', hostileQueryValue(rng)])}`,
        `requestId=${rng.pick([...(rng.chance(0.5) ? ['x'] : []), hostileQueryValue(rng)])}`,
        `after=${rng.pick(['000000000000000000000deadbeef', hostileQueryValue(rng)])}`,
        'method=token&method=kba',
      ]),
    );
  }
  if (key === 'GET /admin/v1/identities') {
    parts.push(rng.pick([`limit=${rng.pick(['1', '10', '1000', '1001', '0', '-1', '1e3', '0x10', '01', ' 1', '１', '99999999999999999999'])}`, `after=${hostileQueryValue(rng)}`, 'limit=5&limit=6']));
  }
  if (rng.chance(0.2)) {
    parts.push(rng.pick([`${hostileQueryValue(rng)}=${hostileQueryValue(rng)}`, '__proto__[polluted]=1', 'constructor[prototype][x]=1', 'a[b][c]=1', `${'k'.repeat(100)}=${'v'.repeat(100)}`, '&&&', '=']));
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

interface Payload {
  readonly label: string;
  readonly body: Buffer | undefined;
  readonly contentType: string | undefined;
}

const json = (label: string, value: J): Payload => ({ label, body: Buffer.from(emit(value)), contentType: 'application/json' });
const text = (label: string, body: string | Buffer, contentType: string | undefined): Payload => ({ label, body: Buffer.from(body), contentType });

/** The world of this test as the methods' examples see it: its identities and questions, drawn from `rng`. */
function exampleSource(rng: Rng): ExampleSource {
  return {
    alias: () => rng.pick(SEEDED_ALIASES),
    email: () => rng.pick(['fuzz@example.com', 'will.albin@example.com', 'nobody@example.com']),
    questionIds: () => [...QUESTION_IDS].sort(() => rng.next() - 0.5),
    text: () => hostileString(rng),
    digits: (length) => String(rng.int(10 ** length)).padStart(length, '0'),
    integer: (min, max) => rng.between(min, max),
    hex: (bytes) => rng.hex(bytes),
    chance: (probability) => rng.chance(probability),
    pick: (items) => rng.pick(items),
    nowSeconds: () => Math.floor(Date.now() / 1000),
  };
}

/** Every method's example requests (from its descriptor), by `VERB /path` without the prefix. */
const METHOD_EXAMPLES: ReadonlyMap<string, (source: ExampleSource) => unknown> = new Map(DESCRIPTORS.flatMap((d) => Object.entries(d.examples.requests)));

/** A valid request body for the route, or undefined when it takes none. */
function validPayload(rng: Rng, world: World, key: string): Payload | undefined {
  const alias = () => rng.pick(SEEDED_ALIASES);
  const example = METHOD_EXAMPLES.get(key);
  if (example) return json('valid', toModel(example(exampleSource(rng))));
  const configured = /^PUT \/mfa\/([^/]+)\/config$/.exec(key)?.[1];
  const providerConfig = configured === undefined ? undefined : providerConfigs(world.closedPort)[configured];
  if (providerConfig !== undefined) return json('valid', providerConfig);
  switch (key) {
    case 'POST /mfa/{method}/poll':
      return json('valid', obj({ requestId: world.requestIds.length > 0 && rng.chance(0.7) ? rng.pick(world.requestIds) : rng.hex(16) }));
    case 'POST /oauth/token':
      return text(
        'valid',
        new URLSearchParams({ grant_type: 'client_credentials', client_id: world.client.clientId, client_secret: rng.chance(0.7) ? world.client.clientSecret : hostileString(rng) }).toString(),
        'application/x-www-form-urlencoded',
      );
    case 'PUT /admin/v1/identities/{alias}':
      return json('valid', obj({ status: rng.pick(['active', 'disabled']), email: 'victim@example.com', phone: '+15555550199' }));
    case 'POST /admin/v1/identities/import':
      return rng.chance(0.5)
        ? json('valid', [obj({ alias: rng.pick(VICTIM_ALIASES), email: 'v@example.com' }), obj({ alias: 'victim-import', status: 'active', attributes: obj({ phone: '+15555550123' }) })])
        : text('valid csv', `alias,email,phone\n${rng.pick(VICTIM_ALIASES)},v@example.com,+15555550124\n`, 'text/csv');
    case 'PUT /admin/v1/kba/questions/{id}':
      return json('valid', obj({ text: 'What is your favourite fuzzer?', locale: rng.pick(['en', 'fr', 'de-CH', 'pt_BR']) }));
    case 'POST /admin/v1/clients':
      return json('valid', obj({ name: 'fuzzed client', scopes: ['idn:mfa:send'] }));
    case 'POST /console/sign-in/options':
      return json('valid', obj({}));
    case 'POST /console/sign-in/verify':
      return json('valid', obj({ response: webauthnResponse(rng, 'assertion') }));
    case 'POST /console/enrol/options':
      return json('valid', obj({ token: rng.chance(0.5) ? rng.bytes(32).toString('base64url') : hostileString(rng) }));
    case 'POST /console/enrol/verify':
      return json('valid', obj({ token: rng.bytes(32).toString('base64url'), response: webauthnResponse(rng, 'attestation') }));
    case 'POST /console/sign-out':
      // Rarely: a sign-out ends the session the other console requests use until the next seed.
      return consoleForm(world, rng.chance(0.2) ? 'session' : 'pre', {});
    case 'POST /console/identity/unlock':
    case 'POST /console/identity/invite':
      return consoleForm(world, 'session', { alias: alias() });
    case 'POST /console/identity/reset':
      return consoleForm(world, 'session', { alias: alias(), factor: rng.pick(['kba', 'totp', 'passkey', hostileString(rng)]) });
    case 'POST /console/providers/test':
      return consoleForm(world, 'session', { method: rng.pick(['rsa', 'duo-web', 'okta-verify', hostileString(rng)]) });
    case 'POST /console/providers/save':
      return consoleForm(world, 'session', {
        method: rng.pick(['rsa', 'duo-web', 'okta-verify', hostileString(rng)]),
        enabled: rng.pick(['true', 'false']),
        host: rng.pick([`http://127.0.0.1:${world.closedPort}`, 'https://evil.example', 'http://169.254.169.254', hostileString(rng)]),
        accessKey: rng.pick(['a******y', 'secret-for-fuzzing', hostileString(rng)]),
        identityAttribute: rng.pick(['email', hostileString(rng)]),
        configProperties: rng.pick(['{"ikey":"DIWJ8X6AEYOR5OMC6TQ1","skey":"Z******5"}', '[]', '{', hostileString(rng)]),
      });
    case 'POST /console/clients':
      return consoleForm(world, 'session', { name: rng.pick(['fuzz console client', hostileString(rng)]), scopes: rng.pick(['idn:mfa:send', 'sp:scopes:all mfa:admin', hostileString(rng)]), identityAlias: rng.pick(['', 'fuzz.user', hostileString(rng)]) });
    case 'POST /console/clients/disable':
    case 'POST /console/clients/delete':
      return consoleForm(world, 'session', { clientId: rng.pick([world.client.clientId, rng.hex(16), hostileString(rng)]) });
    case 'POST /console/questions':
      return consoleForm(world, 'session', { id: rng.pick([...QUESTION_IDS, hostileString(rng)]), text: hostileString(rng), locale: rng.pick(['', 'de', hostileString(rng)]) });
    case 'POST /console/questions/remove':
      return consoleForm(world, 'session', { id: rng.pick([...QUESTION_IDS, hostileString(rng)]) });
    case 'POST /console/keys/rotate':
      return consoleForm(world, 'session', { retirePrevious: rng.pick(['true', 'false', hostileString(rng)]) });
    case 'POST /portal/sign-in':
      return portalForm(world, 'pre', { alias: alias() });
    case 'POST /portal/sign-in/code':
      return portalForm(world, 'pre', { alias: alias(), code: String(rng.int(1_000_000)).padStart(6, '0') });
    case 'POST /portal/invitation':
      return portalForm(world, 'pre', { invitation: rng.chance(0.5) ? b64u(rng.bytes(32)) : hostileString(rng) });
    case 'POST /portal/sign-out':
      // Rarely: every sign-out ends the session the other portal requests use until the next seed.
      return portalForm(world, rng.chance(0.2) ? 'session' : 'pre', {});
    case 'POST /portal/verify':
      return portalForm(world, 'session', { next: rng.pick(['/portal', '/portal/security-questions', 'https://evil.example', hostileString(rng)]) });
    case 'POST /portal/verify/code':
      return portalForm(world, 'session', { next: '/portal', code: String(rng.int(1_000_000)).padStart(6, '0') });
    case 'POST /portal/security-questions':
      return portalForm(world, 'session', { 'question-1': rng.pick(QUESTION_IDS), 'answer-1': hostileString(rng), 'question-2': rng.pick([...QUESTION_IDS, hostileString(rng)]), 'answer-2': 'right', 'question-3': '', 'answer-3': '' });
    case 'POST /portal/passkeys/options':
      return portalJson(world, 'session', {});
    case 'POST /portal/passkeys/verify':
      return portalJson(world, 'session', { requestId: rng.hex(16), response: webauthnResponse(rng, 'attestation'), name: rng.pick(['Laptop', hostileString(rng)]) });
    case 'POST /portal/passkeys/rename':
      return portalForm(world, 'session', { credentialId: rng.bytes(16).toString('base64url'), name: hostileString(rng) });
    case 'POST /portal/passkeys/remove':
      return portalForm(world, 'session', { credentialId: rng.chance(0.5) ? rng.bytes(16).toString('base64url') : hostileString(rng) });
    case 'POST /portal/authenticator-app':
    case 'POST /portal/authenticator-app/remove':
      return portalForm(world, 'session', {});
    case 'POST /portal/authenticator-app/confirm':
      return portalForm(world, 'session', { code: rng.chance(0.5) ? String(rng.int(1_000_000)).padStart(6, '0') : hostileString(rng) });
    case 'POST /portal/sign-in/passkey/options':
      return portalJson(world, 'pre', { alias: alias() });
    case 'POST /portal/sign-in/passkey/verify':
      return portalJson(world, 'pre', { requestId: world.requestIds.length > 0 && rng.chance(0.5) ? rng.pick(world.requestIds) : rng.hex(16), response: webauthnResponse(rng, 'assertion') });
    default:
      return undefined;
  }
}

/** A WebAuthn answer of the right shape with random parts, as the passkey method's examples make them. */
function webauthnResponse(rng: Rng, kind: 'assertion' | 'attestation'): J {
  return toModel(exampleWebauthnResponse(exampleSource(rng), kind));
}

/** A portal script's JSON call, the form token in the body (the portal reads it there as from a form). */
function portalJson(world: World, scope: 'session' | 'pre', fields: Record<string, J>): Payload {
  const token = scope === 'session' ? world.portal.sessionToken : world.portal.preToken;
  return json('valid', obj({ _csrf: token, ...fields }));
}

/** A portal form with the token of the session or of the pre-session cookie. */
function portalForm(world: World, scope: 'session' | 'pre', fields: Record<string, string>): Payload {
  const token = scope === 'session' ? world.portal.sessionToken : world.portal.preToken;
  return text('valid form', new URLSearchParams({ _csrf: token, ...fields }).toString(), 'application/x-www-form-urlencoded');
}

/** A console form with the token of the session or of the pre-session cookie. */
function consoleForm(world: World, scope: 'session' | 'pre', fields: Record<string, string>): Payload {
  const token = scope === 'session' ? world.console.sessionToken : world.console.preToken;
  return text('valid form', new URLSearchParams({ _csrf: token, ...fields }).toString(), 'application/x-www-form-urlencoded');
}

/** What a browser sends the console: its cookies, an Origin and (for the passkey calls) the pre-session token, mostly the right ones. */
function consoleHeaders(rng: Rng, world: World): { label: string; headers: Array<[string, string]> } {
  const headers: Array<[string, string]> = [];
  const cookie = rng.weighted<() => [string, string | undefined]>([
    [8, () => ['console cookies', `${world.console.sessionCookie}; ${world.console.preCookie}`]],
    [1, () => ['no cookie', undefined]],
    [1, () => ['hostile cookie', rng.pick([`mfa-console=${pct(hostileString(rng)).slice(0, 300)}`, `mfa-console=${'A'.repeat(43)}; mfa-console=x`, `mfa-console-pre=${hostileString(rng).replace(/[\r\n;]/g, '')}`, `mfa-console-lang=${hostileString(rng).replace(/[\r\n;]/g, '')}`, ';;=;'])]],
  ])();
  if (cookie[1] !== undefined) headers.push(['cookie', cookie[1]]);
  const origin = rng.weighted<() => [string, string | undefined]>([
    [8, () => ['own origin', OWN_ORIGIN]],
    [1, () => ['no origin', undefined]],
    [1, () => ['foreign origin', rng.pick(['https://evil.example', 'null', hostileString(rng).replace(/[\r\n]/g, '')])]],
  ])();
  if (origin[1] !== undefined) headers.push(['origin', origin[1]]);
  if (rng.chance(0.9)) headers.push(['x-csrf-token', rng.chance(0.9) ? world.console.preToken : hostileString(rng).replace(/[\r\n]/g, '')]);
  return { label: `${cookie[0]}, ${origin[0]}`, headers };
}

/** What a browser sends the portal: its cookies and an Origin, most of the time the right ones. */
function portalHeaders(rng: Rng, world: World): { label: string; headers: Array<[string, string]> } {
  const headers: Array<[string, string]> = [];
  const cookie = rng.weighted<() => [string, string | undefined]>([
    [8, () => ['portal cookies', `${world.portal.sessionCookie}; ${world.portal.preCookie}`]],
    [1, () => ['no cookie', undefined]],
    [1, () => ['hostile cookie', rng.pick([`mfa-portal=${pct(hostileString(rng)).slice(0, 300)}`, `mfa-portal=${'A'.repeat(43)}; mfa-portal=x`, `mfa-portal-pre=${hostileString(rng).replace(/[\r\n;]/g, '')}`, `mfa-portal-lang=${hostileString(rng).replace(/[\r\n;]/g, '')}`, ';;=;', 'a'.repeat(8000)])]],
  ])();
  if (cookie[1] !== undefined) headers.push(['cookie', cookie[1]]);
  const origin = rng.weighted<() => [string, string | undefined]>([
    [8, () => ['own origin', OWN_ORIGIN]],
    [1, () => ['no origin', undefined]],
    [1, () => ['foreign origin', rng.pick(['https://evil.example', 'null', 'http://127.0.0.1', hostileString(rng).replace(/[\r\n]/g, '')])]],
  ])();
  if (origin[1] !== undefined) headers.push(['origin', origin[1]]);
  return { label: `${cookie[0]}, ${origin[0]}`, headers };
}

function deep(rng: Rng, levels: number): string {
  return rng.pick<() => string>([
    () => '['.repeat(levels) + ']'.repeat(levels),
    () => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels),
    () => '[{"id":'.repeat(levels) + 'null' + '}]'.repeat(levels),
    () => `{"userAlias":${'['.repeat(levels)}${']'.repeat(levels)},"deliveryType":"EMAIL_WORK"}`,
    () => '['.repeat(levels), // unbalanced
  ])();
}

function hostilePayload(rng: Rng, world: World, key: string): Payload {
  const valid = validPayload(rng, world, key);
  const validJson: J | undefined = valid?.contentType === 'application/json' && valid.body ? parseModel(valid.body.toString('utf8')) : undefined;
  const importLimit = key === 'POST /admin/v1/identities/import';
  return rng.weighted<() => Payload>([
    [validJson !== undefined ? 40 : 0, () => json('mutated', mutate(rng, validJson!))],
    [8, () => json('random json', randomJson(rng))],
    [6, () => text('broken json', rng.pick(BROKEN_JSON), 'application/json')],
    [
      4,
      () => {
        const bad = Buffer.from(rng.pick(BAD_UTF8));
        const before = Buffer.from(validJson instanceof Obj && validJson.entries.length > 0 ? `{${JSON.stringify(validJson.entries[0]![0])}:"x` : '{"userAlias":"x');
        return text('invalid utf-8', Buffer.concat([before, bad, Buffer.from('y"}')]), 'application/json');
      },
    ],
    [1, () => text('utf-16 body', Buffer.from('\ufeff' + emit(validJson ?? obj({})), 'utf16le'), 'application/json; charset=utf-16le')],
    [2, () => text('deep 10k', deep(rng, 10_000), 'application/json')],
    [importLimit ? 1 : 0.3, () => text('deep 100k', deep(rng, 100_000), 'application/json')],
    [2, () => text('over body limit', `{"userAlias":"${'a'.repeat(BODY_LIMIT_BYTES + rng.int(4096))}"}`, 'application/json')],
    [0.5, () => text('1 MiB random bytes', rng.bytes(1024 * 1024), rng.pick(['application/json', 'text/plain', 'application/octet-stream']))],
    [2, () => json('near-limit string', validJson instanceof Obj && validJson.entries.length > 0 ? new Obj(validJson.entries.map(([k, v], i) => [k, i === 0 ? 'n'.repeat(BODY_LIMIT_BYTES - 200) : v])) : 'n'.repeat(BODY_LIMIT_BYTES - 200))],
    [3, () => ({ label: 'empty body', body: rng.chance(0.5) ? Buffer.alloc(0) : undefined, contentType: rng.chance(0.5) ? 'application/json' : undefined })],
    [2, () => text('raw number tokens', `{"a":${rng.pick(RAW_NUMBERS)},"requestId":${rng.pick([...RAW_NUMBERS, ...BAD_TOKENS])},"userAlias":${rng.pick(BAD_TOKENS)}}`, 'application/json')],
    [2, () => text('form body', 'userAlias=fuzz.user&deliveryType=EMAIL_WORK&__proto__=x&userAlias=two', rng.pick(['application/x-www-form-urlencoded', 'application/json']))],
    [
      2,
      () =>
        text(
          'multipart body',
          '--XyZ\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n',
          rng.pick(['multipart/form-data; boundary=XyZ', 'multipart/form-data', 'multipart/form-data; boundary=other']),
        ),
    ],
    [key === 'POST /oauth/token' ? 25 : 0, () => oauthBody(rng, world)],
    [importLimit ? 15 : 0, () => importBody(rng)],
  ])();
}

function parseModel(source: string): J {
  const toModel = (value: unknown): J => {
    if (Array.isArray(value)) return value.map(toModel);
    if (value !== null && typeof value === 'object') return new Obj(Object.entries(value).map(([k, v]) => [k, toModel(v)]));
    return value as J;
  };
  return toModel(JSON.parse(source));
}

function oauthBody(rng: Rng, world: World): Payload {
  const fields: Array<[string, string]> = [
    ['grant_type', rng.pick(['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange', 'password', 'authorization_code', '', hostileString(rng)])],
    ['client_id', rng.chance(0.6) ? world.client.clientId : hostileString(rng)],
    ['client_secret', rng.chance(0.4) ? world.client.clientSecret : hostileString(rng)],
  ];
  if (rng.chance(0.4)) fields.push(['scope', rng.pick(['sp:scopes:all', 'mfa:admin mfa:impersonate', 'idn:mfa:send  idn:mfa:send', hostileString(rng)])]);
  if (rng.chance(0.3)) fields.push(['subject_token', rng.pick([...SEEDED_ALIASES, hostileString(rng)])], ['subject_token_type', rng.pick(['urn:mfa-controller:params:oauth:token-type:identity-alias', hostileString(rng)])]);
  if (rng.chance(0.2)) fields.push([rng.pick(['grant_type', 'client_id', '__proto__', 'constructor']), hostileString(rng)]);
  return rng.weighted<() => Payload>([
    [3, () => text('oauth form', fields.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&'), 'application/x-www-form-urlencoded')],
    [1, () => text('oauth form bad escapes', `grant_type=client_credentials&client_id=%zz&client_secret=%E0%A4%A&x=%`, 'application/x-www-form-urlencoded')],
    [2, () => json('oauth json', new Obj(fields.map(([k, v]) => [k, rng.chance(0.15) ? randomJson(rng) : v])))],
    [
      2,
      () =>
        text(
          'oauth multipart',
          fields.map(([k, v]) => `--B0undary\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') + (rng.chance(0.2) ? `--B0undary\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n${'f'.repeat(rng.pick([10, 10_000]))}\r\n` : '') + (rng.chance(0.9) ? '--B0undary--\r\n' : ''),
          'multipart/form-data; boundary=B0undary',
        ),
    ],
    [1, () => text('oauth form over limit', `grant_type=client_credentials&pad=${'p'.repeat(20_000)}`, 'application/x-www-form-urlencoded')],
    [1, () => text('oauth many fields', Array.from({ length: 2000 }, (_, i) => `f${i}=${i}`).join('&'), rng.pick(['application/x-www-form-urlencoded', 'multipart/form-data; boundary=B0undary']))],
  ])();
}

function importBody(rng: Rng): Payload {
  const row = () => new Obj([['alias', rng.chance(0.5) ? rng.pick(VICTIM_ALIASES) : hostileString(rng)], [rng.pick(['email', 'phone', 'workPhone', 'locale', hostileString(rng).slice(0, 70)]), rng.chance(0.5) ? hostileString(rng) : randomJson(rng)]]);
  return rng.weighted<() => Payload>([
    [3, () => json('import json', Array.from({ length: rng.between(0, 20) }, row))],
    [1, () => json('import json many', Array.from({ length: rng.pick([500, 3000]) }, (_, i) => obj({ alias: `bulk-${i % 50}`, email: `b${i}@example.com` })))],
    [
      3,
      () =>
        text(
          'import csv',
          [rng.pick(['alias,email,phone', 'alias', 'email,alias', '"alias","email"', 'alias,alias', '\ufeffalias,email', '', 'alias,"unterminated']), ...Array.from({ length: rng.between(0, 20) }, () => `${rng.pick([...VICTIM_ALIASES, hostileString(rng)])},${hostileString(rng)},"${hostileString(rng)}"`)].join(rng.pick(['\n', '\r\n', '\r'])),
          rng.pick(['text/csv', 'text/csv; charset=utf-8', 'application/json']),
        ),
    ],
  ])();
}

const CONTENT_TYPES = [
  undefined, '', 'application/json; charset=utf-8', 'application/json;charset=ISO-8859-1', 'APPLICATION/JSON', 'application/json ; x=y', 'application/jsonx', 'application/vnd.api+json',
  'text/plain', 'text/csv', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=----x', 'application/octet-stream', '*/*', 'application/json, text/plain',
  'c'.repeat(2000), ';;;', 'application/json; boundary="', 'application/', '/json', 'application/json; charset=utf-16', 'application/json; charset="utf-8"', 'text/json',
];

function authFor(rng: Rng, world: World, key: string): [string, string | undefined] {
  const preferPersonal = key.includes('/mfa/kba/');
  const admin = key.includes('/admin/');
  return rng.weighted<() => [string, string | undefined]>([
    [preferPersonal ? 20 : 45, () => ['service token', `Bearer ${rng.pick(world.serviceTokens)}`]],
    [preferPersonal ? 45 : admin ? 3 : 15, () => ['personal token', `Bearer ${rng.pick(world.personalTokens)}`]],
    [5, () => ['narrow token', `Bearer ${rng.pick(world.narrowTokens)}`]],
    [
      25,
      () => {
        const [name, token] = rng.pick(world.badTokens);
        return [`bad token: ${name}`, `Bearer ${token}`];
      },
    ],
    [
      8,
      () =>
        rng.pick<[string, string | undefined]>([
          ['no authorization', undefined],
          ['empty authorization', ''],
          ['Bearer only', 'Bearer'],
          ['Bearer space', 'Bearer '],
          ['lower-case scheme', `bearer ${world.serviceTokens[0]!}`],
          ['two spaces', `Bearer  ${world.serviceTokens[0]!}`],
          ['Basic scheme', `Basic ${b64u('a:b')}`],
          ['two tokens', `Bearer ${world.serviceTokens[0]!} ${world.serviceTokens[0]!}`],
          ['comma tokens', `Bearer ${world.serviceTokens[0]!}, Bearer x`],
          ['trailing space', `Bearer ${world.serviceTokens[0]!} `],
          ['token with unicode', `Bearer ${world.serviceTokens[0]!}\u00e9`],
          ['token scheme', `Token ${world.serviceTokens[0]!}`],
          ['huge header', `Bearer ${'A'.repeat(100_000)}`],
        ]),
    ],
  ])();
}

/** The path as the router sees it (percent-decoded), to know which error shape the route answers in. */
function decodedPath(url: string): string {
  // Like the router: an encoded slash does not separate segments.
  const path = (url.split('?')[0] ?? '').replace(/%2f/gi, '%252F');
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

function generateRequest(rng: Rng, world: World, index: number): FuzzRequest {
  if (rng.chance(HEADER_LEVEL_SHARE)) return headerLevelRequest(rng, world, index);
  const route = rng.pick(world.routes);
  const key = `${route.method} ${prefixless(route.path)}`;
  const labels: string[] = [key];

  let method = route.method;
  if (rng.chance(0.08)) {
    method = rng.pick(METHODS);
    labels.push(`method ${method}`);
  }

  let path = fillPath(rng, route.path);
  const distorted = rng.chance(0.05);
  if (distorted) {
    path = distortPath(rng, path);
    labels.push('distorted path');
  }
  const url = path + queryFor(rng, key);

  const headers: Array<[string, string]> = [];
  if (route.path.startsWith('/portal')) {
    const browser = portalHeaders(rng, world);
    labels.push(browser.label);
    headers.push(...browser.headers);
  } else if (route.path.startsWith('/console')) {
    const browser = consoleHeaders(rng, world);
    labels.push(browser.label);
    headers.push(...browser.headers);
    // Each rotation adds a signing key: three exercise the form without growing the key ring for ever.
    if (key === 'POST /console/keys/rotate' && method === 'POST') {
      if (world.consoleRotations >= 3) method = 'GET';
      else world.consoleRotations++;
    }
  } else if (key !== 'POST /oauth/token' && !route.path.startsWith('/health') && !route.path.startsWith('/.well-known') && !route.path.startsWith('/openapi') && !route.path.startsWith('/docs')) {
    const [authLabel, authorization] = authFor(rng, world, key);
    labels.push(authLabel);
    if (authorization !== undefined) headers.push(['authorization', authorization]);
    // Each rotation adds a signing key: three exercise the route without growing the key ring for ever.
    if (key === 'POST /admin/v1/keys/rotate' && method === 'POST') {
      if (world.rotations >= 3 || authLabel !== 'service token') method = 'GET';
      else world.rotations++;
    }
  } else if (key === 'POST /oauth/token' && rng.chance(0.3)) {
    const basic = rng.pick([
      `Basic ${Buffer.from(`${world.client.clientId}:${world.client.clientSecret}`).toString('base64')}`,
      `Basic ${Buffer.from(`${pct(hostileString(rng))}:${pct(hostileString(rng))}`).toString('base64')}`,
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from('%zz:%E0%A4%A').toString('base64')}`,
      'Basic !!!',
      'Basic ',
      `Basic ${'A'.repeat(20_000)}`,
      `Bearer ${world.serviceTokens[0]!}`,
    ]);
    labels.push('basic auth');
    headers.push(['authorization', basic]);
  }

  let payload: Payload | undefined;
  const valid = validPayload(rng, world, key);
  if (valid && rng.chance(0.12)) payload = valid;
  else if (valid || rng.chance(0.1)) payload = hostilePayload(rng, world, key);
  let contentType = payload?.contentType;
  if (rng.chance(0.15)) {
    contentType = rng.pick(CONTENT_TYPES);
    labels.push(`content-type ${JSON.stringify(contentType)?.slice(0, 40)}`);
  }
  if (payload) labels.push(payload.label);
  if (contentType !== undefined) headers.push(['content-type', contentType]);
  if (key.endsWith('/okta-verify/verify')) {
    headers.push(['slpt-forwarding', rng.pick(['203.0.113.7', '::1', '2001:db8::1', '999.1.1.1', 'not an ip', '', '203.0.113.7, 10.0.0.1', 'x'.repeat(5000), pct(hostileString(rng))])]);
  }
  if (rng.chance(0.05)) headers.push(['accept', rng.pick(['text/html', 'application/xml', '*/*;q=0', 'application/json;q=0', 'x'.repeat(3000)])]);
  if (rng.chance(0.05)) headers.push(['accept-language', rng.pick(['fr', '*', 'zz-ZZ', 'en;q=abc', ';;;', 'x'.repeat(3000)])]);
  if (rng.chance(0.03)) headers.push(['content-encoding', rng.pick(['gzip', 'br', 'deflate', 'identity', 'x-unknown'])]);

  const transport = rng.chance(RAW_SHARE) ? 'raw' : 'inject';
  return {
    index,
    label: labels.join(' | '),
    method,
    url,
    headers,
    body: method === 'GET' || method === 'HEAD' ? (rng.chance(0.1) ? payload?.body : undefined) : payload?.body,
    transport,
    expect: method === 'POST' && decodedPath(url) === '/oauth/token' ? 'oauth' : /^\/(portal|console)/.test(decodedPath(url)) ? 'page' : 'api',
    ...(method === route.method && !distorted ? { route: `${route.method} ${route.path}` } : {}),
  };
}

/** Attacks on the HTTP framing itself: header injection, oversized headers and URLs, smuggling, bad methods. */
function headerLevelRequest(rng: Rng, world: World, index: number): FuzzRequest {
  const token = rng.pick(world.serviceTokens);
  const target = rng.pick(['/v3/mfa/token/send', '/beta/mfa/kba/config', '/oauth/token', '/admin/v1/clients', '/health/live', '/v3/mfa/okta-verify/verify']);
  const body = '{"userAlias":"fuzz.user","deliveryType":"EMAIL_WORK"}';
  const head = (lines: readonly string[], requestLine = `POST ${target} HTTP/1.1`) => `${requestLine}\r\nhost: 127.0.0.1\r\nconnection: close\r\n${lines.map((l) => `${l}\r\n`).join('')}`;
  const withBody = (lines: readonly string[], requestLine?: string) => Buffer.from(`${head([...lines, `content-length: ${Buffer.byteLength(body)}`], requestLine)}\r\n${body}`);
  const cases: Array<readonly [string, () => Buffer, boolean?]> = [
    ['CR in header value', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'x-test: a\rb'])],
    ['LF in header value', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'x-test: a\nInjected: yes'])],
    ['NUL in header value', () => withBody([`authorization: Bearer ${token}\0`, 'content-type: application/json'])],
    ['CRLF in authorization', () => withBody([`authorization: Bearer ${token}\r\nx-injected: 1`, 'content-type: application/json'])],
    ['bare LF line endings', () => Buffer.from(`POST ${target} HTTP/1.1\nhost: x\nconnection: close\nauthorization: Bearer ${token}\ncontent-type: application/json\ncontent-length: ${body.length}\n\n${body}`)],
    ['obs-fold', () => withBody([`authorization: Bearer`, ` ${token}`, 'content-type: application/json'])],
    ['space in header name', () => withBody(['bad header: x', 'content-type: application/json'])],
    ['header without colon', () => withBody(['no-colon-here', 'content-type: application/json'])],
    ['empty header name', () => withBody([': x', 'content-type: application/json'])],
    ['non-ASCII header value', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'slpt-forwarding: \u00ff\u00fe caf\u00e9'])],
    ['UTF-8 bytes in authorization', () => Buffer.concat([Buffer.from(head([`content-length: ${body.length}`, 'content-type: application/json'])), Buffer.from('authorization: Bearer \xc3\xa9'), Buffer.from([0xc0, 0xaf, 0xff]), Buffer.from(`\r\n\r\n${body}`)])],
    ['header of 20 KiB', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', `x-big: ${'b'.repeat(20 * 1024)}`])],
    ['header of 15 KiB', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', `x-big: ${'b'.repeat(15 * 1024)}`])],
    ['3000 headers', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', ...Array.from({ length: 3000 }, (_, i) => `x-h${i}: 1`)])],
    ['1500 small headers', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', ...Array.from({ length: 1500 }, () => `x: 1`)])],
    ['URL of 20 KiB', () => Buffer.from(head([`authorization: Bearer ${token}`], `GET /v3/mfa/kba/config?x=${'u'.repeat(20 * 1024)} HTTP/1.1`) + '\r\n')],
    ['URL of 8 KiB', () => Buffer.from(head([`authorization: Bearer ${token}`], `GET /v3/mfa/${'u'.repeat(8 * 1024)} HTTP/1.1`) + '\r\n')],
    ['duplicate content-type', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'content-type: text/plain'])],
    ['duplicate content-type reversed', () => withBody([`authorization: Bearer ${token}`, 'content-type: text/csv', 'content-type: application/json'])],
    ['duplicate authorization', () => withBody([`authorization: Bearer garbage`, `authorization: Bearer ${token}`, 'content-type: application/json'])],
    ['duplicate slpt-forwarding', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'slpt-forwarding: 203.0.113.7', 'slpt-forwarding: 10.0.0.1'])],
    ['duplicate host', () => withBody(['host: evil.example', `authorization: Bearer ${token}`, 'content-type: application/json'])],
    ['no host', () => Buffer.from(`POST ${target} HTTP/1.1\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)],
    ['two content-lengths', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', `content-length: ${body.length}`, 'content-length: 5'])}\r\n${body}`)],
    ['content-length and chunked', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', 'content-length: 5', 'transfer-encoding: chunked'])}\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`)],
    ['chunked', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', 'transfer-encoding: chunked'])}\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`)],
    ['bad chunk size', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', 'transfer-encoding: chunked'])}\r\nzz\r\n${body}\r\n0\r\n\r\n`)],
    ['huge chunk size', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', 'transfer-encoding: chunked'])}\r\nffffffffffffffffff\r\n${body}\r\n0\r\n\r\n`)],
    ['chunked over body limit', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', 'transfer-encoding: chunked'])}\r\n${(BODY_LIMIT_BYTES + 10).toString(16)}\r\n${'{'.repeat(BODY_LIMIT_BYTES + 10)}\r\n0\r\n\r\n`)],
    ['transfer-encoding xchunked', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'transfer-encoding: xchunked'])],
    ['transfer-encoding chunked, identity', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'transfer-encoding: chunked, identity'])],
    ['negative content-length', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', 'content-length: -1'])}\r\n${body}`)],
    ['content-length 1e3', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', 'content-length: 1e3'])}\r\n${body}`)],
    ['content-length shorter than body', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', 'content-length: 10'])}\r\n${body}`)],
    ['content-length longer than body, then close', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', 'content-length: 4000'])}\r\n${body}`), true],
    ['content-length over body limit', () => Buffer.from(`${head([`authorization: Bearer ${token}`, 'content-type: application/json', `content-length: ${BODY_LIMIT_BYTES * 100}`])}\r\n${body}`), true],
    ['expect 100-continue', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'expect: 100-continue'])],
    ['expect unknown', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'expect: 200-ok'])],
    ['upgrade websocket', () => withBody([`authorization: Bearer ${token}`, 'content-type: application/json', 'upgrade: websocket', 'connection: upgrade'])],
    ['upgrade h2c', () => Buffer.from(head(['upgrade: h2c', 'http2-settings: AAMAAABkAARAAAAAAAIAAAAA'], `GET /health/live HTTP/1.1`) + '\r\n')],
    ['method TRACE', () => Buffer.from(head([], `TRACE ${target} HTTP/1.1`) + '\r\n')],
    ['method CONNECT', () => Buffer.from(head([], 'CONNECT 127.0.0.1:1 HTTP/1.1') + '\r\n'), true],
    ['method PROPFIND', () => Buffer.from(head([], `PROPFIND ${target} HTTP/1.1`) + '\r\n')],
    ['method lower-case', () => Buffer.from(head([], `get /health/live HTTP/1.1`) + '\r\n')],
    ['method with NUL', () => Buffer.from(head([], `G\0T /health/live HTTP/1.1`) + '\r\n')],
    ['method unknown', () => Buffer.from(head([], `BREW /health/live HTTP/1.1`) + '\r\n')],
    ['HTTP/2 preface', () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')],
    ['HTTP/0.9', () => Buffer.from('GET /health/live\r\n\r\n')],
    ['HTTP/1.0', () => Buffer.from('GET /health/live HTTP/1.0\r\n\r\n')],
    ['HTTP/9.9', () => Buffer.from('GET /health/live HTTP/9.9\r\nhost: x\r\n\r\n')],
    ['asterisk target', () => Buffer.from(head([], 'OPTIONS * HTTP/1.1') + '\r\n')],
    ['absolute-form target', () => Buffer.from(head([`authorization: Bearer ${token}`], 'GET http://evil.example/v3/mfa/kba/config HTTP/1.1') + '\r\n')],
    ['relative target', () => Buffer.from(head([], 'GET v3/mfa/kba/config HTTP/1.1') + '\r\n')],
    ['space in target', () => Buffer.from(head([], 'GET /v3/mfa/kba config HTTP/1.1') + '\r\n')],
    ['tab in target', () => Buffer.from(head([], 'GET /v3/mfa/\tkba HTTP/1.1') + '\r\n')],
    ['NUL in target', () => Buffer.from(head([], 'GET /v3/mfa/\0kba HTTP/1.1') + '\r\n')],
    ['raw high bytes in path', () => Buffer.concat([Buffer.from('GET /v3/mfa/'), Buffer.from(rng.pick(BAD_UTF8)), Buffer.from('/test HTTP/1.1\r\nhost: x\r\nconnection: close\r\n' + `authorization: Bearer ${token}\r\n\r\n`)])],
    ['raw UTF-8 in path', () => Buffer.from(`GET /v3/mfa/\u00e9\u202e/test HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer ${token}\r\n\r\n`, 'utf8')],
    ['bad percent-encoding in path', () => Buffer.from(head([`authorization: Bearer ${token}`], `GET /v3/mfa/${rng.pick(['%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%00'])}/test HTTP/1.1`) + '\r\n')],
    ['bad percent-encoding in query', () => Buffer.from(head([`authorization: Bearer ${token}`], `GET /v3/mfa/kba/config?allLanguages=${rng.pick(['%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%00'])} HTTP/1.1`) + '\r\n')],
    ['pipelined second request malformed', () => Buffer.from(`GET /health/live HTTP/1.1\r\nhost: x\r\n\r\nGET /health/live HTTP/1.1\r\nhost: x\r\nx: a\rb\r\nconnection: close\r\n\r\n`)],
    ['garbage bytes', () => rng.bytes(rng.between(1, 2000)), true],
    ['empty request line', () => Buffer.from('\r\n\r\n'), true],
  ];
  const [name, build, mayClose] = rng.pick(cases);
  return { index, label: `header-level: ${name}`, method: 'RAW', url: target, headers: [], body: undefined, transport: 'raw', rawBytes: build(), mayClose: mayClose ?? false, expect: 'wire' };
}

// ---------------------------------------------------------------------------------------------------
// Sending

async function sendInject(world: World, request: FuzzRequest): Promise<FuzzResponse> {
  const started = performance.now();
  const sent: Record<string, string> = {};
  for (const [name, value] of request.headers) sent[name] = value === OWN_ORIGIN ? 'http://localhost' : value;
  const answer = await world.runtime.app.inject({
    method: request.method as 'GET',
    url: request.url,
    headers: sent,
    ...(request.body !== undefined ? { payload: request.body } : {}),
  });
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(answer.headers)) headers[name] = typeof value === 'number' ? String(value) : value;
  return { status: answer.statusCode, headers, body: answer.rawPayload, elapsedMs: performance.now() - started };
}

function serialize(world: World, request: FuzzRequest): Buffer {
  if (request.rawBytes) return request.rawBytes;
  const lines = [`${request.method} ${request.url} HTTP/1.1`, `host: 127.0.0.1:${world.port}`, 'connection: close'];
  for (const [name, value] of request.headers) lines.push(`${name}: ${value === OWN_ORIGIN ? `http://127.0.0.1:${world.port}` : value}`);
  if (request.body !== undefined) lines.push(`content-length: ${request.body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), request.body ?? Buffer.alloc(0)]);
}

/** Writes the bytes, reads until the server closes; undefined status when it closed without a word. */
function sendRaw(world: World, request: FuzzRequest): Promise<FuzzResponse | { status: undefined; reason: string; elapsedMs: number }> {
  const started = performance.now();
  const bytes = serialize(world, request);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(world.port, '127.0.0.1');
    let settled = false;
    const finish = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks);
      const parsed = parseResponse(data);
      resolve(parsed ? { ...parsed, elapsedMs: performance.now() - started } : { status: undefined, reason: `${reason} after ${data.length} bytes`, elapsedMs: performance.now() - started });
    };
    const timer = setTimeout(() => finish('timeout'), RAW_TIMEOUT_MS);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => finish('end'));
    socket.on('close', () => finish('close'));
    socket.on('error', () => finish('error'));
    socket.on('connect', () => {
      socket.write(bytes, () => {
        if (request.mayClose) socket.end();
      });
    });
  });
}

/** The first response in the bytes (a pipelined second one is checked for status only). */
function parseResponse(data: Buffer): Omit<FuzzResponse, 'elapsedMs'> | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(end + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', at);
      if (lineEnd < 0) break;
      const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (!Number.isFinite(size) || size === 0) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    body = body.subarray(0, Number(headers['content-length']));
  }
  const informational = Number(status[1]) < 200;
  if (informational) return parseResponse(data.subarray(end + 4));
  return { status: Number(status[1]), headers, body };
}

// ---------------------------------------------------------------------------------------------------
// Properties of every answer

const OAUTH_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']);
const LEAKS = /\n\s+at |node_modules|\/work\/|SQLITE_|SqliteError|syntax error at|TypeError|ReferenceError|Cannot read prop|\[object Object\]/;
const ALLOWED_STATUSES = new Set([200, 201, 204, 400, 401, 403, 404, 409, 413, 414, 415, 429]);
/** Statuses the HTTP layer itself may give over a socket, before any route (431: headers over 16 KiB). */
const WIRE_STATUSES = new Set([400, 408, 417, 431]);

function header(response: FuzzResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function checkErrorResponseDto(body: any): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'error body is not an object';
  const keys = Object.keys(body).sort().join(',');
  if (keys !== 'causes,detailCode,messages,trackingId') return `ErrorResponseDto keys are ${keys}`;
  if (typeof body.detailCode !== 'string') return 'detailCode is not a string';
  if (typeof body.trackingId !== 'string' || !/^[0-9a-f]{32}$/.test(body.trackingId)) return 'trackingId is not 32 hex';
  for (const list of [body.messages, body.causes]) {
    if (!Array.isArray(list)) return 'messages/causes not arrays';
    for (const m of list) {
      if (m === null || typeof m !== 'object' || typeof m.text !== 'string' || typeof m.locale !== 'string' || !['DEFAULT', 'REQUEST', null].includes(m.localeOrigin)) return 'bad ErrorMessageDto';
    }
  }
  if (body.messages.length < 1) return 'no message';
  return undefined;
}

function checkResponse(request: FuzzRequest, response: FuzzResponse): string[] {
  const problems: string[] = [];
  const { status } = response;
  const bodyText = response.body.toString('utf8');
  const wire = request.transport === 'raw';
  const page = request.expect === 'page';
  if (status >= 500) problems.push(`status ${status}`);
  else if (!ALLOWED_STATUSES.has(status) && !(wire && WIRE_STATUSES.has(status)) && !(page && status === 303)) problems.push(`unexpected status ${status}`);

  for (const [name, value] of Object.entries(response.headers)) {
    for (const v of Array.isArray(value) ? value : [value ?? '']) if (/[\r\n\0]/.test(v)) problems.push(`header ${name} carries a control character`);
  }

  // Node itself answers an HTTP/1.1 request without Host with a bare 400 and no body.
  // Node itself answers an HTTP/1.1 request without Host (400) and an Expect other than 100-continue (417)
  // with a bare status and no body.
  const noBody = request.method === 'HEAD' || status === 204 || (wire && (status === 400 || status === 417) && response.body.length === 0 && header(response, 'content-length') === undefined);
  // The portal answers with pages, its refusals too: HTML under the strict policy, never the detail of a failure.
  if (page && /^text\/html/.test(header(response, 'content-type') ?? '')) {
    if (!/script-src 'self'/.test(header(response, 'content-security-policy') ?? '')) problems.push('portal page without its content security policy');
    if (LEAKS.test(bodyText)) problems.push('portal page leaks internal detail');
    if (status === 429 && !/^\d+$/.test(header(response, 'retry-after') ?? '')) problems.push('429 without Retry-After seconds');
    return problems;
  }
  if (status >= 400 && !noBody) {
    const type = header(response, 'content-type') ?? '';
    if (!/^application\/json/.test(type)) {
      problems.push(`error content-type ${JSON.stringify(type)}`);
      return problems;
    }
    let body: any;
    try {
      body = JSON.parse(bodyText);
    } catch {
      problems.push('error body is not JSON');
      return problems;
    }
    if (LEAKS.test(bodyText)) problems.push('error body leaks internal detail');
    // A framing attack on /oauth/token may be refused by the parser (ErrorResponseDto) or by the route (RFC 6749).
    const routedOauth = request.expect === 'oauth' || (request.expect === 'wire' && request.url === '/oauth/token' && typeof body?.error === 'string');
    const oauthShape = routedOauth && [400, 401, 413, 415].includes(status);
    if (oauthShape) {
      if (typeof body?.error !== 'string' || !OAUTH_ERRORS.has(body.error)) problems.push(`oauth error ${JSON.stringify(body?.error)}`);
      const extra = Object.keys(body ?? {}).filter((k) => !['error', 'error_description', 'error_uri'].includes(k));
      if (extra.length > 0) problems.push(`oauth error has keys ${extra.join(',')}`);
      if (body?.error_description !== undefined && typeof body.error_description !== 'string') problems.push('error_description not a string');
      if (header(response, 'cache-control') !== 'no-store') problems.push('oauth error without cache-control: no-store');
    } else if (status === 401) {
      if (Object.keys(body ?? {}).join(',') !== 'error' || typeof body.error !== 'string') problems.push(`401 body ${bodyText.slice(0, 80)}`);
      if (!/^Bearer/.test(header(response, 'www-authenticate') ?? '')) problems.push('401 without WWW-Authenticate: Bearer');
    } else if (status === 429) {
      if (Object.keys(body ?? {}).join(',') !== 'message' || typeof body.message !== 'string') problems.push(`429 body ${bodyText.slice(0, 80)}`);
      if (!/^\d+$/.test(header(response, 'retry-after') ?? '')) problems.push('429 without Retry-After seconds');
    } else {
      const shape = checkErrorResponseDto(body);
      if (shape) problems.push(`${status}: ${shape}`);
    }
  } else if (!noBody && status < 300 && response.body.length > 0) {
    const type = header(response, 'content-type') ?? '';
    if (/^application\/json/.test(type)) {
      try {
        JSON.parse(bodyText);
      } catch {
        problems.push('success body is not JSON');
      }
    } else if (!/^text\/(html|plain|csv)/.test(type)) {
      problems.push(`success content-type ${JSON.stringify(type)}`);
    }
  }
  return problems;
}

function describeRequest(request: FuzzRequest): string {
  if (request.rawBytes) return `#${request.index} [raw] ${request.label}: ${JSON.stringify(request.rawBytes.subarray(0, 160).toString('latin1'))}`;
  const headers = request.headers.map(([k, v]) => `${k}: ${v.length > 60 ? `${v.slice(0, 60)}…(${v.length})` : v}`).join('; ');
  const body = request.body ? `${JSON.stringify(request.body.subarray(0, 160).toString('utf8'))}${request.body.length > 160 ? `…(${request.body.length} bytes)` : ''}` : '-';
  return `#${request.index} [${request.transport}] ${request.method} ${request.url.length > 120 ? `${request.url.slice(0, 120)}…(${request.url.length})` : request.url} {${request.label}} headers {${headers}} body ${body}`;
}

// ---------------------------------------------------------------------------------------------------
// Running batches

interface Stats {
  sent: number;
  inject: number;
  raw: number;
  closedWithoutAnswer: number;
  statuses: Map<number, number>;
  /** Routes whose handler was reached: an answer past authentication (not 401 or 403). */
  handled: Set<string>;
  slowest: { ms: number; what: string };
}

async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(workers);
}

async function runBatch(world: World, rng: Rng, from: number, size: number, findings: Finding[], stats: Stats): Promise<void> {
  const requests = Array.from({ length: size }, (_, i) => generateRequest(rng, world, from + i));
  await pool(requests, CONCURRENCY, async (request) => {
    if (process.env['MFA_FUZZ_TRACE']) process.stderr.write(`> ${describeRequest(request).slice(0, 300)}\n`);
    let response: FuzzResponse;
    if (request.transport === 'raw') {
      const answer = await sendRaw(world, request);
      stats.raw++;
      if (answer.status === undefined) {
        stats.closedWithoutAnswer++;
        if (!request.mayClose) findings.push({ problem: `no answer (${answer.reason})`, request, status: undefined, body: '' });
        return;
      }
      response = answer;
    } else {
      try {
        response = await sendInject(world, request);
      } catch (err) {
        findings.push({ problem: `inject threw: ${(err as Error).message}`, request, status: undefined, body: '' });
        return;
      }
      stats.inject++;
    }
    stats.sent++;
    stats.statuses.set(response.status, (stats.statuses.get(response.status) ?? 0) + 1);
    if (request.route && response.status !== 401 && response.status !== 403) stats.handled.add(request.route);
    if (response.elapsedMs > stats.slowest.ms) stats.slowest = { ms: response.elapsedMs, what: describeRequest(request).slice(0, 200) };
    for (const problem of checkResponse(request, response)) {
      findings.push({ problem, request, status: response.status, body: response.body.subarray(0, 300).toString('utf8') });
    }
    if (response.status === 200 && response.body.length < 2000) {
      const id = /"requestId":"([0-9a-f]{32})"/.exec(response.body.toString('utf8'))?.[1] ?? header(response, 'x-mfa-request-id');
      if (id && world.requestIds.length < 200) world.requestIds.push(id);
    }
  });
}

async function assertAlive(world: World): Promise<void> {
  const response = await fetch(`${world.baseUrl}/health/live`);
  assert.equal(response.status, 200, 'the server answers /health/live');
  assert.deepEqual(await response.json(), { status: 'live' });
}

function report(findings: readonly Finding[], errorLog: readonly string[]): string {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = `${f.problem} @ ${f.request.label.split(' | ')[0]}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const lines = [`MFA_FUZZ_SEED=${SEED} MFA_FUZZ_COUNT=${COUNT}: ${findings.length} finding(s) in ${groups.size} group(s)`];
  for (const [key, group] of [...groups].slice(0, 25)) {
    const first = group[0]!;
    lines.push(`- ${key} ×${group.length}`, `    ${describeRequest(first.request)}`, `    → ${first.status ?? '-'} ${JSON.stringify(first.body.slice(0, 200))}`);
  }
  if (errorLog.length > 0) lines.push(`server error log (${errorLog.length}):`, ...errorLog.slice(0, 10).map((l) => `  ${l.slice(0, 600)}`));
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Memory: a forced full GC when V8 lets us enable it from inside (node --test does not pass --expose-gc).

function forceGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (() => void) | undefined;
    return typeof gc === 'function' ? gc : undefined;
  } catch {
    return undefined;
  }
}

async function settledHeap(gc: (() => void) | undefined): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc?.();
  }
  return process.memoryUsage().heapUsed;
}

// ---------------------------------------------------------------------------------------------------

describe(`HTTP fuzz (MFA_FUZZ_SEED=${SEED}, MFA_FUZZ_COUNT=${COUNT})`, () => {
  let world: World;
  let runtime: Runtime | undefined;
  let dataDir: string | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    dataDir = await mkdtemp(join(tmpdir(), 'mfa-fuzz-'));
    const errorLog: string[] = [];
    const config = loadConfig({
      MFA_DATA_DIR: dataDir,
      MFA_PORT: '0',
      MFA_SECRET: 'f'.repeat(64),
      MFA_PUBLIC_URL: 'http://127.0.0.1',
      MFA_BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      MFA_KBA_ARGON2_MEMORY_KIB: '1024',
      MFA_KBA_ARGON2_TIME_COST: '1',
      MFA_KBA_MAX_QUEUED_HASHES: '1000',
      MFA_KBA_MAX_ATTEMPTS: '1000000000',
      MFA_TOKEN_MAX_ATTEMPTS: '1000000000',
      MFA_TOKEN_MAX_FAILURES_PER_IDENTITY: '1000000000',
      MFA_TOTP_MAX_FAILURES: '1000000000',
      MFA_TOKEN_RESEND_INTERVAL_SECONDS: '0',
      MFA_RATE_SENDS_PER_CLIENT: '1000000000',
      MFA_RATE_SENDS_PER_RECIPIENT: '1000000000',
      MFA_OKTA_PUSHES_PER_WINDOW: '1000000',
      MFA_PORTAL_FORMS_PER_ADDRESS: '1000000000',
      MFA_PORTAL_FORMS_PER_SESSION: '1000000000',
      MFA_OKTA_TIMEOUT_MS: '100',
      MFA_OKTA_POLL_CACHE_MS: '0',
      // The providers are seeded with a local http address.
      MFA_ALLOW_PRIVATE_PROVIDER_HOSTS: 'true',
    });
    const rt = await createRuntime(config, {
      logger: {
        level: 'error',
        stream: {
          write(line: string) {
            errorLog.push(line);
          },
        },
      },
    });
    runtime = rt;
    const address = await rt.app.listen({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(address).port);
    await seedIdentities(rt);

    const serviceTokens = [await issueToken(rt, ['sp:scopes:all', 'mfa:admin', 'mfa:metrics']), await issueToken(rt, ['sp:scopes:all', 'mfa:admin', 'mfa:metrics'])];
    const personalTokens = [await issueToken(rt, ['sp:scopes:all'], 'fuzz.user')];
    const narrowTokens = [await issueToken(rt, ['idn:mfa:send']), await issueToken(rt, ['idn:mfa-kba:read'], 'fuzz.user')];
    const client = await createClient(rt.store, rt.clock, rt.randomBytes, 'fuzz oauth', ['sp:scopes:all', 'mfa:impersonate']);

    // Every route: the document the server serves, plus whatever the router holds that it leaves out.
    const served = (await rt.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const routes = new Map<string, Route>();
    for (const [path, operations] of Object.entries(served.paths)) {
      for (const method of Object.keys(operations)) {
        if (METHODS.includes(method.toUpperCase())) routes.set(`${method.toUpperCase()} ${path}`, { method: method.toUpperCase(), path });
      }
    }
    for (const route of routerRoutes(rt.app.printRoutes({ commonPrefix: false }))) routes.set(`${route.method} ${route.path}`, route);

    world = {
      runtime: rt,
      dataDir,
      baseUrl: address,
      port,
      routes: [...routes.values()],
      closedPort: await closedPort(),
      serviceTokens,
      personalTokens,
      narrowTokens,
      badTokens: await forgeTokens(rt, serviceTokens[0]!),
      client,
      requestIds: [],
      errorLog,
      rotations: 0,
      consoleRotations: 0,
      portal: await portalCredentials(rt, serviceTokens[0]!),
      console: await consoleCredentials(rt),
    };
    await seed(world);
    // fuzz.user's authenticator app, so TOTP checks reach the code comparison.
    const totp = await rt.app.inject({ method: 'POST', url: '/v3/mfa/totp/enrol', headers: { authorization: `Bearer ${personalTokens[0]!}` }, payload: { userAlias: 'fuzz.user' } });
    assert.equal(totp.statusCode, 200, totp.body);
    const totpCode = TOTP.generate({ secret: Secret.fromBase32((totp.json() as { secret: string }).secret) });
    const confirmed = await rt.app.inject({ method: 'POST', url: '/v3/mfa/totp/confirm', headers: { authorization: `Bearer ${personalTokens[0]!}` }, payload: { userAlias: 'fuzz.user', totpCode } });
    assert.deepEqual(confirmed.json(), { mfaVerified: true });
    // The app's next code verifies fuzz.user: answers beside the app are a factor change, which needs that.
    const secret = Secret.fromBase32((totp.json() as { secret: string }).secret);
    const nextCode = TOTP.generate({ secret, timestamp: Date.now() + 30_000 });
    const verified = await rt.app.inject({ method: 'POST', url: '/v3/mfa/totp/authenticate', headers: { authorization: `Bearer ${personalTokens[0]!}` }, payload: { userAlias: 'fuzz.user', totpCode: nextCode } });
    assert.equal((verified.json() as { status: string }).status, 'SUCCESS', verified.body);
    // fuzz.user's answers, so KBA checks reach the hashing.
    const enrol = await rt.app.inject({
      method: 'POST',
      url: '/v3/mfa/kba/config/answers',
      headers: { authorization: `Bearer ${personalTokens[0]!}` },
      payload: QUESTION_IDS.map((id) => ({ id, answer: 'right' })),
    });
    assert.equal(enrol.statusCode, 200, enrol.body);
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await runtime?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('enumerates every route, with the spec operations among them', () => {
    const keys = new Set(world.routes.map((r) => `${r.method} ${r.path}`));
    for (const expected of [
      'POST /v3/mfa/token/send',
      'POST /beta/mfa/{method}/poll',
      'DELETE /v3/mfa/{method}/delete',
      'POST /oauth/token',
      'GET /health/live',
      'GET /.well-known/jwks.json',
      'POST /admin/v1/clients',
      // The MFA Configuration API v1, found in /openapi.json and in the router alike.
      'GET /mfa/v1/okta-verify/config',
      'PUT /mfa/v1/duo-web/config',
      'GET /mfa/v1/kba/config',
      'POST /mfa/v1/kba/config/answers',
      'GET /mfa/v1/{method}/test',
      // Authenticator apps, from /openapi.json.
      'POST /v3/mfa/totp/enrol',
      'POST /beta/mfa/totp/authenticate',
      'GET /v3/mfa/totp/status',
      'DELETE /beta/mfa/totp/registration',
      // The self-service portal's pages and forms, and the invitation that opens it.
      'GET /portal',
      'POST /portal/sign-in/code',
      'POST /portal/security-questions',
      'POST /admin/v1/identities/{alias}/invitations',
      // The operator console.
      'GET /console',
      'POST /console/identity/unlock',
      'POST /console/enrol/verify',
      'GET /console/audit/export',
    ]) {
      assert.ok(keys.has(expected), `${expected} is fuzzed`);
    }
    assert.ok(world.routes.length >= 40, `${world.routes.length} routes`);
  });

  it('answers every hostile request without a 5xx, a crash, unbounded memory, or an off-spec error body', async (t) => {
    const rng = new Rng(SEED);
    const gc = forceGc();
    const findings: Finding[] = [];
    const stats: Stats = { sent: 0, inject: 0, raw: 0, closedWithoutAnswer: 0, statuses: new Map(), handled: new Set(), slowest: { ms: 0, what: '' } };
    const started = performance.now();
    const warmUp = Math.min(BATCH_SIZE, COUNT);

    await runBatch(world, rng, 0, warmUp, findings, stats);
    await assertAlive(world);
    const heapAfterWarmUp = await settledHeap(gc);

    for (let from = warmUp; from < COUNT; from += BATCH_SIZE) {
      await seed(world);
      await runBatch(world, rng, from, Math.min(BATCH_SIZE, COUNT - from), findings, stats);
      await assertAlive(world);
    }
    const heapAtEnd = await settledHeap(gc);
    const seconds = (performance.now() - started) / 1000;

    const growth = heapAtEnd - heapAfterWarmUp;
    const limit = gc ? HEAP_GROWTH_LIMIT_BYTES : HEAP_GROWTH_LIMIT_NO_GC_BYTES;
    t.diagnostic(
      `seed ${SEED}: ${stats.sent} answered (${stats.inject} in-process, ${stats.raw} over sockets, ${stats.closedWithoutAnswer} closed without answer) in ${seconds.toFixed(1)} s; ` +
        `statuses ${[...stats.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ')}; ` +
        `heap ${(heapAfterWarmUp / 2 ** 20).toFixed(1)} → ${(heapAtEnd / 2 ** 20).toFixed(1)} MiB (${gc ? 'after forced GC' : 'no forced GC'}); slowest ${stats.slowest.ms.toFixed(0)} ms: ${stats.slowest.what}`,
    );

    const unexpectedLog = world.errorLog.filter((line) => /"level":(5\d|6\d)/.test(line));
    assert.equal(findings.length + unexpectedLog.length, 0, report(findings, unexpectedLog));
    assert.deepEqual(unhandled, [], 'no unhandled rejections');
    // Valid tokens are used often enough that every handler, not only the bearer check, gets fuzzed.
    if (COUNT >= 5000) {
      const missed = world.routes.map((r) => `${r.method} ${r.path}`).filter((r) => !stats.handled.has(r));
      assert.deepEqual(missed, [], 'every route was reached past authentication');
    }
    assert.ok(growth < limit, `heap grew ${(growth / 2 ** 20).toFixed(1)} MiB over the run (limit ${(limit / 2 ** 20).toFixed(0)} MiB)`);
  });
});

// The commands' work, loaded only when a command runs (main.ts answers --help and --version without
// loading the database drivers, the HTTP server and the transports).
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createClient } from '../auth/clients.js';
import { KeyRing } from '../auth/keyring.js';
import { ADMIN_SCOPE } from '../auth/scopes.js';
import type { Config } from '../config.js';
import { AUDIT_ID_PATTERN, AUDIT_OUTCOMES, parseAuditInstant, type AuditMethod, type AuditOutcome, type AuditQuery } from '../core/audit.js';
import { AUDIT_METHODS } from '../methods/index.js';
import { detectFormat, parseIdentityImport } from '../core/identity-import.js';
import { validateQuestionInput, withText } from '../core/kba-catalog.js';
import { METHODS, type Method } from '../methods/index.js';
import type { Store } from '../core/ports.js';
import { generateId } from '../core/secrets.js';
import { readOutbox } from '../delivery/outbox.js';
import { createSender } from '../delivery/index.js';
import { createRuntime, invitationsFor, openMigratedStore, operatorsFor, sealerFor } from '../runtime.js';
import { isOperatorRole } from '../core/operator.js';
import { AuditTrail } from '../services/audit.js';
import { OPERATOR_CLIENT_ID, OperatorActions } from '../services/operator.js';
import { SqlTotpStore, resetTotp } from '../methods/totp/index.js';
import { driverOf } from '../store/index.js';
import { listenFailure, whereData } from '../startup.js';
import { isPostgresUrl } from '../store/url.js';
import { UsageError, wholeNumber, type Parsed } from './args.js';
import { runChecks } from './check.js';
import { parseWorkers, runPrimary } from './cluster.js';

/** How a command uses the database: not at all, an existing one (else --init), or it may create one. */
export type StoreUse = 'none' | 'existing' | 'create';

/** One command's work: resolves to the exit code; -1 keeps the process running (serve). */
export type Run = (config: Config, args: Parsed, store: Store | undefined, usage: string) => Promise<number>;

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const clock = { now: () => Date.now() };
const random = (size: number) => randomBytes(size);

const print = (value: unknown) => process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

export async function serve(config: Config, { values }: Parsed): Promise<number> {
  let workers: number | undefined;
  try {
    workers = values['workers'] === undefined ? undefined : parseWorkers(String(values['workers']));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // A cluster worker runs the ordinary server below; the primary only forks and supervises.
  if (workers !== undefined && cluster.isPrimary) {
    printBanner(config);
    await runPrimary(config, workers);
    return -1;
  }
  if (cluster.isPrimary) printBanner(config);
  const created = !isPostgresUrl(config.databaseUrl) && !existsSync(config.databaseUrl);
  const runtime = await createRuntime(config, { onWarning: (line) => note(`!! ${line}`) });
  if (created && cluster.isPrimary) note(`mfa-controller: created a new database at ${config.databaseUrl}`);
  await listenAndDrain(config, runtime);
  // The port actually bound: MFA_PORT=0 asks the system for a free one.
  const address = runtime.app.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : config.port;
  if (cluster.isPrimary) note(`mfa-controller ${VERSION} listening on http://${config.host}:${port} (public URL ${config.publicUrl}); ${whereData(config)}`);
  runtime.app.log.info({ version: VERSION, database: whereData(config), publicUrl: config.publicUrl }, 'mfa-controller started');
  return -1;
}

function printBanner(config: Config): void {
  if (config.devDefaults.length > 0) {
    const bar = '!'.repeat(78);
    note(`${bar}\n!! mfa-controller is running with development defaults:`);
    for (const item of config.devDefaults) note(`!!   - ${item}`);
    note('!! Do not use this setup for real people. See docs/configuration.md.');
    // A send to an unknown alias or one without an address answers SUCCESS and sends nothing (so callers
    // cannot probe who exists); a developer wondering where the message went needs to know the switch.
    if (!config.explicitErrors) note('!! A send that produced no message (unknown alias, no address)? MFA_EXPLICIT_ERRORS=true says why.');
    note(bar);
  }
}

async function listenAndDrain(config: Config, runtime: Awaited<ReturnType<typeof createRuntime>>): Promise<void> {
  // Responses not yet sent when a stop begins must close their connection: server.close() reaps only
  // connections idle at that moment, so a keep-alive client whose request was in flight would hold
  // app.close() open until the grace period ran out and the process exited 1.
  const unanswered = new Set<ServerResponse>();
  runtime.app.server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    unanswered.add(response);
    response.once('close', () => unanswered.delete(response));
  });
  try {
    await runtime.app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await runtime.close();
    throw listenFailure(err, config.host, config.port) ?? err;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    runtime.app.log.info({ signal, inFlight: unanswered.size }, 'draining in-flight requests');
    for (const response of unanswered) if (!response.headersSent) response.setHeader('connection', 'close');
    const force = setTimeout(() => {
      runtime.app.log.error('shutdown grace period over; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    runtime.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export async function clientsCreate(_config: Config, { values }: Parsed, store: Store | undefined, usage: string): Promise<number> {
  const name = values['name'] as string | undefined;
  const scopesText = values['scopes'] as string | undefined;
  const identity = values['identity'] as string | undefined;
  if (!name || !scopesText) throw new UsageError('clients create needs --name and --scopes', usage);
  if (identity === '') throw new UsageError('clients create --identity needs an alias');
  const scopes = scopesText.split(/[\s,]+/).filter(Boolean);
  const created = await createClient(store!, clock, random, name, scopes, identity ?? null);
  // The identity is printed only for a personal client, so a service client's output stays as it was.
  const personal = created.identityAlias === null ? {} : { identityAlias: created.identityAlias };
  if (values['json']) {
    print({ clientId: created.clientId, clientSecret: created.clientSecret, ...personal });
    return 0;
  }
  print(`client id:     ${created.clientId}\nclient secret: ${created.clientSecret}\n(the secret is shown only now)`);
  if (created.identityAlias !== null) print(`a personal client: its tokens act for identity ${created.identityAlias}`);
  if (scopes.includes(ADMIN_SCOPE)) print(`scope ${ADMIN_SCOPE} lets this client manage identities and clients`);
  return 0;
}

export async function clientsList(_config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
  const list = (await store!.listClients()).map((c) => ({
    clientId: c.clientId,
    name: c.name,
    scopes: c.scopes,
    ...(c.identityAlias === null ? {} : { identityAlias: c.identityAlias }),
    created: new Date(c.createdAt).toISOString(),
  }));
  if (values['json']) {
    print(list);
    return 0;
  }
  if (list.length === 0) {
    print('(no clients)');
    return 0;
  }
  print(table(['CLIENT ID', 'NAME', 'SCOPES', 'ACTS FOR', 'CREATED'], list.map((c) => [c.clientId, c.name, c.scopes.join(' '), c.identityAlias ?? '-', c.created])));
  return 0;
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export async function usersImport(_config: Config, { positionals: [file] }: Parsed, store: Store | undefined): Promise<number> {
  const text = await readInput(file!);
  const { rows, errors } = parseIdentityImport(text, detectFormat(file!, text));
  if (errors.length > 0) {
    throw new UsageError(`${errors.length} bad row(s) in ${file}; nothing was imported\n${errors.map((e) => `${file}:${e.line}: ${e.message}`).join('\n')}`);
  }
  const result = await store!.upsertIdentities(rows, () => generateId(random), clock.now());
  print(`imported ${rows.length} identities (${result.created} created, ${result.updated} updated)`);
  return 0;
}

/** A file's text, or a UsageError saying in one line why it cannot be read. */
async function readInput(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory', EPERM: 'permission denied' };
    throw new UsageError(`cannot read ${path}: ${(code && why[code]) ?? (err as Error).message}${code ? ` (${code})` : ''}`);
  }
}

export async function usersList(_config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
  const all = [];
  let after: string | undefined;
  for (;;) {
    const page = await store!.listIdentities(500, after);
    all.push(...page);
    if (page.length < 500) break;
    after = page[page.length - 1]?.alias;
  }
  print(values['json'] ? all : all.map((i) => `${i.alias}  ${i.status}  ${Object.keys(i.attributes).join(',')}`).join('\n') || '(no identities)');
  return 0;
}

export async function questionsAdd(_config: Config, { values }: Parsed, store: Store | undefined, usage: string): Promise<number> {
  if (values['id'] === undefined || values['text'] === undefined) throw new UsageError('questions add needs --id and --text', usage);
  const checked = validateQuestionInput({ id: values['id'], text: values['text'], locale: values['locale'] ?? '' });
  if (Array.isArray(checked)) throw new UsageError(checked.join('\n'));
  const existing = (await store!.listQuestions()).find((q) => q.id === checked.id);
  await store!.putQuestion(withText(existing, checked.id, checked.locale, checked.text, clock.now()));
  const which = checked.locale === '' ? 'default text' : `${checked.locale} text`;
  print(`${existing ? 'updated' : 'added'} question ${checked.id} (${which})`);
  return 0;
}

export async function questionsList(_config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
  const counts = await store!.answerCounts();
  const list = (await store!.listQuestions()).map((q) => ({ id: q.id, texts: q.texts, numAnswers: counts.get(q.id) ?? 0 }));
  if (values['json']) {
    print(list);
    return 0;
  }
  const block = (q: (typeof list)[number]) => [`${q.id}  (${q.numAnswers} answered)`, ...Object.entries(q.texts).map(([locale, text]) => `  ${locale || 'default'}: ${text}`)].join('\n');
  print(list.map(block).join('\n') || '(no questions)');
  return 0;
}

export async function outbox(config: Config, { values }: Parsed, _store: Store | undefined, usage: string): Promise<number> {
  const last = values['last'] === undefined ? undefined : wholeNumber('--last', String(values['last']), 1, 1_000_000, usage);
  const entries = await readOutbox(config.dataDir);
  const shown = last === undefined ? entries : entries.slice(-last);
  if (values['json']) {
    print(shown);
    return 0;
  }
  const entry = (m: (typeof shown)[number]) =>
    `[${m.at}] ${m.channel} to ${m.to}${m.subject ? ` — ${m.subject}` : ''}${m.requestId ? ` (request ${m.requestId})` : ''}\n${m.body}\n`;
  print(shown.map(entry).join('\n') || '(the outbox is empty)');
  return 0;
}

export async function audit(_config: Config, { values }: Parsed, store: Store | undefined, usage: string): Promise<number> {
  const text = (name: string): string | undefined => (values[name] === undefined ? undefined : String(values[name]));
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const value = text(name);
    if (value !== undefined && !(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`, usage);
    return value as T | undefined;
  };
  const time = (name: string): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const ms = parseAuditInstant(value);
    if (ms === undefined) throw new UsageError(`--${name} must be epoch milliseconds or an ISO 8601 date-time, got "${value}"`, usage);
    return ms;
  };
  const after = text('after');
  if (after !== undefined && !new RegExp(AUDIT_ID_PATTERN).test(after)) throw new UsageError(`--after must be an audit event id, got "${after}"`, usage);
  const method = oneOf<AuditMethod>('method', AUDIT_METHODS);
  const outcome = oneOf<AuditOutcome>('outcome', AUDIT_OUTCOMES);
  const since = time('since');
  const until = time('until');
  const query: AuditQuery = {
    ...(text('alias') !== undefined ? { alias: text('alias')! } : {}),
    ...(method !== undefined ? { method } : {}),
    ...(outcome !== undefined ? { outcome } : {}),
    ...(text('client-id') !== undefined ? { clientId: text('client-id')! } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(after !== undefined ? { after } : {}),
    order: oneOf('order', ['newest', 'oldest'] as const) ?? 'newest',
    limit: text('limit') === undefined ? 100 : wholeNumber('--limit', text('limit')!, 1, 1000, usage),
  };
  const events = (await store!.queryAudit(query)).map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
  if (values['json']) {
    print(events);
    return 0;
  }
  if (events.length === 0) {
    print('(no audit events match)');
    return 0;
  }
  print(
    table(
      ['AT', 'METHOD', 'OPERATION', 'ALIAS', 'CLIENT', 'OUTCOME', 'REQUEST', 'REASON'],
      events.map((e) => [e.at, e.method, e.operation, e.alias, e.clientId, e.outcome, e.requestId ?? '-', e.reason ?? '']),
    ),
  );
  return 0;
}

function operatorActions(store: Store): OperatorActions {
  return new OperatorActions({ store, clock, audit: new AuditTrail({ store, clock, randomBytes: random }) });
}

export async function migrate(): Promise<number> {
  print('migrations applied');
  return 0;
}

export async function check(config: Config): Promise<number> {
  return (await runChecks(config, print)) ? 0 : 1;
}

export async function clientsDelete(_config: Config, { positionals: [id] }: Parsed, store: Store | undefined): Promise<number> {
  if (!(await store!.deleteClient(id!))) throw new UsageError(`no client ${id}`);
  print(`deleted ${id}`);
  return 0;
}

export async function clientsDisable(_config: Config, { positionals: [id] }: Parsed, store: Store | undefined): Promise<number> {
  const client = await store!.findClient(id!);
  if (!client) throw new UsageError(`no client ${id}`);
  const disabled = await store!.disableClient(client.clientId, clock.now());
  print(disabled ? `disabled ${id}; its tokens stop working within a second` : `${id} was already disabled`);
  return 0;
}

export async function usersGet(_config: Config, { values, positionals: [alias] }: Parsed, store: Store | undefined): Promise<number> {
  const identity = await store!.findIdentity(alias!);
  if (!identity) throw new UsageError(`no identity ${alias}`);
  print(values['json'] ? identity : Object.entries({ id: identity.id, alias: identity.alias, status: identity.status, ...identity.attributes }).map(([k, v]) => `${k}: ${v}`).join('\n'));
  return 0;
}

export async function usersDelete(_config: Config, { positionals: [alias] }: Parsed, store: Store | undefined): Promise<number> {
  if (!(await store!.deleteIdentity(alias!))) throw new UsageError(`no identity ${alias}`);
  print(`deleted ${alias}`);
  return 0;
}

export async function usersUnlock(_config: Config, { positionals: [alias] }: Parsed, store: Store | undefined): Promise<number> {
  const { wasLocked } = await operatorActions(store!).unlock(alias!);
  if (wasLocked.length === 0) print(`${alias} was not locked out; its failure counts are cleared`);
  else print(`unlocked ${alias}: ${wasLocked.map((l) => `${l.method} (locked until ${new Date(l.until).toISOString()})`).join(', ')}`);
  return 0;
}

export async function usersInvite(config: Config, { values, positionals: [alias] }: Parsed, store: Store | undefined): Promise<number> {
  const sender = createSender(config.delivery, config.dataDir);
  let failure: string | undefined;
  try {
    const sent = await invitationsFor(config, store!, sender, clock, random, (err) => (failure = (err as Error).message)).invite(alias!);
    const expires = new Date(sent.expiresAt).toISOString();
    if (values['json']) {
      print({ alias: sent.alias, link: sent.link, expires, sentTo: sent.sentTo, delivered: sent.delivered });
    } else {
      print(sent.link);
      note(sent.delivered ? `sent to ${sent.sentTo}; the link works once, until ${expires}` : `not delivered to ${sent.sentTo} (${failure ?? 'the transport refused it'}); pass the link on by hand: it works once, until ${expires}`);
    }
    return 0;
  } finally {
    // An unknown or disabled identity, one without email, the portal off: a ServiceError, one line and exit 2 (main.ts).
    await sender.close();
  }
}

export async function operatorsCreate(config: Config, { values }: Parsed, store: Store | undefined, usage: string): Promise<number> {
  const email = values['email'];
  const role = values['role'] ?? 'admin';
  if (typeof email !== 'string' || email === '') throw new UsageError('operators create: --email is required', usage);
  if (!isOperatorRole(role)) throw new UsageError('operators create: --role must be admin or viewer', usage);
  const sender = createSender(config.delivery, config.dataDir);
  let failure: string | undefined;
  try {
    const audit = new AuditTrail({ store: store!, clock, randomBytes: random });
    const created = await operatorsFor(config, store!, sender, audit, clock, random, (err) => (failure = (err as Error).message)).create(email, role);
    const expires = new Date(created.expiresAt).toISOString();
    if (values['json']) {
      print({ email: created.operator.email, role: created.operator.role, link: created.link, expires, sentTo: created.sentTo, delivered: created.delivered });
    } else {
      print(created.link);
      note(
        created.delivered
          ? `operator ${created.operator.email} (${created.operator.role}); link sent to ${created.sentTo}; it works once, until ${expires}`
          : `operator ${created.operator.email} (${created.operator.role}); link not delivered (${failure ?? 'the transport refused it'}); pass it on by hand: it works once, until ${expires}`,
      );
    }
    return 0;
  } finally {
    await sender.close();
  }
}

export async function usersResetKba(_config: Config, { positionals: [alias] }: Parsed, store: Store | undefined): Promise<number> {
  const removed = await operatorActions(store!).resetKba(alias!);
  if (removed === undefined) throw new UsageError(`no identity ${alias}`);
  print(`removed ${removed} security answer(s) of ${alias}; they must enrol again before KBA can verify them`);
  return 0;
}

export async function usersResetTotp(_config: Config, { positionals: [alias] }: Parsed, store: Store | undefined): Promise<number> {
  const deps = { registrations: new SqlTotpStore(driverOf(store!)), audit: new AuditTrail({ store: store!, clock, randomBytes: random }) };
  if (!(await resetTotp(deps, OPERATOR_CLIENT_ID, alias!))) throw new UsageError(`no authenticator registration for ${alias}`);
  print(`removed the authenticator registration of ${alias}; they must enrol again before TOTP can verify them`);
  return 0;
}

export async function questionsRemove(_config: Config, { positionals: [id] }: Parsed, store: Store | undefined): Promise<number> {
  if (!(await store!.removeQuestion(id!))) throw new UsageError(`no question ${id}`);
  print(`removed ${id} and every answer to it`);
  return 0;
}

export async function keysRotate(config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
  const ring = new KeyRing(store!, sealerFor(config), clock, random, config.accessTokenTtlSeconds * 1000);
  const retirePrevious = values['retire-previous'] === true;
  const kid = await ring.rotate({ retirePrevious });
  print(
    retirePrevious
      ? `signing with new key ${kid}; earlier keys no longer verify (every process follows within a second)`
      : `signing with new key ${kid}; older keys verify for ${config.accessTokenTtlSeconds} s more`,
  );
  return 0;
}

/** Opens the database for a command: an existing SQLite file only, unless the command may create it or --init was given. */
export async function openFor(config: Config, use: StoreUse, init: boolean): Promise<Store> {
  const sqliteFile = isPostgresUrl(config.databaseUrl) ? undefined : config.databaseUrl;
  const isNew = sqliteFile !== undefined && !existsSync(sqliteFile);
  if (isNew && use === 'existing' && !init) {
    throw new UsageError(
      `no database at ${sqliteFile}: run the command again with --init to create a new one there, or start the server once; if the database is elsewhere, set MFA_DATA_DIR or MFA_DATABASE_URL`,
    );
  }
  const store = await openMigratedStore(config);
  if (isNew) note(`mfa-controller: created a new database at ${sqliteFile}`);
  return store;
}

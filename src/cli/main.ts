#!/usr/bin/env node
// The command line: `serve` runs the service; the rest manage clients, identities, security questions,
// keys, the outbox and the audit trail directly on the configured database, and `check` tries every
// outside connection. Each command is one entry of COMMANDS; usage and --help come from it.
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createClient } from '../auth/clients.js';
import { KeyRing } from '../auth/keyring.js';
import { ADMIN_SCOPE, KNOWN_SCOPES } from '../auth/scopes.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { AUDIT_ID_PATTERN, AUDIT_OUTCOMES, parseAuditInstant, type AuditOutcome, type AuditQuery } from '../core/audit.js';
import { ServiceError } from '../core/errors.js';
import { detectFormat, parseIdentityImport } from '../core/identity-import.js';
import { validateQuestionInput, withText } from '../core/kba-catalog.js';
import { METHODS, type Method } from '../core/model.js';
import type { Store } from '../core/ports.js';
import { generateId } from '../core/secrets.js';
import { readOutbox } from '../delivery/outbox.js';
import { createRuntime, openMigratedStore, sealerFor } from '../runtime.js';
import { AuditTrail } from '../services/audit.js';
import { OperatorActions } from '../services/operator.js';
import { StartupError, listenFailure, whereData } from '../startup.js';
import { isPostgresUrl } from '../store/index.js';
import { INIT_OPTION, UsageError, parseCommand, usageOf, wantsHelp, wholeNumber, type CommandSpec, type Parsed } from './args.js';
import { runChecks } from './check.js';
import { MAX_WORKERS, parseWorkers, runPrimary } from './cluster.js';

const clock = { now: () => Date.now() };
const random = (size: number) => randomBytes(size);

const print = (value: unknown) => process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

/** How a command uses the database: not at all, an existing one (else --init), or it may create one. */
type StoreUse = 'none' | 'existing' | 'create';

interface Command extends CommandSpec {
  readonly store: StoreUse;
  /** Resolves to the exit code; -1 keeps the process running (serve). */
  run(config: Config, args: Parsed, store: Store | undefined): Promise<number>;
}

const json = { json: { type: 'boolean' } } as const;

const COMMANDS: readonly Command[] = [
  {
    name: 'serve',
    synopsis: '[--workers N]',
    about: `run the service (the default command); creates the database on its first start.\n--workers N runs N worker processes (1 to ${MAX_WORKERS}) sharing the port (docs/operations.md)`,
    options: { workers: { type: 'string' } },
    store: 'none',
    run: serve,
  },
  {
    name: 'migrate',
    synopsis: '',
    about: 'create the database if it is new, apply migrations, and exit',
    store: 'create',
    run: async () => {
      print('migrations applied');
      return 0;
    },
  },
  {
    name: 'check',
    synopsis: '',
    about: 'check the configuration, the database, Redis, the delivery transports (without sending)\nand every configured provider; one line each, exit 1 if any failed',
    store: 'none',
    run: async (config) => ((await runChecks(config, print)) ? 0 : 1),
  },
  {
    name: 'clients create',
    synopsis: '--name N --scopes S[,S] [--identity ALIAS] [--json]',
    about: 'create an API client and print its secret (shown only this once);\n--identity makes a personal client acting for identity ALIAS',
    options: { name: { type: 'string' }, scopes: { type: 'string' }, identity: { type: 'string' }, ...json },
    store: 'existing',
    run: clientsCreate,
  },
  {
    name: 'clients list',
    synopsis: '[--json]',
    about: 'list the API clients (never their secrets)',
    options: json,
    store: 'existing',
    run: clientsList,
  },
  {
    name: 'clients delete',
    synopsis: 'CLIENT_ID',
    about: 'delete an API client; its tokens stop working',
    positionals: ['CLIENT_ID'],
    store: 'existing',
    run: async (_config, { positionals: [id] }, store) => {
      if (!(await store!.deleteClient(id!))) throw new UsageError(`no client ${id}`);
      print(`deleted ${id}`);
      return 0;
    },
  },
  {
    name: 'users import',
    synopsis: 'FILE',
    about: 'import identities from a JSON or CSV file (all or nothing; docs/identities.md)',
    positionals: ['FILE'],
    store: 'existing',
    run: usersImport,
  },
  {
    name: 'users list',
    synopsis: '[--json]',
    about: 'list the identities with their status and attribute names',
    options: json,
    store: 'existing',
    run: usersList,
  },
  {
    name: 'users get',
    synopsis: 'ALIAS [--json]',
    about: 'show one identity',
    options: json,
    positionals: ['ALIAS'],
    store: 'existing',
    run: async (_config, { values, positionals: [alias] }, store) => {
      const identity = await store!.findIdentity(alias!);
      if (!identity) throw new UsageError(`no identity ${alias}`);
      print(values['json'] ? identity : Object.entries({ id: identity.id, alias: identity.alias, status: identity.status, ...identity.attributes }).map(([k, v]) => `${k}: ${v}`).join('\n'));
      return 0;
    },
  },
  {
    name: 'users delete',
    synopsis: 'ALIAS',
    about: 'delete an identity and its security answers',
    positionals: ['ALIAS'],
    store: 'existing',
    run: async (_config, { positionals: [alias] }, store) => {
      if (!(await store!.deleteIdentity(alias!))) throw new UsageError(`no identity ${alias}`);
      print(`deleted ${alias}`);
      return 0;
    },
  },
  {
    name: 'users unlock',
    synopsis: 'ALIAS',
    about: 'end the token and KBA lockouts of ALIAS and forget its failures (recorded in the audit trail)',
    positionals: ['ALIAS'],
    store: 'existing',
    run: async (_config, { positionals: [alias] }, store) => {
      const { wasLocked } = await operatorActions(store!).unlock(alias!);
      if (wasLocked.length === 0) print(`${alias} was not locked out; its failure counts are cleared`);
      else print(`unlocked ${alias}: ${wasLocked.map((l) => `${l.method} (locked until ${new Date(l.until).toISOString()})`).join(', ')}`);
      return 0;
    },
  },
  {
    name: 'users reset-kba',
    synopsis: 'ALIAS',
    about: 'delete the security answers of ALIAS so that they enrol again (recorded in the audit trail)',
    positionals: ['ALIAS'],
    store: 'existing',
    run: async (_config, { positionals: [alias] }, store) => {
      const removed = await operatorActions(store!).resetKba(alias!);
      if (removed === undefined) throw new UsageError(`no identity ${alias}`);
      print(`removed ${removed} security answer(s) of ${alias}; they must enrol again before KBA can verify them`);
      return 0;
    },
  },
  {
    name: 'questions add',
    synopsis: '--id ID --text TEXT [--locale L]',
    about: 'add a security question, or set its text for locale L (no --locale: the default text)',
    options: { id: { type: 'string' }, text: { type: 'string' }, locale: { type: 'string' } },
    store: 'existing',
    run: questionsAdd,
  },
  {
    name: 'questions list',
    synopsis: '[--json]',
    about: 'list the questions, their texts and how many identities answered each',
    options: json,
    store: 'existing',
    run: questionsList,
  },
  {
    name: 'questions remove',
    synopsis: 'ID',
    about: 'remove a question and every answer to it',
    positionals: ['ID'],
    store: 'existing',
    run: async (_config, { positionals: [id] }, store) => {
      if (!(await store!.removeQuestion(id!))) throw new UsageError(`no question ${id}`);
      print(`removed ${id} and every answer to it`);
      return 0;
    },
  },
  {
    name: 'keys rotate',
    synopsis: '',
    about: 'start signing access tokens with a new key',
    store: 'existing',
    run: async (config, _args, store) => {
      const ring = new KeyRing(store!, sealerFor(config), clock, random, config.accessTokenTtlSeconds * 1000);
      print(`signing with new key ${await ring.rotate()}; older keys verify for ${config.accessTokenTtlSeconds} s more`);
      return 0;
    },
  },
  {
    name: 'outbox',
    synopsis: '[--json] [--last N]',
    about: 'show the messages written to the local outbox (development), with their request ids',
    options: { ...json, last: { type: 'string' } },
    store: 'none',
    run: outbox,
  },
  {
    name: 'audit',
    synopsis: '[--alias A] [--method M] [--outcome O] [--client-id C] [--since T] [--until T]\n       [--after ID] [--order newest|oldest] [--limit N] [--json]',
    about: `show the audit trail, newest first, with the filters of GET /admin/v1/audit (docs/operations.md).\nM: ${METHODS.join(' ')}; O: ${AUDIT_OUTCOMES.join(' ')};\nT: epoch milliseconds or an ISO 8601 date-time; N: 1 to 1000 (default 100)`,
    options: {
      alias: { type: 'string' },
      method: { type: 'string' },
      outcome: { type: 'string' },
      'client-id': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      after: { type: 'string' },
      order: { type: 'string' },
      limit: { type: 'string' },
      ...json,
    },
    store: 'existing',
    run: audit,
  },
];

/** Command groups: `clients` alone names no command but lists those it holds. */
const GROUPS = ['clients', 'users', 'questions', 'keys'];

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function overview(): string {
  const lines = COMMANDS.map((c) => {
    const head = `  ${c.name}${c.synopsis ? ` ${c.synopsis.split('\n')[0]}` : ''}`;
    return head.length < 42 ? `${head.padEnd(42)}${c.about.split('\n')[0]}` : `${head}\n${' '.repeat(42)}${c.about.split('\n')[0]}`;
  });
  return `usage: mfa-controller <command> [options]

${lines.join('\n')}

  --help after any command shows its options; --version prints the version.
  Commands that open the database refuse to create a new one unless given --init
  (the server creates it on its first start, and so does migrate).

Scopes: ${KNOWN_SCOPES.join(' ')}
Configuration comes from MFA_* environment variables; see docs/configuration.md.
Exit codes: 0 done; 1 a check failed, or the database or port could not be used; 2 bad arguments,
input or configuration.`;
}

// ---------------------------------------------------------------------------------------------------
// Commands

async function serve(config: Config, { values }: Parsed): Promise<number> {
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
  if (cluster.isPrimary) note(`mfa-controller ${VERSION} listening on http://${config.host}:${config.port} (public URL ${config.publicUrl}); ${whereData(config)}`);
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
    note('!! A send that produced no message (unknown alias, no address)? MFA_EXPLICIT_ERRORS=true says why.');
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

async function clientsCreate(_config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
  const name = values['name'] as string | undefined;
  const scopesText = values['scopes'] as string | undefined;
  const identity = values['identity'] as string | undefined;
  if (!name || !scopesText) throw new UsageError('clients create needs --name and --scopes', usageOf(commandNamed('clients create')));
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

async function clientsList(_config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
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

async function usersImport(_config: Config, { positionals: [file] }: Parsed, store: Store | undefined): Promise<number> {
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

async function usersList(_config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
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

async function questionsAdd(_config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
  if (values['id'] === undefined || values['text'] === undefined) throw new UsageError('questions add needs --id and --text', usageOf(commandNamed('questions add')));
  const checked = validateQuestionInput({ id: values['id'], text: values['text'], locale: values['locale'] ?? '' });
  if (Array.isArray(checked)) throw new UsageError(checked.join('\n'));
  const existing = (await store!.listQuestions()).find((q) => q.id === checked.id);
  await store!.putQuestion(withText(existing, checked.id, checked.locale, checked.text, clock.now()));
  const which = checked.locale === '' ? 'default text' : `${checked.locale} text`;
  print(`${existing ? 'updated' : 'added'} question ${checked.id} (${which})`);
  return 0;
}

async function questionsList(_config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
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

async function outbox(config: Config, { values }: Parsed): Promise<number> {
  const last = values['last'] === undefined ? undefined : wholeNumber('--last', String(values['last']), 1, 1_000_000, usageOf(commandNamed('outbox')));
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

async function audit(_config: Config, { values }: Parsed, store: Store | undefined): Promise<number> {
  const usage = usageOf(commandNamed('audit'));
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
  const method = oneOf<Method>('method', METHODS);
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

function commandNamed(name: string): Command {
  return COMMANDS.find((c) => c.name === name)!;
}

// ---------------------------------------------------------------------------------------------------
// Dispatch

/** The command named by the first one or two words of argv, and the arguments after them. */
function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | { group: string } | undefined {
  const [first = 'serve', second, ...after] = argv;
  if (GROUPS.includes(first)) {
    const command = second === undefined || second.startsWith('-') ? undefined : COMMANDS.find((c) => c.name === `${first} ${second}`);
    return command ? { command, rest: after } : { group: first };
  }
  // No command but options (`mfa-controller --workers 2`) means serve, as no command at all does.
  const command = first.startsWith('-') ? commandNamed('serve') : COMMANDS.find((c) => c.name === first);
  if (!command) return undefined;
  return { command, rest: first.startsWith('-') ? [...argv] : argv.slice(1) };
}

function groupUsage(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return `usage:\n${members.map((c) => `  mfa-controller ${c.name}${c.synopsis ? ` ${c.synopsis.split('\n')[0]}` : ''}`).join('\n')}\n\n  --help after a command shows what it does.`;
}

/** Opens the database for a command: an existing SQLite file only, unless the command may create it or --init was given. */
async function openFor(config: Config, use: StoreUse, init: boolean): Promise<Store> {
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

export async function main(argv: string[]): Promise<number> {
  const [first] = argv;
  if (first === '--version' || first === '-V' || first === 'version') {
    print(`mfa-controller ${VERSION}`);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    print(overview());
    return 0;
  }
  let config: Config | undefined;
  try {
    const found = findCommand(argv);
    if (!found) throw new UsageError(`unknown command ${first}`, overview());
    if ('group' in found) {
      if (wantsHelp(argv)) {
        print(groupUsage(found.group));
        return 0;
      }
      const second = argv[1];
      const members = COMMANDS.filter((c) => c.name.startsWith(`${found.group} `)).map((c) => c.name.split(' ')[1]);
      const expected = `expected ${members.slice(0, -1).join(', ')}${members.length > 1 ? ' or ' : ''}${members.at(-1)}`;
      throw new UsageError(second === undefined || second.startsWith('-') ? `${found.group}: ${expected}` : `${found.group}: unknown command ${second}; ${expected}`, groupUsage(found.group));
    }
    const { command, rest } = found;
    if (wantsHelp(rest)) {
      print(usageOf(command));
      return 0;
    }
    const args = parseCommand(command.store === 'existing' ? { ...command, options: { ...command.options, ...INIT_OPTION } } : command, rest);
    config = loadConfig();
    for (const warning of config.warnings) note(`mfa-controller: warning: ${warning}`);
    if (command.store === 'none') {
      const code = await command.run(config, args, undefined);
      if (command.name === 'outbox') note(`(${whereData(config)})`);
      return code;
    }
    const store = await openFor(config, command.store, args.values['init'] === true);
    let code: number;
    try {
      code = await command.run(config, args, store);
    } catch (err) {
      // The failure first, then which database it happened on.
      code = report(err, undefined);
    } finally {
      await store.close();
    }
    note(`(${whereData(config)})`);
    return code;
  } catch (err) {
    return report(err, config);
  }
}

/** One line (or one per problem) for every failure an operator can cause or fix; the stack only for a bug. */
function report(err: unknown, config: Config | undefined): number {
  if (err instanceof ConfigError) {
    for (const problem of err.problems) note(`configuration error: ${problem.message}`);
    return 2;
  }
  if (err instanceof UsageError) {
    note(`mfa-controller: ${err.message}`);
    if (err.usage) note(`\n${err.usage}`);
    return 2;
  }
  if (err instanceof ServiceError) {
    note(`mfa-controller: ${err.message}`);
    return 2;
  }
  if (err instanceof StartupError) {
    note(`mfa-controller: ${err.message}`);
    if (config) note(`(${whereData(config)})`);
    return 1;
  }
  note(`mfa-controller: unexpected error (a bug; please report it): ${(err as Error)?.stack ?? String(err)}`);
  return 1;
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);

#!/usr/bin/env node
// The command line: `serve` runs the service; the rest manage clients, identities, security questions,
// keys and the outbox directly on the configured database.
import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createClient } from '../auth/clients.js';
import { KeyRing } from '../auth/keyring.js';
import { ADMIN_SCOPE, KNOWN_SCOPES } from '../auth/scopes.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { ServiceError } from '../core/errors.js';
import { detectFormat, parseIdentityImport } from '../core/identity-import.js';
import { validateQuestionInput, withText } from '../core/kba-catalog.js';
import type { Store } from '../core/ports.js';
import { generateId } from '../core/secrets.js';
import { readOutbox } from '../delivery/outbox.js';
import { parseWorkers, runPrimary } from './cluster.js';
import { createRuntime, openMigratedStore, sealerFor } from '../runtime.js';

const USAGE = `usage: mfa-controller <command>

  serve [--workers N]                     run the service (default); --workers N runs N worker
                                          processes sharing the port (docs/operations.md)
  migrate                                 apply database migrations and exit
  clients create --name N --scopes S[,S] [--identity ALIAS] [--json]
                                          create an API client; prints its secret once;
                                          --identity makes a personal client acting for ALIAS
  clients list [--json]
  clients delete CLIENT_ID
  users import FILE                       import identities from JSON or CSV (all or nothing)
  users list [--json]
  users get ALIAS [--json]
  users delete ALIAS
  questions add --id ID --text TEXT [--locale L]
                                          add a security question, or set its text for locale L
                                          (no --locale: the default text)
  questions list [--json]                 questions, their texts and how many answered each
  questions remove ID                     remove a question and every answer to it
  keys rotate                             start signing access tokens with a new key
  outbox [--json] [--last N]              show messages written to the local outbox

Scopes: ${KNOWN_SCOPES.join(' ')}
Configuration comes from MFA_* environment variables; see docs/configuration.md.`;

const clock = { now: () => Date.now() };
const random = (size: number) => randomBytes(size);

class UsageError extends Error {}

async function withStore<T>(config: Config, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openMigratedStore(config);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const print = (value: unknown) => process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);

async function serve(config: Config, args: string[] = []): Promise<void> {
  const { values } = parseArgs({ args, options: { workers: { type: 'string' } } });
  let workers: number | undefined;
  try {
    workers = values.workers === undefined ? undefined : parseWorkers(values.workers);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // A cluster worker runs the ordinary server below; the primary only forks and supervises.
  if (workers !== undefined && cluster.isPrimary) {
    printDevDefaults(config);
    return runPrimary(config, workers);
  }
  if (cluster.isPrimary) printDevDefaults(config);
  const runtime = await createRuntime(config);
  await listenAndDrain(config, runtime);
}

function printDevDefaults(config: Config): void {
  if (config.devDefaults.length > 0) {
    const bar = '!'.repeat(78);
    process.stderr.write(`${bar}\n!! mfa-controller is running with development defaults:\n`);
    for (const item of config.devDefaults) process.stderr.write(`!!   - ${item}\n`);
    process.stderr.write(`!! Do not use this setup for real people. See docs/configuration.md.\n${bar}\n`);
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
  await runtime.app.listen({ host: config.host, port: config.port });
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

async function clients(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { name: { type: 'string' }, scopes: { type: 'string' }, identity: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [action, id] = positionals;
  await withStore(config, async (store) => {
    if (action === 'create') {
      if (!values.name || !values.scopes) throw new UsageError('clients create needs --name and --scopes');
      if (values.identity === '') throw new UsageError('clients create --identity needs an alias');
      const scopes = values.scopes.split(/[\s,]+/).filter(Boolean);
      const created = await createClient(store, clock, random, values.name, scopes, values.identity ?? null);
      // The identity is printed only for a personal client, so a service client's output stays as it was.
      const personal = created.identityAlias === null ? {} : { identityAlias: created.identityAlias };
      if (values.json) print({ clientId: created.clientId, clientSecret: created.clientSecret, ...personal });
      else print(`client id:     ${created.clientId}\nclient secret: ${created.clientSecret}\n(the secret is shown only now)`);
      if (created.identityAlias !== null && !values.json) print(`a personal client: its tokens act for identity ${created.identityAlias}`);
      if (scopes.includes(ADMIN_SCOPE) && !values.json) print(`scope ${ADMIN_SCOPE} lets this client manage identities and clients`);
    } else if (action === 'list') {
      const list = (await store.listClients()).map((c) => ({
        clientId: c.clientId,
        name: c.name,
        scopes: c.scopes,
        ...(c.identityAlias === null ? {} : { identityAlias: c.identityAlias }),
        created: new Date(c.createdAt).toISOString(),
      }));
      const line = (c: (typeof list)[number]) => `${c.clientId}  ${c.name}  ${c.scopes.join(' ')}${c.identityAlias === undefined ? '' : `  (for ${c.identityAlias})`}`;
      print(values.json ? list : list.map(line).join('\n') || '(no clients)');
    } else if (action === 'delete' && id) {
      if (!(await store.deleteClient(id))) throw new UsageError(`no client ${id}`);
      print(`deleted ${id}`);
    } else {
      throw new UsageError('clients: expected create, list or delete CLIENT_ID');
    }
  });
}

async function users(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const [action, target] = positionals;
  await withStore(config, async (store) => {
    if (action === 'import' && target) {
      const text = await readFile(target, 'utf8');
      const { rows, errors } = parseIdentityImport(text, detectFormat(target, text));
      if (errors.length > 0) {
        for (const e of errors) process.stderr.write(`${target}:${e.line}: ${e.message}\n`);
        throw new UsageError(`${errors.length} bad row(s); nothing was imported`);
      }
      const result = await store.upsertIdentities(rows, () => generateId(random), clock.now());
      print(`imported ${rows.length} identities (${result.created} created, ${result.updated} updated)`);
    } else if (action === 'list') {
      const all = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listIdentities(500, after);
        all.push(...page);
        if (page.length < 500) break;
        after = page[page.length - 1]?.alias;
      }
      print(values.json ? all : all.map((i) => `${i.alias}  ${i.status}  ${Object.keys(i.attributes).join(',')}`).join('\n') || '(no identities)');
    } else if (action === 'get' && target) {
      const identity = await store.findIdentity(target);
      if (!identity) throw new UsageError(`no identity ${target}`);
      print(values.json ? identity : Object.entries({ id: identity.id, alias: identity.alias, status: identity.status, ...identity.attributes }).map(([k, v]) => `${k}: ${v}`).join('\n'));
    } else if (action === 'delete' && target) {
      if (!(await store.deleteIdentity(target))) throw new UsageError(`no identity ${target}`);
      print(`deleted ${target}`);
    } else {
      throw new UsageError('users: expected import FILE, list, get ALIAS or delete ALIAS');
    }
  });
}

async function questions(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { id: { type: 'string' }, text: { type: 'string' }, locale: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [action, target] = positionals;
  await withStore(config, async (store) => {
    if (action === 'add') {
      if (values.id === undefined || values.text === undefined) throw new UsageError('questions add needs --id and --text');
      const checked = validateQuestionInput({ id: values.id, text: values.text, locale: values.locale ?? '' });
      if (Array.isArray(checked)) throw new UsageError(checked.join('\n'));
      const existing = (await store.listQuestions()).find((q) => q.id === checked.id);
      await store.putQuestion(withText(existing, checked.id, checked.locale, checked.text, clock.now()));
      const which = checked.locale === '' ? 'default text' : `${checked.locale} text`;
      print(`${existing ? 'updated' : 'added'} question ${checked.id} (${which})`);
    } else if (action === 'list') {
      const counts = await store.answerCounts();
      const list = (await store.listQuestions()).map((q) => ({ id: q.id, texts: q.texts, numAnswers: counts.get(q.id) ?? 0 }));
      if (values.json) {
        print(list);
        return;
      }
      const block = (q: (typeof list)[number]) =>
        [`${q.id}  (${q.numAnswers} answered)`, ...Object.entries(q.texts).map(([locale, text]) => `  ${locale || 'default'}: ${text}`)].join('\n');
      print(list.map(block).join('\n') || '(no questions)');
    } else if (action === 'remove' && target) {
      if (!(await store.removeQuestion(target))) throw new UsageError(`no question ${target}`);
      print(`removed ${target} and every answer to it`);
    } else {
      throw new UsageError('questions: expected add --id ID --text TEXT [--locale L], list or remove ID');
    }
  });
}

async function keys(config: Config, args: string[]): Promise<void> {
  if (args[0] !== 'rotate') throw new UsageError('keys: expected rotate');
  await withStore(config, async (store) => {
    const ring = new KeyRing(store, sealerFor(config), clock, random, config.accessTokenTtlSeconds * 1000);
    print(`signing with new key ${await ring.rotate()}; older keys verify for ${config.accessTokenTtlSeconds} s more`);
  });
}

async function outbox(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, last: { type: 'string' } } });
  const entries = await readOutbox(config.dataDir);
  const shown = values.last ? entries.slice(-Number(values.last)) : entries;
  if (values.json) {
    print(shown);
    return;
  }
  print(shown.map((m) => `[${m.at}] ${m.channel} to ${m.to}${m.subject ? ` — ${m.subject}` : ''}\n${m.body}\n`).join('\n') || '(the outbox is empty)');
}

export async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    print(USAGE);
    return 0;
  }
  try {
    const config = loadConfig();
    switch (command) {
      case 'serve':
        await serve(config, rest);
        return -1;
      case 'migrate':
        await withStore(config, async () => print('migrations applied'));
        return 0;
      case 'clients':
        await clients(config, rest);
        return 0;
      case 'users':
        await users(config, rest);
        return 0;
      case 'questions':
        await questions(config, rest);
        return 0;
      case 'keys':
        await keys(config, rest);
        return 0;
      case 'outbox':
        await outbox(config, rest);
        return 0;
      default:
        throw new UsageError(`unknown command ${command}\n\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`configuration error: ${err.message}\n`);
    else if (err instanceof UsageError || err instanceof ServiceError) process.stderr.write(`mfa-controller: ${err.message}\n`);
    else process.stderr.write(`mfa-controller: ${(err as Error).stack ?? String(err)}\n`);
    return 2;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);

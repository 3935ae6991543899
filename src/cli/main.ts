#!/usr/bin/env node
// The command line: `serve` runs the service; the rest manage clients, identities, security questions,
// keys, the outbox and the audit trail directly on the configured database, and `check` tries every
// outside connection. Each command is one entry of COMMANDS; usage and --help come from it, and its work
// (src/cli/commands.ts, with the drivers and the server) is loaded only when it runs.
import { readFileSync } from 'node:fs';
import { KNOWN_SCOPES } from '../auth/scopes.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { AUDIT_OUTCOMES } from '../core/audit.js';
import { AUDIT_METHODS } from '../methods/index.js';
import { ServiceError } from '../core/errors.js';
import { METHODS } from '../methods/index.js';
import { StartupError, whereData } from '../startup.js';
import { INIT_OPTION, UsageError, parseCommand, usageOf, wantsHelp, type CommandSpec } from './args.js';
import { MAX_WORKERS } from './cluster-limits.js';
import type * as Commands from './commands.js';

type RunName = { [K in keyof typeof Commands]: (typeof Commands)[K] extends Commands.Run ? K : never }[keyof typeof Commands];

interface Command extends CommandSpec {
  readonly store: Commands.StoreUse;
  /** The export of commands.ts that does the work. */
  readonly run: RunName;
}

const print = (value: string) => process.stdout.write(`${value}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

const json = { json: { type: 'boolean' } } as const;

const COMMANDS: readonly Command[] = [
  {
    name: 'serve',
    synopsis: '[--workers N]',
    about: `run the service (the default command); creates the database on its first start.\n--workers N runs N worker processes (1 to ${MAX_WORKERS}) sharing the port (docs/operations.md)`,
    options: { workers: { type: 'string' } },
    store: 'none',
    run: 'serve',
  },
  {
    name: 'migrate',
    synopsis: '',
    about: 'create the database if it is new, apply migrations, and exit',
    store: 'create',
    run: 'migrate',
  },
  {
    name: 'check',
    synopsis: '',
    about: 'check the configuration, the database, Redis, the delivery transports (without sending)\nand every configured provider; one line each, exit 1 if any failed',
    store: 'none',
    run: 'check',
  },
  {
    name: 'clients create',
    synopsis: '--name N --scopes S[,S] [--identity ALIAS] [--json]',
    about: 'create an API client and print its secret (shown only this once);\n--identity makes a personal client acting for identity ALIAS',
    options: { name: { type: 'string' }, scopes: { type: 'string' }, identity: { type: 'string' }, ...json },
    store: 'existing',
    run: 'clientsCreate',
  },
  {
    name: 'clients list',
    synopsis: '[--json]',
    about: 'list the API clients (never their secrets)',
    options: json,
    store: 'existing',
    run: 'clientsList',
  },
  {
    name: 'clients delete',
    synopsis: 'CLIENT_ID',
    about: 'delete an API client; its tokens stop working',
    positionals: ['CLIENT_ID'],
    store: 'existing',
    run: 'clientsDelete',
  },
  {
    name: 'clients disable',
    synopsis: 'CLIENT_ID',
    about: 'disable an API client, keeping it on record: its tokens stop working within a second\nand it gets no new ones (docs/security.md)',
    positionals: ['CLIENT_ID'],
    store: 'existing',
    run: 'clientsDisable',
  },
  {
    name: 'users import',
    synopsis: 'FILE',
    about: 'import identities from a JSON or CSV file (all or nothing; docs/identities.md)',
    positionals: ['FILE'],
    store: 'existing',
    run: 'usersImport',
  },
  {
    name: 'users list',
    synopsis: '[--json]',
    about: 'list the identities with their status and attribute names',
    options: json,
    store: 'existing',
    run: 'usersList',
  },
  {
    name: 'users get',
    synopsis: 'ALIAS [--json]',
    about: 'show one identity',
    options: json,
    positionals: ['ALIAS'],
    store: 'existing',
    run: 'usersGet',
  },
  {
    name: 'users delete',
    synopsis: 'ALIAS',
    about: 'delete an identity and its security answers',
    positionals: ['ALIAS'],
    store: 'existing',
    run: 'usersDelete',
  },
  {
    name: 'users unlock',
    synopsis: 'ALIAS',
    about: 'end the token, KBA and authenticator-app lockouts of ALIAS and forget its failures (recorded in the audit trail)',
    positionals: ['ALIAS'],
    store: 'existing',
    run: 'usersUnlock',
  },
  {
    name: 'users invite',
    synopsis: 'ALIAS [--json]',
    about: 'send ALIAS an invitation to the self-service portal by email and print the link\n(works once, within MFA_PORTAL_INVITATION_TTL_SECONDS; docs/portal.md)',
    options: json,
    positionals: ['ALIAS'],
    store: 'existing',
    run: 'usersInvite',
  },
  {
    name: 'users reset-kba',
    synopsis: 'ALIAS',
    about: 'delete the security answers of ALIAS so that they enrol again (recorded in the audit trail)',
    positionals: ['ALIAS'],
    store: 'existing',
    run: 'usersResetKba',
  },
  {
    name: 'users reset-totp',
    synopsis: 'ALIAS',
    about: 'delete the authenticator-app registration of ALIAS so that they enrol again (recorded in the audit trail)',
    positionals: ['ALIAS'],
    store: 'existing',
    run: 'usersResetTotp',
  },
  {
    name: 'operators create',
    synopsis: '--email E [--role admin|viewer] [--json]',
    about: 'add an operator of the console (/console) and print a single-use enrolment link, also sent to E;\nthe operator registers a passkey there (works once, within 24 hours; docs/console.md). admin is the default role',
    options: { email: { type: 'string' }, role: { type: 'string' }, ...json },
    store: 'existing',
    run: 'operatorsCreate',
  },
  {
    name: 'questions add',
    synopsis: '--id ID --text TEXT [--locale L]',
    about: 'add a security question, or set its text for locale L (no --locale: the default text)',
    options: { id: { type: 'string' }, text: { type: 'string' }, locale: { type: 'string' } },
    store: 'existing',
    run: 'questionsAdd',
  },
  {
    name: 'questions list',
    synopsis: '[--json]',
    about: 'list the questions, their texts and how many identities answered each',
    options: json,
    store: 'existing',
    run: 'questionsList',
  },
  {
    name: 'questions remove',
    synopsis: 'ID',
    about: 'remove a question and every answer to it',
    positionals: ['ID'],
    store: 'existing',
    run: 'questionsRemove',
  },
  {
    name: 'keys rotate',
    synopsis: '[--retire-previous]',
    about: 'start signing access tokens with a new key; earlier keys verify until their tokens expire,\nor, with --retire-previous, stop verifying at once (a key thought compromised)',
    options: { 'retire-previous': { type: 'boolean' } },
    store: 'existing',
    run: 'keysRotate',
  },
  {
    name: 'outbox',
    synopsis: '[--json] [--last N]',
    about: 'show the messages written to the local outbox (development), with their request ids',
    options: { ...json, last: { type: 'string' } },
    store: 'none',
    run: 'outbox',
  },
  {
    name: 'audit',
    synopsis: '[--alias A] [--method M] [--outcome O] [--client-id C] [--since T] [--until T]\n       [--after ID] [--order newest|oldest] [--limit N] [--json]',
    about: `show the audit trail, newest first, with the filters of GET /admin/v1/audit (docs/operations.md).\nM: ${AUDIT_METHODS.join(' ')}; O: ${AUDIT_OUTCOMES.join(' ')};\nT: epoch milliseconds or an ISO 8601 date-time; N: 1 to 1000 (default 100)`,
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
    run: 'audit',
  },
];

/** Command groups: `clients` alone names no command but lists those it holds. */
const GROUPS = ['clients', 'users', 'operators', 'questions', 'keys'];

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
    const commands = await import('./commands.js');
    const run: Commands.Run = commands[command.run];
    const usage = usageOf(command);
    if (command.store === 'none') {
      const code = await run(config, args, undefined, usage);
      if (command.name === 'outbox') note(`(${whereData(config)})`);
      return code;
    }
    const store = await commands.openFor(config, command.store, args.values['init'] === true);
    let code: number;
    try {
      code = await run(config, args, store, usage);
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

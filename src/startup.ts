// What an operator is told when the service cannot start because of its surroundings (the database is
// away, the port is taken): one line naming the setting to look at and the cause, never a stack trace.
import { resolve } from 'node:path';
import type { Config } from './config.js';
import { isPostgresUrl } from './store/url.js';

/** The environment refused something a setting asked for; the message starts with that setting. */
export class StartupError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

/** The database URL fit to print: a PostgreSQL password is replaced by ***. */
export function displayDatabase(databaseUrl: string): string {
  if (!isPostgresUrl(databaseUrl)) return databaseUrl;
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** One line saying which database and data directory a command or the server uses. */
export function whereData(config: Config): string {
  const kind = isPostgresUrl(config.databaseUrl) ? 'PostgreSQL' : 'SQLite';
  return `database ${displayDatabase(config.databaseUrl)} (${kind}), data directory ${config.dataDir}`;
}

/** The setting that chose the database: MFA_DATABASE_URL when set, else MFA_DATA_DIR (the SQLite file in it). */
export function databaseVariable(config: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
  return config.databaseUrl === resolve(config.dataDir, 'mfa.sqlite') ? 'MFA_DATA_DIR' : 'MFA_DATABASE_URL';
}

interface ErrorLike {
  readonly code?: string;
  readonly message?: string;
  readonly errors?: readonly ErrorLike[];
}

/** SQLSTATE classes and codes that are about reaching or entering the database, not about a query. */
const CONNECTION_SQLSTATE = /^(08|28|3D|53|57P03)/;

/**
 * A StartupError for a failure to open or reach the database, or undefined when the error is of another
 * kind (a bug in a migration, say), which must not be passed off as a setting to fix.
 */
export function databaseFailure(err: unknown, config: Pick<Config, 'databaseUrl' | 'dataDir'>): StartupError | undefined {
  const e = (err ?? {}) as ErrorLike;
  // Connecting to `localhost` tries each address; Node then reports an AggregateError with the codes inside.
  const code = e.code ?? e.errors?.find((inner) => inner.code)?.code;
  const message = e.message || e.errors?.[0]?.message || String(err);
  const where = displayDatabase(config.databaseUrl);
  const variable = databaseVariable(config);
  let host = '';
  if (isPostgresUrl(config.databaseUrl)) {
    try {
      const url = new URL(config.databaseUrl);
      host = `${url.hostname}:${url.port || '5432'}`;
    } catch {
      // config.ts accepted it; keep the message without a host.
    }
  }
  const fail = (cause: string) => new StartupError(variable, `cannot open ${where}: ${cause}`);
  switch (code) {
    case 'ECONNREFUSED':
      return fail(`connection refused by ${host} (ECONNREFUSED): is PostgreSQL running and listening there?`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(`host name not found (DNS, ${code})`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return fail(`${host} cannot be reached (${code})`);
    case '3D000':
      return fail(`the database does not exist (${message}; 3D000)`);
    case '28P01':
    case '28000':
      return fail(`the login was refused (${message}; ${code})`);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return fail(`permission denied (${code})`);
    case 'SQLITE_CANTOPEN':
      return fail(`the file cannot be opened (SQLITE_CANTOPEN)`);
    case 'SQLITE_NOTADB':
      return fail(`the file is not a SQLite database (SQLITE_NOTADB)`);
    case 'SQLITE_READONLY':
      return fail(`the file is read-only (SQLITE_READONLY)`);
  }
  if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(message)) return fail(`no answer from ${host} within the connect timeout`);
  if (/SSL|certificate/i.test(message) && isPostgresUrl(config.databaseUrl)) return fail(`TLS: ${message}`);
  if (code && CONNECTION_SQLSTATE.test(code)) return fail(`${message} (${code})`);
  if (code && /^(E[A-Z]+|SQLITE_[A-Z_]+)$/.test(code)) return fail(`${message} (${code})`);
  return undefined;
}

/** A StartupError for a failure to listen on MFA_HOST:MFA_PORT, or undefined for other errors. */
export function listenFailure(err: unknown, host: string, port: number): StartupError | undefined {
  const code = (err as ErrorLike | undefined)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return new StartupError('MFA_PORT', `port ${port} on ${host} is already in use by another process (EADDRINUSE)`);
    case 'EACCES':
      return new StartupError('MFA_PORT', `not permitted to listen on port ${port} (EACCES): ports below 1024 need privileges; use a higher port behind the proxy`);
    case 'EADDRNOTAVAIL':
      return new StartupError('MFA_HOST', `${host} is not an address of this machine (EADDRNOTAVAIL)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError('MFA_HOST', `host name ${host} not found (${code})`);
    default:
      return undefined;
  }
}

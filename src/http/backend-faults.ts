// Recognises a backing service (PostgreSQL, Redis, a busy SQLite file) being away, from the errors its
// client library throws, so that src/http/errors.ts answers 503 (try again) rather than 500 (our bug).
// The one place that knows these shapes; the adapters throw their library's errors unchanged.

/** Socket-level failures: the peer refused, dropped or never answered. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * PostgreSQL SQLSTATEs meaning "the server cannot serve now": class 08 (connection exception), 53300
 * (too many connections), 57P01-57P03 (shutting down, crash recovery, cannot connect now).
 */
const POSTGRES_UNAVAILABLE = /^(08...|53300|57P0[123])$/;

/** SQLite's lock-wait ran out (another process held the write lock past busy_timeout). */
const SQLITE_UNAVAILABLE = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED']);

/** Messages of node-postgres and ioredis that carry no code. */
const MESSAGES = [
  /^Connection terminated/, // pg: the socket closed under a query, or connect timed out
  /^timeout exceeded when trying to connect/, // pg-pool: no connection within connectionTimeoutMillis
  /not queryable/, // pg: a client that already lost its connection
  /^Stream isn't writeable and enableOfflineQueue options is false/, // ioredis: disconnected, offline queue off
  /^Connection is closed\.?$/, // ioredis
  /^Reached the max retries per request limit/, // ioredis MaxRetriesPerRequestError
];

function isUnavailableOne(error: { code?: unknown; name?: unknown; message?: unknown }): boolean {
  const code = typeof error.code === 'string' ? error.code : '';
  if (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code) || SQLITE_UNAVAILABLE.has(code)) return true;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const message = typeof error.message === 'string' ? error.message : '';
  return MESSAGES.some((pattern) => pattern.test(message));
}

/** True when `error` (or an error it wraps: `cause`, AggregateError's `errors`) says a backing service is away. */
export function isBackendUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 4 || error === null || typeof error !== 'object') return false;
  const e = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (isUnavailableOne(e)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isBackendUnavailable(inner, depth + 1))) return true;
  return e.cause !== undefined && isBackendUnavailable(e.cause, depth + 1);
}

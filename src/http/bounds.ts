// Bounds on what one caller can make the service hold: the length of the user names it sends, and how
// many failed checks one client may cause before it is answered 429 (docs/operations.md, "Limits").
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { MAX_ALIAS_LENGTH } from '../core/identity-import.js';
import type { FailedCheckLimit } from '../services/failed-checks.js';
import { principalOf } from './auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route checks a credential: refused with 429 while the client has no failed checks left. */
    limitsFailedChecks?: boolean;
  }
}

/** Body fields that name a user (an alias, or the spec's userId). */
const USER_FIELDS = ['userAlias', 'userId'] as const;

/**
 * An onRoute hook: every body field naming a user is at most MAX_ALIAS_LENGTH characters (the longest
 * alias an identity can have), whatever the route's own schema says, so an oversized one is a 400 from
 * the schema check before it reaches a counter key, a log line or the audit trail.
 */
export function boundUserFields(route: RouteOptions): void {
  const body = route.schema?.body as { properties?: Record<string, Record<string, unknown>> } | undefined;
  const properties = body?.properties;
  if (!properties) return;
  const bounded = { ...properties };
  let changed = false;
  for (const name of USER_FIELDS) {
    const field = properties[name];
    if (!field) continue;
    const current = typeof field['maxLength'] === 'number' ? field['maxLength'] : Infinity;
    if (current > MAX_ALIAS_LENGTH) {
      bounded[name] = { ...field, maxLength: MAX_ALIAS_LENGTH };
      changed = true;
    }
  }
  if (changed) route.schema = { ...route.schema, body: { ...body, properties: bounded } };
}

/**
 * A preHandler (after the bearer check and the body's validation): the failed-check budget of routes that
 * check credentials. A callback hook, so that the other routes pass it without a promise.
 */
export function failedCheckGate(limit: FailedCheckLimit) {
  return function checkFailedBudget(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
    if (!request.routeOptions.config.limitsFailedChecks) return done();
    limit.admit(principalOf(request).clientId).then(() => done(), done);
  };
}

// The operator API under /admin/v1 (scope mfa:admin): the identity directory, security questions, API
// clients and signing keys.
import type { FastifyPluginAsync } from 'fastify';
import type { AccessTokens } from '../../auth/access-tokens.js';
import { createClient } from '../../auth/clients.js';
import type { KeyRing } from '../../auth/keyring.js';
import { ADMIN_SCOPE } from '../../auth/scopes.js';
import { ServiceError, badRequest, notFound } from '../../core/errors.js';
import { parseIdentityImport, validateIdentityInput } from '../../core/identity-import.js';
import { validateQuestionInput, withText } from '../../core/kba-catalog.js';
import { AUDIT_ID_PATTERN, AUDIT_OUTCOMES, parseAuditInstant, type AuditMethod, type AuditOutcome } from '../../core/audit.js';
import type { ApiClient, Identity, KbaQuestion } from '../../core/model.js';
import { AUDIT_METHODS } from '../../methods/index.js';
import type { Clock, Store } from '../../core/ports.js';
import { generateId, type RandomBytes } from '../../core/secrets.js';
import type { Invitations } from '../../services/invitations.js';
import type { OperatorActions } from '../../services/operator.js';
import { bearerAuth } from '../auth.js';

export interface AdminRoutesDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly tokens: AccessTokens;
  readonly keys: KeyRing;
  readonly operator: OperatorActions;
  readonly invitations: Invitations;
}

const IMPORT_LIMIT_BYTES = 20 * 1024 * 1024;

// A personal client shows the identity it acts for; a service client's entry keeps its four fields.
const clientView = (c: ApiClient) => ({
  clientId: c.clientId,
  name: c.name,
  scopes: c.scopes,
  ...(c.identityId === null ? {} : { identityAlias: c.identityAlias, identityId: c.identityId }),
  created: new Date(c.createdAt).toISOString(),
  ...(c.disabledAt === null ? {} : { disabled: new Date(c.disabledAt).toISOString() }),
});

const questionView = (q: KbaQuestion, counts: ReadonlyMap<string, number>) => ({ id: q.id, texts: q.texts, numAnswers: counts.get(q.id) ?? 0 });

const identityView = (i: Identity) => ({ id: i.id, alias: i.alias, status: i.status, attributes: i.attributes, created: new Date(i.createdAt).toISOString(), modified: new Date(i.updatedAt).toISOString() });

export const adminRoutes: FastifyPluginAsync<AdminRoutesDeps> = async (app, deps) => {
  app.addHook('onRequest', bearerAuth(deps.tokens));
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config as object), scopes: [ADMIN_SCOPE] };
  });
  const newId = () => generateId(deps.randomBytes);

  // The query string arrives as text and the app's Ajv does not coerce types, so `limit` is checked as
  // digits (1 to 1000) and converted here; `type: 'integer'` would refuse every `?limit=`.
  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/identities',
    {
      schema: {
        querystring: { type: 'object', properties: { limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' }, after: { type: 'string' } } },
      },
    },
    async (request) => {
      const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
      return (await deps.store.listIdentities(limit, request.query.after)).map(identityView);
    },
  );

  app.get<{ Params: { alias: string } }>('/identities/:alias', async (request) => {
    const identity = await deps.store.findIdentity(request.params.alias);
    if (!identity) throw notFound(`No identity with alias ${request.params.alias}.`);
    return identityView(identity);
  });

  app.put<{ Params: { alias: string }; Body: Record<string, unknown> }>('/identities/:alias', async (request) => {
    const body = request.body && typeof request.body === 'object' ? request.body : {};
    const checked = validateIdentityInput({ ...body, alias: request.params.alias }, 1);
    if (Array.isArray(checked)) throw badRequest('The identity is not valid.', checked.map((e) => e.message));
    await deps.store.upsertIdentities([checked], newId, deps.clock.now());
    const stored = await deps.store.findIdentity(checked.alias);
    // A DELETE of the same alias can land between the write and this read (found by test/fuzz).
    if (!stored) throw new ServiceError('CONFLICT', `The identity ${checked.alias} was deleted while it was being written.`);
    return identityView(stored);
  });

  app.delete<{ Params: { alias: string } }>('/identities/:alias', async (request, reply) => {
    if (!(await deps.store.deleteIdentity(request.params.alias))) throw notFound(`No identity with alias ${request.params.alias}.`);
    return reply.code(204).send();
  });

  // An operator's reset of an identity's security answers (audited): the person enrols again as for the first time.
  app.delete<{ Params: { alias: string } }>('/identities/:alias/kba-answers', async (request, reply) => {
    if ((await deps.operator.resetKba(request.params.alias)) === undefined) throw notFound(`No identity with alias ${request.params.alias}.`);
    return reply.code(204).send();
  });

  // An operator ends the alias's token, KBA and TOTP lockouts (audited), as `users unlock` does.
  app.post<{ Params: { alias: string } }>('/identities/:alias/unlock', async (request) => {
    const { wasLocked } = await deps.operator.unlock(request.params.alias);
    return { wasLocked: wasLocked.map((l) => ({ method: l.method, until: new Date(l.until).toISOString() })) };
  });

  // An invitation to the self-service portal, sent to the identity's email; the link comes back too, for
  // the operator to pass on by hand if the message does not arrive (docs/portal.md).
  app.post<{ Params: { alias: string } }>('/identities/:alias/invitations', async (request, reply) => {
    const sent = await deps.invitations.invite(request.params.alias);
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ alias: sent.alias, link: sent.link, expires: new Date(sent.expiresAt).toISOString(), sentTo: sent.sentTo, delivered: sent.delivered });
  });

  // The import reads the raw text so that errors can name the line of each bad row.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser(['application/json', 'text/csv'], { parseAs: 'string', bodyLimit: IMPORT_LIMIT_BYTES }, (_req, body, done) => done(null, body));
    raw.post<{ Body: string }>('/identities/import', async (request) => {
      const format = request.headers['content-type']?.startsWith('text/csv') ? 'csv' : 'json';
      // No body at all leaves request.body undefined (found by test/fuzz); it reads as an empty file.
      const { rows, errors } = parseIdentityImport(typeof request.body === 'string' ? request.body : '', format);
      if (errors.length > 0) {
        throw badRequest(`The import has ${errors.length} bad row(s); nothing was written.`, errors.map((e) => `line ${e.line}: ${e.message}`));
      }
      return deps.store.upsertIdentities(rows, newId, deps.clock.now());
    });
  });

  app.get('/kba/questions', async () => {
    const counts = await deps.store.answerCounts();
    return (await deps.store.listQuestions()).map((q) => questionView(q, counts));
  });

  // Sets one locale's text (no locale: the default text), creating the question if it is new.
  app.put<{ Params: { id: string }; Body: Record<string, unknown> }>('/kba/questions/:id', async (request) => {
    const body = request.body && typeof request.body === 'object' && !Array.isArray(request.body) ? request.body : {};
    const checked = validateQuestionInput({ id: request.params.id, text: body['text'], locale: body['locale'] });
    if (Array.isArray(checked)) throw badRequest('The question is not valid.', checked);
    const existing = (await deps.store.listQuestions()).find((q) => q.id === checked.id);
    const question = withText(existing, checked.id, checked.locale, checked.text, deps.clock.now());
    await deps.store.putQuestion(question);
    return questionView(question, await deps.store.answerCounts());
  });

  app.delete<{ Params: { id: string } }>('/kba/questions/:id', async (request, reply) => {
    if (!(await deps.store.removeQuestion(request.params.id))) throw notFound(`No question with id ${request.params.id}.`);
    return reply.code(204).send();
  });

  app.get('/clients', async () => (await deps.store.listClients()).map(clientView));

  app.post<{ Body: { name: string; scopes: string[]; identityAlias?: string | null } }>(
    '/clients',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'scopes'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            scopes: { type: 'array', items: { type: 'string' }, minItems: 1 },
            identityAlias: { type: ['string', 'null'], minLength: 1, maxLength: 256 },
          },
        },
      },
    },
    async (request, reply) => {
      const { name, scopes, identityAlias = null } = request.body;
      const created = await createClient(deps.store, deps.clock, deps.randomBytes, name, scopes, identityAlias);
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.delete<{ Params: { clientId: string } }>('/clients/:clientId', async (request, reply) => {
    if (!(await deps.store.deleteClient(request.params.clientId))) throw notFound('No such client.');
    return reply.code(204).send();
  });

  // Disabling keeps the client on record; its tokens stop working within a second (docs/security.md, "Revocation").
  app.post<{ Params: { clientId: string } }>('/clients/:clientId/disable', async (request, reply) => {
    const client = await deps.store.findClient(request.params.clientId);
    if (!client) throw notFound('No such client.');
    await deps.store.disableClient(client.clientId, deps.clock.now());
    return reply.code(204).send();
  });

  // With {"retirePrevious": true} tokens signed with earlier keys stop verifying at once, not after the grace period.
  app.post<{ Body: { retirePrevious?: boolean } | undefined }>(
    '/keys/rotate',
    { schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { retirePrevious: { type: 'boolean' } } } } },
    async (request) => ({ kid: await deps.keys.rotate({ retirePrevious: request.body?.retirePrevious === true }) }),
  );

  // The audit trail (docs/operations.md, "Audit log"): newest first unless order=oldest; the next page
  // is asked with after=<id of the last event>. Times are epoch milliseconds or ISO 8601 text.
  app.get<{ Querystring: AuditQueryString }>('/audit', { schema: { querystring: AUDIT_QUERY } }, async (request) => {
    const q = request.query;
    const events = await deps.store.queryAudit({
      ...(q.alias !== undefined ? { alias: q.alias } : {}),
      ...(q.method !== undefined ? { method: q.method } : {}),
      ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
      ...(q.clientId !== undefined ? { clientId: q.clientId } : {}),
      ...(q.since !== undefined ? { since: instant(q.since, 'since') } : {}),
      ...(q.until !== undefined ? { until: instant(q.until, 'until') } : {}),
      ...(q.after !== undefined ? { after: q.after } : {}),
      order: q.order ?? 'newest',
      limit: q.limit === undefined ? 100 : Number(q.limit),
    });
    return events.map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
  });
};

interface AuditQueryString {
  alias?: string;
  method?: AuditMethod;
  outcome?: AuditOutcome;
  clientId?: string;
  since?: string;
  until?: string;
  after?: string;
  order?: 'newest' | 'oldest';
  limit?: string;
}

// Ajv does not coerce query strings here: numbers are checked as digits and converted in the handler.
const AUDIT_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    alias: { type: 'string', minLength: 1, maxLength: 256 },
    method: { type: 'string', enum: [...AUDIT_METHODS] },
    outcome: { type: 'string', enum: [...AUDIT_OUTCOMES] },
    clientId: { type: 'string', minLength: 1, maxLength: 256 },
    since: { type: 'string', minLength: 1, maxLength: 40 },
    until: { type: 'string', minLength: 1, maxLength: 40 },
    after: { type: 'string', pattern: AUDIT_ID_PATTERN },
    order: { type: 'string', enum: ['newest', 'oldest'] },
    limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' },
  },
} as const;

/** Epoch milliseconds (digits) or an ISO 8601 date-time. */
function instant(text: string, name: string): number {
  const ms = parseAuditInstant(text);
  if (ms === undefined) throw badRequest('The query is not valid.', [`querystring.${name}: expected epoch milliseconds or an ISO 8601 date-time`]);
  return ms;
}

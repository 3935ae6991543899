// The operator console at /console (docs/console.md). Operators sign in with passkeys only; every page
// is server-rendered under the strict policy of src/web/page.ts. Every form is refused unless it comes
// from a page of the service (Origin) with its session's token, and every change needs the admin role:
// the server decides, whatever the page shows. Each change is an audit event naming the operator.
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { KeyRing } from '../../auth/keyring.js';
import { createClient } from '../../auth/clients.js';
import { KNOWN_SCOPES } from '../../auth/scopes.js';
import { AUDIT_OUTCOMES, parseAuditInstant, type AuditEvent, type AuditQuery } from '../../core/audit.js';
import { AUDIT_METHODS } from '../../methods/index.js';
import { ServiceError, badRequest, forbidden, notFound } from '../../core/errors.js';
import { validateQuestionInput, withText } from '../../core/kba-catalog.js';
import type { Identity } from '../../core/model.js';
import { operatorActor, roleMayChange } from '../../core/operator.js';
import { PROVIDER_METHODS, type ProviderMethod } from '../../methods/index.js';
import { isSessionSecretShape, newSessionSecret, originAllowed } from '../../core/portal-session.js';
import type { AuditSink, Clock, RateCounter, Store } from '../../core/ports.js';
import type { RandomBytes } from '../../core/secrets.js';
import { isBackendUnavailable } from '../../http/backend-faults.js';
import { RATE_LIMIT_BODY, errorBody, newTrackingId } from '../../http/errors.js';
import type { Invitations } from '../../services/invitations.js';
import type { OperatorActions } from '../../services/operator.js';
import type { ConsoleSession, Operators } from '../../services/operators.js';
import type { ProviderConfigs, ProviderTester } from '../../services/provider-configs.js';
import { enforceLimits } from '../../services/rate-limits.js';
import { PAGE_LOCALES, chooseLocale, html, sendPage, type Html, type PageLocale } from '../page.js';
import { CONSOLE_FACTORS, type ConsoleFactor, type ConsoleFactors } from './factors.js';
import { actionButton, consolePage, csrfField, isoTime, table, type ConsoleSection, type Notice } from './layout.js';
import { CONSOLE_TEXTS, type ConsoleTexts } from './texts.js';

export interface ConsoleDeps {
  readonly operators: Operators;
  readonly store: Store;
  readonly actions: OperatorActions;
  readonly invitations: Pick<Invitations, 'invite'>;
  readonly keys: Pick<KeyRing, 'rotate'>;
  readonly providers: {
    readonly configs: Pick<ProviderConfigs, 'get' | 'view' | 'put'>;
    readonly testers: Readonly<Partial<Record<ProviderMethod, ProviderTester>>>;
    /** Each provider's circuit now (closed, open, half-open). */
    readonly circuits: Readonly<Partial<Record<ProviderMethod, () => string>>>;
  };
  readonly factors: ConsoleFactors;
  readonly audit: AuditSink;
  readonly counter: RateCounter;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly publicUrl: string;
}

/** Passkey ceremonies before sign-in, per client address and minute. */
const ANONYMOUS_CALLS_PER_MINUTE = 30;
/** Changes per session and minute. */
const CHANGES_PER_MINUTE = 120;
const MAX_FIELD_LENGTH = 4096;
const PRE_SESSION_MAX_AGE_SECONDS = 3600;
const PAGE_SIZE = 50;
/** The most events one export holds. */
const EXPORT_LIMIT = 10_000;
const DAY_MS = 86_400_000;

function cookieOf(request: FastifyRequest, name: string): string | undefined {
  return (request.cookies as Record<string, string | undefined> | undefined)?.[name];
}

const queryOf = (request: FastifyRequest): Record<string, unknown> => (request.query as Record<string, unknown> | undefined) ?? {};
const text = (value: unknown): string => (typeof value === 'string' ? value.slice(0, MAX_FIELD_LENGTH) : '');

type FormInput = Record<string, string>;

export function consoleRoutes(deps: ConsoleDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(cookie);
    await app.register(formbody, { bodyLimit: 64 * 1024 });

    const secure = new URL(deps.publicUrl).protocol === 'https:';
    const prefix = secure ? '__Host-' : '';
    const names = { session: `${prefix}mfa-console`, preSession: `${prefix}mfa-console-pre`, language: `${prefix}mfa-console-lang` };
    const cookieOptions = { httpOnly: true, sameSite: 'strict', secure, path: '/' } as const;
    const publicOrigin = new URL(deps.publicUrl).origin.toLowerCase();
    // Each process keeps the last test of each provider it ran (docs/console.md).
    const lastTests = new Map<ProviderMethod, { at: number; ok: boolean; text: string }>();

    // ---------------------------------------------------------------------------------------------
    // Language, guards, answers

    function localeOf(request: FastifyRequest, reply?: FastifyReply): PageLocale {
      const asked = queryOf(request)['lang'];
      const known = PAGE_LOCALES.find((l) => l === asked);
      if (known && reply) reply.setCookie(names.language, known, { ...cookieOptions, maxAge: 365 * 86_400 });
      const header = request.headers['accept-language'];
      return chooseLocale(known ?? cookieOf(request, names.language), typeof header === 'string' ? header.slice(0, 500) : undefined);
    }

    function checkOrigin(request: FastifyRequest): void {
      const origin = request.headers.origin;
      let own: string | undefined;
      try {
        own = new URL(`${request.protocol}://${request.host}`).origin.toLowerCase();
      } catch {
        own = undefined;
      }
      if (!originAllowed(typeof origin === 'string' ? origin : undefined, own === undefined ? [publicOrigin] : [publicOrigin, own])) throw forbidden('The form did not come from this site.');
    }

    function readForm(request: FastifyRequest): FormInput {
      const body = request.body;
      if (body === undefined || body === null) return {};
      if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('The form could not be read.');
      const form: FormInput = {};
      for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
        if (typeof value === 'string') {
          if (value.length > MAX_FIELD_LENGTH) throw badRequest('A field is too long.');
          form[name] = value;
        }
      }
      return form;
    }

    /** This browser's pre-session secret (made when it has none): the token of the sign-in calls comes from it. */
    function preSession(request: FastifyRequest, reply: FastifyReply): string {
      const existing = cookieOf(request, names.preSession);
      if (existing !== undefined && isSessionSecretShape(existing)) return existing;
      const secret = newSessionSecret(deps.randomBytes);
      reply.setCookie(names.preSession, secret, { ...cookieOptions, maxAge: PRE_SESSION_MAX_AGE_SECONDS });
      return secret;
    }

    /** A passkey call before sign-in: from our origin, within the address's limit, with the pre-session token. */
    async function anonymousCall(request: FastifyRequest): Promise<Record<string, unknown>> {
      checkOrigin(request);
      await enforceLimits(deps.counter, deps.clock, [{ key: `console:address:${request.ip}`, limit: ANONYMOUS_CALLS_PER_MINUTE, windowSeconds: 60 }]);
      const pre = cookieOf(request, names.preSession);
      if (pre === undefined || !deps.operators.csrfMatches('pre-session', pre, request.headers['x-csrf-token'])) throw forbidden('The form token is missing or wrong.');
      const body = request.body;
      return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    }

    function toSignIn(request: FastifyRequest, reply: FastifyReply): FastifyReply {
      const had = cookieOf(request, names.session) !== undefined;
      if (had) reply.clearCookie(names.session, cookieOptions);
      return reply.code(303).header('cache-control', 'no-store').header('location', had ? '/console/sign-in?ended=1' : '/console/sign-in').send();
    }

    async function sessionFor(request: FastifyRequest, reply: FastifyReply): Promise<ConsoleSession | undefined> {
      const session = await deps.operators.resolve(cookieOf(request, names.session));
      if (!session) toSignIn(request, reply);
      return session;
    }

    /**
     * A form that changes something: from our origin, with the session's token, by an operator whose role
     * may change things. Undefined when it answered already (no live session).
     */
    async function changeForm(request: FastifyRequest, reply: FastifyReply): Promise<{ session: ConsoleSession; form: FormInput; actor: string } | undefined> {
      checkOrigin(request);
      const form = readForm(request);
      const secret = cookieOf(request, names.session);
      if (secret === undefined) {
        toSignIn(request, reply);
        return undefined;
      }
      if (!deps.operators.csrfMatches('session', secret, form['_csrf'] ?? request.headers['x-csrf-token'])) throw forbidden('The form token is missing or wrong.');
      const session = await sessionFor(request, reply);
      if (!session) return undefined;
      if (!roleMayChange(session.operator.role)) throw new ServiceError('FORBIDDEN', 'viewer');
      await enforceLimits(deps.counter, deps.clock, [{ key: `console:session:${session.idHash}`, limit: CHANGES_PER_MINUTE, windowSeconds: 60 }]);
      return { session, form, actor: operatorActor(session.operator.email) };
    }

    function page(request: FastifyRequest, reply: FastifyReply, session: ConsoleSession, section: ConsoleSection, title: string, body: Html, options: { notice?: Notice; status?: number } = {}): FastifyReply {
      const locale = localeOf(request, reply);
      return sendPage(
        reply,
        consolePage({
          locale,
          title,
          body,
          path: request.url,
          signedIn: { email: session.operator.email, role: session.operator.role, csrfToken: session.csrfToken, section },
          ...(options.notice ? { notice: options.notice } : {}),
        }),
        options.status ?? 200,
      );
    }

    const back = (reply: FastifyReply, to: string): FastifyReply => reply.code(303).header('cache-control', 'no-store').header('location', to).send();

    /** A GET page of a section: the session (or the way to sign in), its texts and locale. */
    function view(render: (ctx: { request: FastifyRequest; reply: FastifyReply; session: ConsoleSession; locale: PageLocale; t: ConsoleTexts }) => Promise<FastifyReply>) {
      return async (request: FastifyRequest, reply: FastifyReply) => {
        const session = await sessionFor(request, reply);
        if (!session) return reply;
        const locale = localeOf(request, reply);
        return render({ request, reply, session, locale, t: CONSOLE_TEXTS[locale] });
      };
    }

    const record = (actor: string, alias: string, reason: string) => deps.audit.record({ method: 'console', operation: 'change', alias, clientId: actor, outcome: 'SUCCESS', reason, requestId: null });

    // ---------------------------------------------------------------------------------------------
    // Errors: pages (never the API's JSON) for pages, JSON for the passkey calls; never an unexpected detail.

    app.setErrorHandler((error: FastifyError | ServiceError | Error, request, reply) => {
      const locale = localeOf(request);
      const t = CONSOLE_TEXTS[locale];
      const json = /^application\/json/i.test(request.headers['content-type'] ?? '');
      // The passkey calls are JSON: their refusals are the API's error bodies.
      const answer = (status: number, message: string) =>
        json
          ? reply.code(status).header('cache-control', 'no-store').send(status === 429 ? RATE_LIMIT_BODY : errorBody(status, message))
          : sendPage(reply, consolePage({ locale, title: t.errorTitle, body: html`<p class="status bad" role="alert">${message}</p><p><a href="/console">${t.nav.dashboard}</a></p>`, path: '/console' }), status);
      if (error instanceof ServiceError) {
        if (error.code === 'RATE_LIMITED') {
          const seconds = error.retryAfterSeconds ?? 1;
          reply.header('retry-after', String(seconds));
          return answer(429, t.tooMany(seconds));
        }
        if (error.code === 'FORBIDDEN') return answer(403, error.message === 'viewer' ? t.viewerRefused : t.formRefused);
        if (error.code === 'NOT_FOUND') return answer(404, t.notFound);
        // Operators see the service's own words: which field, which scope (they are no secret to them).
        if (error.status < 500) return answer(error.status === 409 ? 409 : 400, [error.message, ...(error.details ?? [])].join(' '));
      }
      const status = (error as FastifyError).statusCode;
      if (!(error instanceof ServiceError) && status !== undefined && status >= 400 && status < 500) return answer(status === 413 || status === 415 ? status : 400, t.formUnreadable);
      const trackingId = newTrackingId();
      if (isBackendUnavailable(error)) {
        request.log.warn({ err: error, trackingId }, 'backing service unavailable');
        return answer(503, t.unavailable);
      }
      request.log.error({ err: error, trackingId }, 'unexpected error');
      return answer(500, t.serverError(trackingId));
    });

    // ---------------------------------------------------------------------------------------------
    // Enrolment and sign-in, with passkeys only

    function passkeyPage(request: FastifyRequest, reply: FastifyReply, kind: 'sign-in' | 'enrol'): FastifyReply {
      const locale = localeOf(request, reply);
      const t = CONSOLE_TEXTS[locale];
      const token = deps.operators.csrfToken('pre-session', preSession(request, reply));
      const query = queryOf(request);
      const notice: Notice | undefined = query['ended'] !== undefined ? { kind: 'bad', text: t.sessionEnded } : query['signed-out'] !== undefined ? { kind: 'good', text: t.signedOut } : undefined;
      const [title, intro, button, refused] = kind === 'sign-in' ? [t.signInTitle, t.signInIntro, t.signInButton, t.signInRefused] : [t.enrolTitle, t.enrolIntro, t.enrolButton, t.linkUnusable];
      const body = html`<p>${intro}</p>
<div id="console-passkey" data-kind="${kind}" data-csrf="${token}" data-refused="${refused}" data-working="${t.working}">
<p id="status" class="status" role="status" hidden></p>
<button type="button" id="passkey" disabled>${button}</button>
<noscript><p class="status bad">${t.noScript}</p></noscript>
</div>`;
      return sendPage(reply, consolePage({ locale, title, body, path: kind === 'sign-in' ? '/console/sign-in' : '/console/enrol', ...(notice ? { notice } : {}), scripts: ['simplewebauthn-browser.js', 'console.js'] }));
    }

    function startSession(reply: FastifyReply, secret: string): FastifyReply {
      return reply.setCookie(names.session, secret, cookieOptions).clearCookie(names.preSession, cookieOptions).code(200).header('cache-control', 'no-store').send({ redirect: '/console' });
    }

    app.get('/console/sign-in', async (request, reply) => {
      if (await deps.operators.resolve(cookieOf(request, names.session))) return back(reply, '/console');
      return passkeyPage(request, reply, 'sign-in');
    });

    app.post('/console/sign-in/options', async (request, reply) => {
      await anonymousCall(request);
      return reply.header('cache-control', 'no-store').send({ options: await deps.operators.signInOptions() });
    });

    app.post('/console/sign-in/verify', async (request, reply) => {
      const body = await anonymousCall(request);
      const response = body['response'];
      const secret = response && typeof response === 'object' ? await deps.operators.signIn(response as AuthenticationResponseJSON) : undefined;
      if (!secret) return reply.code(400).header('cache-control', 'no-store').send(errorBody(400, CONSOLE_TEXTS[localeOf(request)].signInRefused));
      const previous = cookieOf(request, names.session);
      if (previous !== undefined) {
        const old = await deps.operators.resolve(previous);
        if (old) await deps.operators.end(old);
      }
      return startSession(reply, secret);
    });

    app.get('/console/enrol', async (request, reply) => passkeyPage(request, reply, 'enrol'));

    app.post('/console/enrol/options', async (request, reply) => {
      const body = await anonymousCall(request);
      const options = await deps.operators.enrolmentOptions(body['token']);
      if (!options) return reply.code(404).header('cache-control', 'no-store').send(errorBody(404, CONSOLE_TEXTS[localeOf(request)].linkUnusable));
      return reply.header('cache-control', 'no-store').send({ options });
    });

    app.post('/console/enrol/verify', async (request, reply) => {
      const body = await anonymousCall(request);
      const response = body['response'];
      const outcome = response && typeof response === 'object' ? await deps.operators.enrol(body['token'], response as RegistrationResponseJSON) : { error: '' };
      if ('error' in outcome) return reply.code(400).header('cache-control', 'no-store').send(errorBody(400, CONSOLE_TEXTS[localeOf(request)].linkUnusable));
      return startSession(reply, outcome.secret);
    });

    // Signing out needs no admin role: checked by Origin and token alone.
    app.post('/console/sign-out', async (request, reply) => {
      checkOrigin(request);
      const form = readForm(request);
      const secret = cookieOf(request, names.session);
      if (secret === undefined) return toSignIn(request, reply);
      if (!deps.operators.csrfMatches('session', secret, form['_csrf'])) throw forbidden('The form token is missing or wrong.');
      const session = await deps.operators.resolve(secret);
      if (session) await deps.operators.end(session);
      return reply.clearCookie(names.session, cookieOptions).code(303).header('cache-control', 'no-store').header('location', '/console/sign-in?signed-out=1').send();
    });

    // ---------------------------------------------------------------------------------------------
    // Dashboard

    app.get(
      '/console',
      view(async ({ request, reply, session, locale, t }) => {
        const now = deps.clock.now();
        const events = await auditEvents({ since: now - DAY_MS, limit: EXPORT_LIMIT, order: 'newest' });
        const byMethod = new Map<string, number>();
        const failures = new Map<string, number>();
        // Lockouts in force now, from the lockouts themselves (an unlock or an expiry ends one).
        const lockouts = new Map((await deps.store.lockoutsInForce(now)).map(({ method, count }) => [method as string, count]));
        for (const e of events) {
          if (e.method === 'console') continue;
          const key = `${e.method}\u0000${e.outcome}`;
          byMethod.set(key, (byMethod.get(key) ?? 0) + 1);
          if (e.operation === 'send' && e.outcome === 'FAILED') failures.set(e.deliveryType ?? '-', (failures.get(e.deliveryType ?? '-') ?? 0) + 1);
        }
        const counts = (map: Map<string, number>, headers: string[]) =>
          table(locale, headers[0]!, headers, [...map].sort().map(([key, n]) => html`<tr>${key.split('\u0000').map((part) => html`<td>${part}</td>`)}<td>${n}</td></tr>`));
        const providerRows = await Promise.all(
          PROVIDER_METHODS.map(async (method) => {
            const configured = (await deps.providers.configs.get(method)) !== undefined;
            const last = lastTests.get(method);
            return html`<tr><td>${method}</td><td>${configured ? t.dashboard.configured : t.dashboard.notConfigured}</td><td>${deps.providers.circuits[method]?.() ?? ''}</td><td>${last ? `${isoTime(last.at)} ${t.providers.testResult(last.ok, last.text)}` : ''}</td></tr>`;
          }),
        );
        const keys = await deps.store.listSigningKeys();
        const current = keys.filter((k) => k.retiredAt === null).sort((a, b) => b.createdAt - a.createdAt)[0];
        const body = html`<div class="console-cards">
<section><h2>${t.dashboard.byMethod}</h2>${counts(byMethod, [t.columns.method, t.columns.outcome, t.columns.count])}</section>
<section><h2>${t.dashboard.deliveryFailures}</h2>${counts(failures, [t.columns.channel, t.columns.count])}</section>
<section><h2>${t.dashboard.lockouts}</h2>${counts(lockouts, [t.columns.method, t.columns.count])}</section>
<section><h2>${t.dashboard.keyAge}</h2><p>${current ? html`<code>${current.kid}</code>: ${t.dashboard.days(Math.floor((now - current.createdAt) / DAY_MS))}` : t.none}</p></section>
</div>
<h2>${t.dashboard.providers}</h2>${table(locale, t.dashboard.providers, [t.columns.method, t.columns.state, t.providers.circuit, t.providers.test], providerRows)}`;
        return page(request, reply, session, 'dashboard', t.dashboard.title, body);
      }),
    );

    // ---------------------------------------------------------------------------------------------
    // Identities

    app.get(
      '/console/identities',
      view(async ({ request, reply, session, locale, t }) => {
        const query = queryOf(request);
        const q = text(query['q']).trim();
        const after = text(query['after']);
        let found: Identity[];
        if (q !== '') {
          const exact = await deps.store.findIdentity(q);
          const following = (await deps.store.listIdentities(PAGE_SIZE, after || q)).filter((i) => i.alias.startsWith(q));
          found = after ? following : [...(exact ? [exact] : []), ...following];
        } else {
          found = await deps.store.listIdentities(PAGE_SIZE, after || undefined);
        }
        const rows = found.map(
          (i) => html`<tr><td><a href="/console/identity?alias=${encodeURIComponent(i.alias)}">${i.alias}</a></td><td>${i.status}</td><td>${Object.entries(i.attributes).map(([k, v]) => `${k}=${v}`).join(', ')}</td><td>${isoTime(i.createdAt)}</td></tr>`,
        );
        const last = found.at(-1);
        const nextLink = found.length >= PAGE_SIZE && last ? html`<p><a href="/console/identities?q=${encodeURIComponent(q)}&amp;after=${encodeURIComponent(last.alias)}">${t.next}</a></p>` : html``;
        const body = html`<form method="get" action="/console/identities" class="console-filters" role="search"><div><label for="q">${t.identities.searchLabel}</label><input id="q" name="q" value="${q}"></div><button type="submit">${t.search}</button></form>
${table(locale, t.identities.title, [t.columns.alias, t.columns.status, t.columns.attributes, t.columns.created], rows)}${nextLink}`;
        return page(request, reply, session, 'identities', t.identities.title, body);
      }),
    );

    const FACTOR_LABEL = (t: ConsoleTexts, factor: ConsoleFactor, count: number): string =>
      factor === 'kba' ? t.identities.kba(count) : factor === 'totp' ? `${t.identities.totp}: ${count > 0 ? t.yes : t.no}` : t.identities.passkey(count);

    app.get(
      '/console/identity',
      view(async ({ request, reply, session, locale, t }) => {
        const query = queryOf(request);
        const alias = text(query['alias']);
        const identity = alias === '' ? undefined : await deps.store.findIdentity(alias);
        if (!identity) return page(request, reply, session, 'identities', t.identities.title, html`<p class="status bad" role="alert">${t.identities.missing}</p>`, { status: 404 });
        const token = session.csrfToken;
        const now = deps.clock.now();
        const done = text(query['done']);
        const notice: Notice | undefined = done === 'unlocked' ? { kind: 'good', text: t.identities.unlocked } : done === 'removed' ? { kind: 'good', text: t.identities.removed } : done === 'invited' ? { kind: 'good', text: t.identities.invited(text(query['to']), query['delivered'] !== '0') } : undefined;
        const lockRows: Html[] = [];
        for (const method of ['token', 'kba', 'totp'] as const) {
          const until = await deps.store.lockedUntil(identity.alias, method);
          if (until > now) lockRows.push(html`<tr><td>${method}</td><td>${isoTime(until)}</td></tr>`);
        }
        const factors = await deps.factors.list(identity);
        const factorRows = factors.map(
          (f) => html`<tr><td>${FACTOR_LABEL(t, f.factor, f.count)}</td><td>${f.count > 0 ? actionButton('/console/identity/reset', token, t.identities.reset, { danger: true, fields: { alias: identity.alias, factor: f.factor }, name: f.factor }) : ''}</td></tr>`,
        );
        const names = [...new Set([identity.alias, identity.id])];
        const recent = (await Promise.all(names.map((a) => deps.store.queryAudit({ alias: a, limit: 20 })))).flat().sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, 20);
        const attrRows = Object.entries(identity.attributes).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`);
        const hidden = { alias: identity.alias };
        const body = html`<p>${t.columns.status}: ${identity.status} · ${t.columns.id}: <code>${identity.id}</code></p>
<h2>${t.identities.attributes}</h2>${table(locale, t.identities.attributes, [t.columns.setting, t.columns.value], attrRows)}
<h2>${t.identities.factors}</h2>${table(locale, t.identities.factors, [t.columns.factor, t.columns.actions], factorRows)}
<h2>${t.identities.lockouts}</h2>${lockRows.length > 0 ? table(locale, t.identities.lockouts, [t.columns.method, t.columns.lockedUntil], lockRows) : html`<p class="muted">${t.identities.noLockout}</p>`}
${actionButton('/console/identity/unlock', token, t.identities.unlock, { fields: hidden })}
<h2>${t.identities.invite}</h2><p class="hint">${t.identities.inviteHint}</p>${actionButton('/console/identity/invite', token, t.identities.invite, { fields: hidden })}
<h2>${t.identities.recent}</h2>${auditTable(locale, t, recent)}`;
        return page(request, reply, session, 'identities', identity.alias, body, notice ? { notice } : {});
      }),
    );

    const identityUrl = (alias: string, extra: string) => `/console/identity?alias=${encodeURIComponent(alias)}&${extra}`;

    app.post('/console/identity/unlock', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const alias = (change.form['alias'] ?? '').trim();
      if (alias === '') throw badRequest('An alias is needed.');
      await deps.actions.unlock(alias, change.actor);
      return back(reply, identityUrl(alias, 'done=unlocked'));
    });

    app.post('/console/identity/invite', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const alias = (change.form['alias'] ?? '').trim();
      const sent = await deps.invitations.invite(alias);
      await record(change.actor, sent.alias, `portal invitation sent to ${sent.sentTo}${sent.delivered ? '' : ' (not delivered)'}`);
      return back(reply, identityUrl(sent.alias, `done=invited&to=${encodeURIComponent(sent.sentTo)}&delivered=${sent.delivered ? 1 : 0}`));
    });

    app.post('/console/identity/reset', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const factor = CONSOLE_FACTORS.find((f) => f === change.form['factor']);
      if (!factor) throw badRequest('Unknown factor.');
      const identity = await deps.store.findIdentity((change.form['alias'] ?? '').trim());
      if (!identity) throw notFound('No such identity.');
      await deps.factors.reset(factor, identity, change.actor);
      return back(reply, identityUrl(identity.alias, 'done=removed'));
    });

    // ---------------------------------------------------------------------------------------------
    // Audit log and verifications

    /** The audit query the filters of a page ask for; a bad filter is a 400. */
    function auditFilters(query: Record<string, unknown>): Omit<AuditQuery, 'limit'> {
      const filters: { -readonly [K in keyof AuditQuery]?: AuditQuery[K] } = {};
      const alias = text(query['alias']).trim();
      if (alias) filters.alias = alias.slice(0, 256);
      const method = text(query['method']);
      if (method) {
        const known = AUDIT_METHODS.find((m) => m === method);
        if (!known) throw badRequest('Unknown method.');
        filters.method = known;
      }
      const outcome = text(query['outcome']);
      if (outcome) {
        const known = AUDIT_OUTCOMES.find((o) => o === outcome);
        if (!known) throw badRequest('Unknown outcome.');
        filters.outcome = known;
      }
      const client = text(query['client']).trim();
      if (client) filters.clientId = client.slice(0, 256);
      for (const bound of ['since', 'until'] as const) {
        const value = text(query[bound]).trim();
        if (!value) continue;
        const ms = parseAuditInstant(value.length === 16 ? `${value}:00Z` : value);
        if (ms === undefined) throw badRequest(`The ${bound} time is not valid.`);
        filters[bound] = ms;
      }
      return filters;
    }

    /** Events in pages of up to 1000 (the store's page), at most `limit`. */
    async function auditEvents(query: AuditQuery): Promise<AuditEvent[]> {
      const events: AuditEvent[] = [];
      let after: string | undefined;
      while (events.length < query.limit) {
        const page = await deps.store.queryAudit({ ...query, limit: Math.min(1000, query.limit - events.length), ...(after ? { after } : {}) });
        events.push(...page);
        if (page.length < Math.min(1000, query.limit - events.length + page.length)) break;
        after = page.at(-1)?.id;
      }
      return events;
    }

    function filterForm(t: ConsoleTexts, action: string, query: Record<string, unknown>, extra: Html = html``): Html {
      const option = (value: string, current: string) => (value === current ? html`<option value="${value}" selected>${value}</option>` : html`<option value="${value}">${value}</option>`);
      const field = (name: string, label: string, type = 'text') => html`<div><label for="f-${name}">${label}</label><input id="f-${name}" name="${name}" type="${type}" value="${text(query[name])}"></div>`;
      return html`<form method="get" action="${action}" class="console-filters">${extra}${field('alias', t.columns.alias)}
<div><label for="f-method">${t.columns.method}</label><select id="f-method" name="method"><option value=""></option>${AUDIT_METHODS.map((m) => option(m, text(query['method'])))}</select></div>
<div><label for="f-outcome">${t.columns.outcome}</label><select id="f-outcome" name="outcome"><option value=""></option>${AUDIT_OUTCOMES.map((o) => option(o, text(query['outcome'])))}</select></div>
${field('client', t.columns.client)}${field('since', t.columns.since, 'datetime-local')}${field('until', t.columns.until, 'datetime-local')}
<button type="submit">${t.filter}</button></form>`;
    }

    function auditTable(locale: PageLocale, t: ConsoleTexts, events: readonly AuditEvent[]): Html {
      const rows = events.map(
        (e) => html`<tr><td>${isoTime(e.at)}</td><td>${e.method}</td><td>${e.operation}</td><td>${e.alias}</td><td>${e.clientId}</td><td class="outcome-${e.outcome.toLowerCase()}">${e.outcome}</td><td>${e.reason ?? ''}</td><td>${e.requestId ? html`<a href="/console/verifications?requestId=${encodeURIComponent(e.requestId)}"><code>${e.requestId}</code></a>` : ''}</td></tr>`,
      );
      return table(locale, t.audit.title, [t.columns.time, t.columns.method, t.columns.operation, t.columns.alias, t.columns.client, t.columns.outcome, t.columns.reason, t.columns.requestId], rows);
    }

    app.get(
      '/console/audit',
      view(async ({ request, reply, session, locale, t }) => {
        const query = queryOf(request);
        const filters = auditFilters(query);
        const after = text(query['after']);
        const events = await deps.store.queryAudit({ ...filters, limit: PAGE_SIZE, order: 'newest', ...(/^[0-9]{21}[0-9a-f]{8}$/.test(after) ? { after } : {}) });
        const params = new URLSearchParams(Object.entries(query).filter(([k, v]) => typeof v === 'string' && k !== 'after' && k !== 'lang') as [string, string][]);
        const last = events.at(-1);
        const nextLink = events.length >= PAGE_SIZE && last ? html`<p><a href="/console/audit?${params.toString()}&amp;after=${last.id}">${t.next}</a></p>` : html``;
        const exports = html`<p>${t.audit.export}: <a href="/console/audit/export?${params.toString()}&amp;format=csv" download>${t.audit.csv}</a> · <a href="/console/audit/export?${params.toString()}&amp;format=json" download>${t.audit.json}</a></p>`;
        return page(request, reply, session, 'audit', t.audit.title, html`${filterForm(t, '/console/audit', query)}${exports}${auditTable(locale, t, events)}${nextLink}`);
      }),
    );

    app.get('/console/audit/export', async (request, reply) => {
      const session = await sessionFor(request, reply);
      if (!session) return reply;
      const query = queryOf(request);
      const format = query['format'] === 'json' ? 'json' : 'csv';
      const events = (await auditEvents({ ...auditFilters(query), limit: EXPORT_LIMIT, order: 'oldest' })).map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
      reply.header('cache-control', 'no-store').header('content-disposition', `attachment; filename="audit.${format}"`);
      if (format === 'json') return reply.type('application/json; charset=utf-8').send(JSON.stringify(events));
      return reply.type('text/csv; charset=utf-8').send(auditCsv(events));
    });

    app.get(
      '/console/verifications',
      view(async ({ request, reply, session, locale, t }) => {
        const query = queryOf(request);
        const requestId = text(query['requestId']).trim();
        let found = html``;
        if (requestId) {
          const v = await deps.store.findVerification(requestId.slice(0, 200));
          found = v
            ? html`<h2>${t.verifications.record}</h2>${table(locale, t.verifications.record, [t.columns.setting, t.columns.value], [
                ['requestId', v.id], ['method', v.method], ['alias', v.subject], ['client', v.clientId], ['status', v.status], ['error', v.error ?? ''], ['deliveryType', v.deliveryType ?? ''],
                ['created', isoTime(v.createdAt)], ['expires', isoTime(v.expiresAt)], ['completed', isoTime(v.completedAt)],
              ].map(([k, value]) => html`<tr><th scope="row">${k}</th><td>${value}</td></tr>`))}`
            : html`<p class="status bad" role="alert">${t.verifications.notFoundRequest}</p>`;
        }
        const filters = auditFilters(query);
        const events = (await deps.store.queryAudit({ ...filters, limit: PAGE_SIZE * 4, order: 'newest' }))
          .filter((e) => e.method !== 'console' && e.requestId !== null && (!requestId || e.requestId === requestId))
          .slice(0, PAGE_SIZE);
        const idField = html`<div><label for="f-requestId">${t.verifications.byRequest}</label><input id="f-requestId" name="requestId" value="${requestId}"></div>`;
        return page(request, reply, session, 'verifications', t.verifications.title, html`${filterForm(t, '/console/verifications', query, idField)}${found}${auditTable(locale, t, events)}`);
      }),
    );

    // ---------------------------------------------------------------------------------------------
    // Providers

    app.get(
      '/console/providers',
      view(async ({ request, reply, session, locale, t }) => {
        const done = text(queryOf(request)['tested']);
        const sections = await Promise.all(
          PROVIDER_METHODS.map(async (method) => {
            const view = await deps.providers.configs.view(method);
            const rows = Object.entries(view).map(([k, v]) => html`<tr><th scope="row">${k}</th><td><code>${typeof v === 'string' ? v : JSON.stringify(v)}</code></td></tr>`);
            const last = lastTests.get(method);
            const result = last ? html`<p class="status ${last.ok ? 'good' : 'bad'}" ${last.ok ? html`role="status"` : html`role="alert"`} id="test-${method}">${t.providers.testResult(last.ok, last.text)} (${isoTime(last.at)})</p>` : html``;
            const field = (name: string, label: string, value: unknown) =>
              html`<label for="${method}-${name}">${label}</label><input id="${method}-${name}" name="${name}" value="${typeof value === 'string' ? value : ''}" autocomplete="off">`;
            const properties = view['configProperties'];
            const edit = html`<details><summary>${t.providers.edit}</summary><form method="post" action="/console/providers/save">${csrfField(session.csrfToken)}<input type="hidden" name="method" value="${method}">
<label class="console-check"><input type="checkbox" name="enabled" value="true"${view['enabled'] === true ? html` checked` : html``}> ${t.providers.enabled}</label>
${field('host', 'host', view['host'])}${field('accessKey', 'accessKey', view['accessKey'])}${field('identityAttribute', 'identityAttribute', view['identityAttribute'])}
${properties === undefined ? html`` : html`<label for="${method}-configProperties">configProperties (JSON)</label><input id="${method}-configProperties" name="configProperties" value="${JSON.stringify(properties)}" autocomplete="off">`}
<p class="hint">${t.providers.maskedKept}</p><button type="submit">${t.questions.save}</button></form></details>`;
            return html`<h2>${method}</h2>${table(locale, method, [t.columns.setting, t.columns.value], rows)}<p>${t.providers.circuit}: ${deps.providers.circuits[method]?.() ?? ''}</p>${done === method ? result : last ? result : html``}
${actionButton('/console/providers/test', session.csrfToken, t.providers.test, { fields: { method }, name: method })}
${edit}`;
          }),
        );
        return page(request, reply, session, 'providers', t.providers.title, html`<p class="hint">${t.providers.secretsMasked}</p>${sections}`);
      }),
    );

    app.post('/console/providers/test', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const method = PROVIDER_METHODS.find((m) => m === change.form['method']);
      if (!method) throw badRequest('Unknown provider.');
      const config = await deps.providers.configs.get(method);
      const tester = deps.providers.testers[method];
      let result: { ok: boolean; text: string };
      if (!config) result = { ok: false, text: 'not configured' };
      else if (!tester) result = { ok: false, text: 'no test for this provider' };
      else {
        const tested = await tester(config);
        result = tested.ok ? { ok: true, text: 'the provider accepted the configuration' } : { ok: false, text: tested.reason };
      }
      lastTests.set(method, { at: deps.clock.now(), ...result });
      await record(change.actor, method, `provider tested: ${result.ok ? 'works' : `failed (${result.text})`}`);
      return back(reply, `/console/providers?tested=${method}#test-${method}`);
    });

    // The configuration API's rules: a secret sent back as masked keeps the stored one, only for the same host.
    app.post('/console/providers/save', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const method = PROVIDER_METHODS.find((m) => m === change.form['method']);
      if (!method) throw badRequest('Unknown provider.');
      let configProperties: Record<string, unknown> | null = null;
      const propertiesText = (change.form['configProperties'] ?? '').trim();
      if (propertiesText !== '') {
        try {
          const parsed: unknown = JSON.parse(propertiesText);
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          configProperties = parsed as Record<string, unknown>;
        } catch {
          throw badRequest('configProperties must be a JSON object.');
        }
      }
      await deps.providers.configs.put(method, {
        enabled: change.form['enabled'] === 'true',
        host: change.form['host'] ?? null,
        accessKey: change.form['accessKey'] ?? null,
        identityAttribute: change.form['identityAttribute'] ?? null,
        configProperties,
      });
      await record(change.actor, method, 'provider configuration saved');
      return back(reply, '/console/providers');
    });

    // ---------------------------------------------------------------------------------------------
    // API clients

    app.get(
      '/console/clients',
      view(async ({ request, reply, session, locale, t }) => {
        const clients = await deps.store.listClients();
        const rows = clients.map(
          (c) => html`<tr><td><code>${c.clientId}</code></td><td>${c.name}</td><td>${c.scopes.join(' ')}</td><td>${c.identityId === null ? '' : `${t.clients.personalFor} ${c.identityAlias ?? c.identityId}`}</td><td>${isoTime(c.createdAt)}${c.disabledAt === null ? '' : ` (${t.clients.disabled})`}</td><td>${
            c.disabledAt === null ? actionButton('/console/clients/disable', session.csrfToken, t.clients.disable, { fields: { clientId: c.clientId }, name: c.name }) : ''
          }${actionButton('/console/clients/delete', session.csrfToken, t.clients.delete, { danger: true, fields: { clientId: c.clientId }, name: c.name })}</td></tr>`,
        );
        const body = html`${table(locale, t.clients.title, [t.columns.id, t.columns.name, t.columns.scopes, t.columns.identity, t.columns.created, t.columns.actions], rows)}
<h2>${t.clients.create}</h2><form method="post" action="/console/clients">${csrfField(session.csrfToken)}
<label for="c-name">${t.columns.name}</label><input id="c-name" name="name" required maxlength="200">
<label for="c-scopes">${t.clients.scopesHint}</label><input id="c-scopes" name="scopes" required aria-describedby="c-known"><p class="hint" id="c-known">${KNOWN_SCOPES.join(' ')}</p>
<label for="c-identity">${t.clients.identityHint}</label><input id="c-identity" name="identityAlias" maxlength="256">
<button type="submit">${t.clients.create}</button></form>`;
        return page(request, reply, session, 'clients', t.clients.title, body);
      }),
    );

    app.post('/console/clients', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const locale = localeOf(request, reply);
      const t = CONSOLE_TEXTS[locale];
      const name = (change.form['name'] ?? '').trim().slice(0, 200);
      const scopes = (change.form['scopes'] ?? '').split(/[\s,]+/).filter(Boolean);
      const identityAlias = (change.form['identityAlias'] ?? '').trim();
      const created = await createClient(deps.store, deps.clock, deps.randomBytes, name, scopes, identityAlias === '' ? null : identityAlias);
      await record(change.actor, created.clientId, `API client created: ${name} (${scopes.join(' ')})${identityAlias ? ` for ${identityAlias}` : ''}`);
      // The secret is in this answer only (no-store): never stored in clear, never shown again.
      const body = html`<dl class="portal-addresses"><dt>${t.columns.id}</dt><dd><code id="client-id">${created.clientId}</code></dd><dt>${t.clients.secret}</dt><dd><code class="secret" id="client-secret">${created.clientSecret}</code></dd></dl>
<p><a href="/console/clients">${t.clients.title}</a></p>`;
      return page(request, reply, change.session, 'clients', t.clients.create, body, { notice: { kind: 'good', text: t.clients.createdOnce }, status: 201 });
    });

    app.post('/console/clients/disable', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const client = await deps.store.findClient(change.form['clientId'] ?? '');
      if (!client) throw notFound('No such client.');
      await deps.store.disableClient(client.clientId, deps.clock.now());
      await record(change.actor, client.clientId, `API client disabled: ${client.name}`);
      return back(reply, '/console/clients');
    });

    app.post('/console/clients/delete', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const client = await deps.store.findClient(change.form['clientId'] ?? '');
      if (!client || !(await deps.store.deleteClient(client.clientId))) throw notFound('No such client.');
      await record(change.actor, client.clientId, `API client deleted: ${client.name}`);
      return back(reply, '/console/clients');
    });

    // ---------------------------------------------------------------------------------------------
    // Security questions

    app.get(
      '/console/questions',
      view(async ({ request, reply, session, locale, t }) => {
        const [questions, counts] = await Promise.all([deps.store.listQuestions(), deps.store.answerCounts()]);
        const rows = questions.map(
          (q) => html`<tr><td><code>${q.id}</code></td><td>${Object.entries(q.texts).map(([loc, txt]) => html`<div><span class="muted">${loc || '*'}</span> <span lang="${loc || locale}">${txt}</span></div>`)}</td><td>${counts.get(q.id) ?? 0}</td><td>${actionButton('/console/questions/remove', session.csrfToken, t.questions.remove, { danger: true, fields: { id: q.id }, name: q.id })}</td></tr>`,
        );
        const body = html`${table(locale, t.questions.title, [t.columns.id, t.columns.text, t.columns.answers, t.columns.actions], rows)}
<h2>${t.questions.add}</h2><form method="post" action="/console/questions">${csrfField(session.csrfToken)}
<label for="q-id">${t.columns.id}</label><input id="q-id" name="id" required maxlength="64">
<label for="q-locale">${t.questions.localeHint}</label><input id="q-locale" name="locale" maxlength="35">
<label for="q-text">${t.columns.text}</label><input id="q-text" name="text" required maxlength="500">
<button type="submit">${t.questions.save}</button></form>`;
        return page(request, reply, session, 'questions', t.questions.title, body);
      }),
    );

    app.post('/console/questions', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const checked = validateQuestionInput({ id: change.form['id'], text: change.form['text'], locale: change.form['locale'] ?? '' });
      if (Array.isArray(checked)) throw badRequest('The question is not valid.', checked);
      const existing = (await deps.store.listQuestions()).find((q) => q.id === checked.id);
      await deps.store.putQuestion(withText(existing, checked.id, checked.locale, checked.text, deps.clock.now()));
      await record(change.actor, checked.id, `security question text set${checked.locale ? ` (${checked.locale})` : ''}`);
      return back(reply, '/console/questions');
    });

    app.post('/console/questions/remove', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const id = change.form['id'] ?? '';
      if (!(await deps.store.removeQuestion(id))) throw notFound('No such question.');
      await record(change.actor, id, 'security question removed');
      return back(reply, '/console/questions');
    });

    // ---------------------------------------------------------------------------------------------
    // Signing keys

    app.get(
      '/console/keys',
      view(async ({ request, reply, session, locale, t }) => {
        const keys = (await deps.store.listSigningKeys()).sort((a, b) => b.createdAt - a.createdAt);
        const now = deps.clock.now();
        const rotated = text(queryOf(request)['rotated']);
        const rows = keys.map(
          (k, i) => html`<tr><td><code>${k.kid}</code></td><td>${k.alg}</td><td>${isoTime(k.createdAt)}</td><td>${t.dashboard.days(Math.floor((now - k.createdAt) / DAY_MS))}</td><td>${
            i === 0 && k.retiredAt === null ? t.keys.current : k.revokedAt !== null ? `revoked ${isoTime(k.revokedAt)}` : k.retiredAt !== null ? `retired ${isoTime(k.retiredAt)}` : ''
          }</td></tr>`,
        );
        const body = html`${table(locale, t.keys.title, [t.columns.kid, 'alg', t.columns.created, t.columns.age, t.columns.state], rows)}
<form method="post" action="/console/keys/rotate">${csrfField(session.csrfToken)}<label class="console-check"><input type="checkbox" name="retirePrevious" value="true"> ${t.keys.retire}</label><button type="submit">${t.keys.rotate}</button></form>`;
        return page(request, reply, session, 'keys', t.keys.title, body, rotated ? { notice: { kind: 'good', text: t.keys.rotated(rotated) } } : {});
      }),
    );

    app.post('/console/keys/rotate', async (request, reply) => {
      const change = await changeForm(request, reply);
      if (!change) return reply;
      const retirePrevious = change.form['retirePrevious'] === 'true';
      const kid = await deps.keys.rotate({ retirePrevious });
      await record(change.actor, kid, `signing key rotated${retirePrevious ? '; earlier keys stopped at once' : ''}`);
      return back(reply, `/console/keys?rotated=${encodeURIComponent(kid)}`);
    });

  };
}

const CSV_COLUMNS = ['id', 'at', 'method', 'operation', 'alias', 'clientId', 'address', 'deliveryType', 'outcome', 'reason', 'requestId'] as const;

/**
 * RFC 4180 text, every field quoted; a field starting with = + - @ (or a tab or return) gets a leading
 * apostrophe, so a spreadsheet shows it rather than running it as a formula.
 */
export function auditCsv(events: ReadonlyArray<Record<(typeof CSV_COLUMNS)[number], unknown>>): string {
  const cell = (value: unknown): string => {
    let s = value === null || value === undefined ? '' : String(value);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return `"${s.replace(/"/g, '""')}"`;
  };
  return [CSV_COLUMNS.join(','), ...events.map((e) => CSV_COLUMNS.map((c) => cell(e[c])).join(','))].join('\r\n') + '\r\n';
}

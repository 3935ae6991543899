// The self-service portal at /portal (docs/portal.md): people sign in by invitation or with a code sent
// to their work email, see and change their sign-in methods, and see their recent verifications.
// Every form is refused unless it comes from a page of the service (Origin) with the token of its
// session (or, before sign-in, of the browser's pre-session cookie), and every form counts against a
// rate limit per client address and per session. What changes a factor the identity already has needs
// a verification in this session within MFA_FACTOR_CHANGE_WINDOW_SECONDS.
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { maskAddress } from '../../core/audit.js';
import { ServiceError, badRequest, forbidden } from '../../core/errors.js';
import { MAX_ALIAS_LENGTH } from '../../core/identity-import.js';
import { isSessionSecretShape, newSessionSecret, originAllowed, portalReturnPath, sessionMayChangeFactor } from '../../core/portal-session.js';
import type { Clock, RateCounter, Store } from '../../core/ports.js';
import type { RandomBytes } from '../../core/secrets.js';
import { isBackendUnavailable } from '../../http/backend-faults.js';
import { errorBody, newTrackingId } from '../../http/errors.js';
import { PORTAL_EMAIL_ATTRIBUTE, type Invitations } from '../../services/invitations.js';
import type { ActiveSession, PortalSessions } from '../../services/portal-sessions.js';
import { enforceLimits, type LimitRule } from '../../services/rate-limits.js';
import type { TokenService } from '../../methods/token/service.js';
import { PAGE_LOCALES, chooseLocale, html, sendPage, type PageLocale } from '../page.js';
import { portalPage, type Notice } from './layout.js';
import { invitationForm, messagePage, signInCodePage, signInForm, verifyCodePage, verifyStartPage } from './pages.js';
import type { AnonymousContext, PortalSection, RouteInput, RouteResult, SignInMethod, SignedInContext } from './section.js';
import { PORTAL_TEXTS } from './texts.js';

/** The client id the portal's sends and checks are recorded under (the audit trail's "application"). */
export const PORTAL_CLIENT_ID = 'portal';

/** A script's call refused by the factor-change rule. */
export const ERROR_VERIFICATION_REQUIRED = 'Confirm it is you before changing a sign-in method.';

/** The delivery type of the portal's codes: the work email, where invitations go too. */
const CODE_DELIVERY = 'EMAIL_WORK' as const;

export interface PortalLimits {
  readonly formsPerAddress: number;
  readonly formsPerSession: number;
  readonly formsWindowSeconds: number;
}

export interface PortalDeps {
  readonly store: Pick<Store, 'findIdentity'>;
  readonly sessions: PortalSessions;
  readonly invitations: Pick<Invitations, 'redeem'>;
  readonly tokenService: Pick<TokenService, 'send' | 'authenticate'>;
  readonly counter: RateCounter;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly publicUrl: string;
  readonly factorChangeWindowMs: number;
  readonly limits: PortalLimits;
  /** The parts of the overview page, in order; each with its own pages and forms. */
  readonly sections: readonly PortalSection[];
  /** Ways to sign in besides the email code. */
  readonly signInMethods?: readonly SignInMethod[];
}

interface CookieNames {
  readonly session: string;
  readonly preSession: string;
  readonly language: string;
}

/** With https the __Host- prefix: the browser then takes the cookie only from this host, Secure, for path /. */
function cookieNames(secure: boolean): CookieNames {
  const prefix = secure ? '__Host-' : '';
  return { session: `${prefix}mfa-portal`, preSession: `${prefix}mfa-portal-pre`, language: `${prefix}mfa-portal-lang` };
}

/** The longest value any portal form field may hold. */
const MAX_FIELD_LENGTH = 4096;
const PRE_SESSION_MAX_AGE_SECONDS = 4 * 3600;
const LANGUAGE_MAX_AGE_SECONDS = 365 * 86_400;

/** A cookie of the request; none when the cookie parser has not run (a request refused before its hooks). */
function cookieOf(request: FastifyRequest, name: string): string | undefined {
  return (request.cookies as Record<string, string | undefined> | undefined)?.[name];
}

export function portalRoutes(deps: PortalDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(cookie);
    await app.register(formbody, { bodyLimit: 64 * 1024 });

    const secure = new URL(deps.publicUrl).protocol === 'https:';
    const names = cookieNames(secure);
    const publicOrigin = new URL(deps.publicUrl).origin.toLowerCase();
    const cookieOptions = { httpOnly: true, sameSite: 'strict', secure, path: '/' } as const;
    const signInMethods = deps.signInMethods ?? [];

    // ---------------------------------------------------------------------------------------------
    // Language, input, answers

    /** ?lang= when we have it (remembered in a cookie), else the cookie's, else Accept-Language. */
    function localeOf(request: FastifyRequest, reply?: FastifyReply): PageLocale {
      const query = request.query as Record<string, unknown> | undefined;
      const asked = typeof query?.['lang'] === 'string' ? query['lang'] : undefined;
      const known = PAGE_LOCALES.find((l) => l === asked);
      if (known && reply) reply.setCookie(names.language, known, { ...cookieOptions, maxAge: LANGUAGE_MAX_AGE_SECONDS });
      const remembered = cookieOf(request, names.language);
      const header = request.headers['accept-language'];
      return chooseLocale(known ?? remembered, typeof header === 'string' ? header.slice(0, 500) : undefined);
    }

    /** The form's fields (or a JSON object's string members); a repeated, oversized or non-text field is a 400. */
    function readInput(request: FastifyRequest): RouteInput {
      const body = request.body;
      const json = /^application\/json/i.test(request.headers['content-type'] ?? '');
      if (body === undefined || body === null) return { form: {}, json: undefined };
      if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('The form could not be read.');
      const form: Record<string, string> = {};
      for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
        if (typeof value === 'string') {
          if (value.length > MAX_FIELD_LENGTH) throw badRequest('A field is too long.');
          form[name] = value;
        } else if (!json) {
          throw badRequest('A field is repeated.');
        }
      }
      return { form, json: json ? body : undefined };
    }

    function send(reply: FastifyReply, locale: PageLocale, result: RouteResult, path: string, session?: ActiveSession): FastifyReply | Promise<FastifyReply> {
      switch (result.kind) {
        case 'redirect':
          return reply.code(303).header('cache-control', 'no-store').header('location', result.to).send();
        case 'json':
          return reply.code(result.status ?? 200).headers({ ...result.headers, 'cache-control': 'no-store' }).send(result.body);
        case 'page':
          return sendPage(
            reply,
            portalPage({
              locale,
              title: result.title,
              body: result.body,
              path,
              ...(session ? { signedIn: { alias: session.identity.alias, csrfToken: session.csrfToken } } : {}),
              ...(result.scripts ? { scripts: result.scripts } : {}),
            }),
            result.status ?? 200,
          );
        case 'sign-in':
          return signIn(reply, result.identityId, result.verified, result.json === true);
      }
    }

    /** A new session (never the cookie the browser brought), the pre-session cookie dropped, on to the overview. */
    async function signIn(reply: FastifyReply, identityId: string, verified: boolean, json: boolean): Promise<FastifyReply> {
      const previous = cookieOf(reply.request, names.session);
      if (previous !== undefined) await deps.sessions.forget(previous);
      const secret = await deps.sessions.start(identityId, verified);
      reply.setCookie(names.session, secret, cookieOptions).clearCookie(names.preSession, cookieOptions);
      const to = verified ? '/portal' : '/portal?done=welcome';
      if (json) return reply.code(200).header('cache-control', 'no-store').send({ redirect: to });
      return reply.code(303).header('cache-control', 'no-store').header('location', to).send();
    }

    // ---------------------------------------------------------------------------------------------
    // Guards

    /** The origin the request was addressed to (a default port in Host dropped, as browsers drop it from Origin). */
    function addressedOrigin(request: FastifyRequest): string | undefined {
      try {
        return new URL(`${request.protocol}://${request.host}`).origin.toLowerCase();
      } catch {
        return undefined;
      }
    }

    function checkOrigin(request: FastifyRequest): void {
      const origin = request.headers.origin;
      const own = addressedOrigin(request);
      const allowed = own === undefined ? [publicOrigin] : [publicOrigin, own];
      if (!originAllowed(typeof origin === 'string' ? origin : undefined, allowed)) throw forbidden('The form did not come from this site.');
    }

    async function limit(rules: LimitRule[]): Promise<void> {
      await enforceLimits(deps.counter, deps.clock, rules);
    }

    const addressRule = (request: FastifyRequest): LimitRule => ({ key: `portal:address:${request.ip}`, limit: deps.limits.formsPerAddress, windowSeconds: deps.limits.formsWindowSeconds });

    /** The form token sent with a form, or by a script in a header. */
    function givenToken(request: FastifyRequest, input: RouteInput): unknown {
      return input.form['_csrf'] ?? request.headers['x-csrf-token'];
    }

    /** This browser's pre-session secret (made and set when it has none): the form token before sign-in comes from it. */
    function preSession(request: FastifyRequest, reply: FastifyReply): string {
      const existing = cookieOf(request, names.preSession);
      if (existing !== undefined && isSessionSecretShape(existing)) return existing;
      const secret = newSessionSecret(deps.randomBytes);
      reply.setCookie(names.preSession, secret, { ...cookieOptions, maxAge: PRE_SESSION_MAX_AGE_SECONDS });
      return secret;
    }

    function anonymousContext(request: FastifyRequest, reply: FastifyReply): AnonymousContext {
      return { locale: localeOf(request, reply), csrfToken: deps.sessions.csrfToken('pre-session', preSession(request, reply)), now: deps.clock.now() };
    }

    /** A form before sign-in: from our origin, within the address's limit, with the pre-session cookie's token. */
    async function anonymousForm(request: FastifyRequest, reply: FastifyReply): Promise<{ ctx: AnonymousContext; input: RouteInput }> {
      checkOrigin(request);
      await limit([addressRule(request)]);
      const input = readInput(request);
      const pre = cookieOf(request, names.preSession);
      if (pre === undefined || !deps.sessions.csrfMatches('pre-session', pre, givenToken(request, input))) throw forbidden('The form token is missing or wrong.');
      return { ctx: { locale: localeOf(request, reply), csrfToken: deps.sessions.csrfToken('pre-session', pre), now: deps.clock.now() }, input };
    }

    function signedInContext(request: FastifyRequest, reply: FastifyReply, session: ActiveSession): SignedInContext {
      return { session, identity: session.identity, locale: localeOf(request, reply), now: deps.clock.now() };
    }

    /** Where a request without a live session goes: the sign-in page, saying the session ended if there was one. */
    function toSignIn(request: FastifyRequest, reply: FastifyReply): FastifyReply {
      const had = cookieOf(request, names.session) !== undefined;
      if (had) reply.clearCookie(names.session, cookieOptions);
      return reply.code(303).header('cache-control', 'no-store').header('location', had ? '/portal/sign-in?ended=1' : '/portal/sign-in').send();
    }

    /** A signed-in page: the session, or undefined after answering with the way to sign in. */
    async function sessionFor(request: FastifyRequest, reply: FastifyReply): Promise<ActiveSession | undefined> {
      const session = await deps.sessions.resolve(cookieOf(request, names.session));
      if (!session) toSignIn(request, reply);
      return session;
    }

    /** A signed-in form: from our origin, within the limits, with the session's token. Undefined when it answered already. */
    async function signedInForm(request: FastifyRequest, reply: FastifyReply): Promise<{ session: ActiveSession; input: RouteInput } | undefined> {
      checkOrigin(request);
      await limit([addressRule(request)]);
      const input = readInput(request);
      const secret = cookieOf(request, names.session);
      if (secret === undefined) {
        toSignIn(request, reply);
        return undefined;
      }
      if (!deps.sessions.csrfMatches('session', secret, givenToken(request, input))) throw forbidden('The form token is missing or wrong.');
      const session = await sessionFor(request, reply);
      if (!session) return undefined;
      await limit([{ key: `portal:session:${session.idHash}`, limit: deps.limits.formsPerSession, windowSeconds: deps.limits.formsWindowSeconds }]);
      return { session, input };
    }

    /** The factor-change rule for this session: undefined when it may go on, else where the person confirms it is them. */
    async function factorGuard(ctx: SignedInContext, changesFactor: ((ctx: SignedInContext) => Promise<boolean>) | undefined, back: string, json: boolean): Promise<RouteResult | undefined> {
      if (!changesFactor) return undefined;
      const hasFactor = await changesFactor(ctx);
      if (sessionMayChangeFactor(ctx.session.verifiedAt, hasFactor, ctx.now, deps.factorChangeWindowMs)) return undefined;
      const verifyUrl = `/portal/verify?next=${encodeURIComponent(back)}`;
      // A script gets the API's error body, and in Location the page where the person confirms it is them.
      return json ? { kind: 'json', status: 403, body: errorBody(403, ERROR_VERIFICATION_REQUIRED), headers: { location: verifyUrl } } : { kind: 'redirect', to: verifyUrl };
    }

    // ---------------------------------------------------------------------------------------------
    // Errors: pages, never the API's JSON, and never the detail of an unexpected one.

    app.setErrorHandler((error: FastifyError | ServiceError | Error, request, reply) => {
      const locale = localeOf(request);
      const t = PORTAL_TEXTS[locale];
      const page = (status: number, title: string, text: string) =>
        sendPage(reply, portalPage({ locale, title, body: messagePage(locale, text, cookieOf(request, names.session) !== undefined), path: '/portal' }), status);
      if (error instanceof ServiceError) {
        if (error.code === 'RATE_LIMITED') {
          const seconds = error.retryAfterSeconds ?? 1;
          reply.header('retry-after', String(seconds));
          return page(429, t.tooManyTitle, t.tooMany(seconds));
        }
        if (error.code === 'FORBIDDEN') return page(403, t.errorTitle, t.formRefused);
        if (error.status < 500) return page(400, t.errorTitle, t.formUnreadable);
      }
      const status = (error as FastifyError).statusCode;
      if (!(error instanceof ServiceError) && status !== undefined && status >= 400 && status < 500) {
        return page(status === 413 || status === 415 ? status : 400, t.errorTitle, t.formUnreadable);
      }
      const trackingId = newTrackingId();
      if (isBackendUnavailable(error)) {
        request.log.warn({ err: error, trackingId }, 'backing service unavailable');
        return page(503, t.errorTitle, t.unavailable);
      }
      request.log.error({ err: error, trackingId }, 'unexpected error');
      return page(500, t.errorTitle, t.serverError(trackingId));
    });

    // ---------------------------------------------------------------------------------------------
    // Signing in: by email code, by invitation, or by a method added beside them

    app.get('/portal/sign-in', async (request, reply) => {
      if (await deps.sessions.resolve(cookieOf(request, names.session))) return reply.code(303).header('location', '/portal').send();
      const ctx = anonymousContext(request, reply);
      const t = PORTAL_TEXTS[ctx.locale];
      const query = request.query as Record<string, unknown>;
      const notice: Notice | undefined = query['ended'] !== undefined ? { kind: 'bad', text: t.sessionEnded } : query['signed-out'] !== undefined ? { kind: 'good', text: t.signedOut } : undefined;
      const others = signInMethods.map((method) => method.render(ctx));
      return sendPage(
        reply,
        portalPage({
          locale: ctx.locale,
          title: t.signInTitle,
          body: html`${others}${signInForm(ctx.locale, ctx.csrfToken)}`,
          path: '/portal/sign-in',
          ...(notice ? { notice } : {}),
          scripts: signInMethods.flatMap((method) => method.scripts ?? []),
        }),
      );
    });

    app.post('/portal/sign-in', async (request, reply) => {
      const { ctx, input } = await anonymousForm(request, reply);
      const t = PORTAL_TEXTS[ctx.locale];
      const alias = (input.form['alias'] ?? '').trim();
      if (alias === '' || alias.length > MAX_ALIAS_LENGTH) {
        return send(reply, ctx.locale, { kind: 'page', status: 400, title: t.signInTitle, body: signInForm(ctx.locale, ctx.csrfToken, alias.slice(0, MAX_ALIAS_LENGTH), t.aliasInvalid) }, '/portal/sign-in');
      }
      // Answered alike whether the alias exists, has an email or was sent one (the token service sees to the rest).
      await deps.tokenService.send(PORTAL_CLIENT_ID, alias, CODE_DELIVERY);
      return send(reply, ctx.locale, { kind: 'page', title: t.codeTitle, body: signInCodePage(ctx.locale, ctx.csrfToken, alias) }, '/portal/sign-in');
    });

    app.post('/portal/sign-in/code', async (request, reply) => {
      const { ctx, input } = await anonymousForm(request, reply);
      const t = PORTAL_TEXTS[ctx.locale];
      const alias = (input.form['alias'] ?? '').trim().slice(0, MAX_ALIAS_LENGTH);
      const code = (input.form['code'] ?? '').trim().slice(0, 32);
      const status = alias === '' ? 'FAILED' : await deps.tokenService.authenticate(alias, CODE_DELIVERY, code, PORTAL_CLIENT_ID);
      const identity = status === 'SUCCESS' ? await deps.store.findIdentity(alias) : undefined;
      if (identity?.status === 'active') return send(reply, ctx.locale, { kind: 'sign-in', identityId: identity.id, verified: true }, '/portal');
      const error = status === 'LOCKOUT' ? t.codeLocked : t.codeRefused;
      return send(reply, ctx.locale, { kind: 'page', status: 400, title: t.codeTitle, body: signInCodePage(ctx.locale, ctx.csrfToken, alias, error) }, '/portal/sign-in');
    });

    app.get('/portal/invitation', async (request, reply) => {
      const ctx = anonymousContext(request, reply);
      const t = PORTAL_TEXTS[ctx.locale];
      return sendPage(reply, portalPage({ locale: ctx.locale, title: t.invitationTitle, body: invitationForm(ctx.locale, ctx.csrfToken), path: '/portal/invitation', scripts: ['portal.js'] }));
    });

    app.post('/portal/invitation', async (request, reply) => {
      const { ctx, input } = await anonymousForm(request, reply);
      const t = PORTAL_TEXTS[ctx.locale];
      const identity = await deps.invitations.redeem((input.form['invitation'] ?? '').trim());
      // Not a verification by the person: the link was also given to whoever sent it (docs/portal.md).
      if (identity) return send(reply, ctx.locale, { kind: 'sign-in', identityId: identity.id, verified: false }, '/portal');
      return send(reply, ctx.locale, { kind: 'page', status: 400, title: t.invitationTitle, body: invitationForm(ctx.locale, ctx.csrfToken, t.invitationRefused) }, '/portal/invitation');
    });

    for (const method of signInMethods) {
      for (const route of method.routes ?? []) {
        const url = `/portal/sign-in/${method.id}${route.path ? `/${route.path}` : ''}`;
        if (route.method === 'GET') {
          app.get(url, async (request, reply) => send(reply, localeOf(request, reply), await route.handle(anonymousContext(request, reply), { form: {}, json: undefined }), url));
        } else {
          app.post(url, async (request, reply) => {
            const { ctx, input } = await anonymousForm(request, reply);
            return send(reply, ctx.locale, await route.handle(ctx, input), '/portal/sign-in');
          });
        }
      }
    }

    app.post('/portal/sign-out', async (request, reply) => {
      const form = await signedInForm(request, reply);
      if (!form) return reply;
      await deps.sessions.end(form.session);
      return reply.clearCookie(names.session, cookieOptions).code(303).header('cache-control', 'no-store').header('location', '/portal/sign-in?signed-out=1').send();
    });

    // ---------------------------------------------------------------------------------------------
    // Confirming it is you (an email code) before changing a factor

    const maskedEmail = (session: ActiveSession): string | undefined => {
      const email = session.identity.attributes[PORTAL_EMAIL_ATTRIBUTE];
      return email ? maskAddress(email) : undefined;
    };

    app.get('/portal/verify', async (request, reply) => {
      const session = await sessionFor(request, reply);
      if (!session) return reply;
      const ctx = signedInContext(request, reply, session);
      const next = portalReturnPath((request.query as Record<string, unknown>)['next']);
      const t = PORTAL_TEXTS[ctx.locale];
      return send(reply, ctx.locale, { kind: 'page', title: t.verifyTitle, body: verifyStartPage(ctx.locale, session.csrfToken, maskedEmail(session), next) }, '/portal/verify', session);
    });

    app.post('/portal/verify', async (request, reply) => {
      const form = await signedInForm(request, reply);
      if (!form) return reply;
      const { session, input } = form;
      const ctx = signedInContext(request, reply, session);
      const t = PORTAL_TEXTS[ctx.locale];
      const next = portalReturnPath(input.form['next']);
      const email = maskedEmail(session);
      if (email === undefined) return send(reply, ctx.locale, { kind: 'page', status: 400, title: t.verifyTitle, body: verifyStartPage(ctx.locale, session.csrfToken, undefined, next) }, '/portal', session);
      await deps.tokenService.send(PORTAL_CLIENT_ID, session.identity.alias, CODE_DELIVERY);
      return send(reply, ctx.locale, { kind: 'page', title: t.verifyTitle, body: verifyCodePage(ctx.locale, session.csrfToken, email, next) }, '/portal', session);
    });

    app.post('/portal/verify/code', async (request, reply) => {
      const form = await signedInForm(request, reply);
      if (!form) return reply;
      const { session, input } = form;
      const ctx = signedInContext(request, reply, session);
      const t = PORTAL_TEXTS[ctx.locale];
      const next = portalReturnPath(input.form['next']);
      const code = (input.form['code'] ?? '').trim().slice(0, 32);
      const status = await deps.tokenService.authenticate(session.identity.alias, CODE_DELIVERY, code, PORTAL_CLIENT_ID);
      if (status === 'SUCCESS') {
        await deps.sessions.markVerified(session);
        return send(reply, ctx.locale, { kind: 'redirect', to: next === '/portal' ? '/portal?done=verified' : next }, '/portal', session);
      }
      const error = status === 'LOCKOUT' ? t.codeLocked : t.codeRefused;
      return send(reply, ctx.locale, { kind: 'page', status: 400, title: t.verifyTitle, body: verifyCodePage(ctx.locale, session.csrfToken, maskedEmail(session) ?? '', next, error) }, '/portal', session);
    });

    // ---------------------------------------------------------------------------------------------
    // The overview and the sections' own pages and forms

    app.get('/portal', async (request, reply) => {
      const session = await sessionFor(request, reply);
      if (!session) return reply;
      const ctx = signedInContext(request, reply, session);
      const t = PORTAL_TEXTS[ctx.locale];
      const done = (request.query as Record<string, unknown>)['done'];
      const saved = deps.sections.find((s) => s.id === done)?.savedNotice?.(ctx.locale);
      const notice: Notice | undefined =
        done === 'welcome' ? { kind: 'good', text: t.welcome } : done === 'verified' ? { kind: 'good', text: t.verifiedNotice } : saved ? { kind: 'good', text: saved } : undefined;
      const parts = await Promise.all(deps.sections.map((section) => section.overview(ctx)));
      return sendPage(
        reply,
        portalPage({
          locale: ctx.locale,
          title: t.overviewTitle,
          body: html`<p>${t.overviewIntro}</p>${parts}`,
          path: '/portal',
          signedIn: { alias: session.identity.alias, csrfToken: session.csrfToken },
          ...(notice ? { notice } : {}),
          scripts: deps.sections.flatMap((section) => section.scripts ?? []),
        }),
      );
    });

    for (const section of deps.sections) {
      for (const route of section.routes ?? []) {
        const url = `/portal/${section.id}${route.path ? `/${route.path}` : ''}`;
        const back = `/portal/${section.id}`;
        if (route.method === 'GET') {
          app.get(url, async (request, reply) => {
            const session = await sessionFor(request, reply);
            if (!session) return reply;
            const ctx = signedInContext(request, reply, session);
            const result = (await factorGuard(ctx, route.changesFactor, back, false)) ?? (await route.handle(ctx, { form: {}, json: undefined }));
            return send(reply, ctx.locale, result, url, session);
          });
        } else {
          app.post(url, async (request, reply) => {
            const form = await signedInForm(request, reply);
            if (!form) return reply;
            const ctx = signedInContext(request, reply, form.session);
            const result = (await factorGuard(ctx, route.changesFactor, back, form.input.json !== undefined)) ?? (await route.handle(ctx, form.input));
            return send(reply, ctx.locale, result, back, form.session);
          });
        }
      }
    }
  };
}

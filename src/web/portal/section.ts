// What a part of the portal is: a section of the "Your sign-in methods" page with its own pages and forms
// (security questions now; passkeys and the authenticator app join as entries of the same list), and
// other ways to sign in beside the email code (passkeys). The portal applies to every route of a section
// what every form needs: a signed-in session, the form token, the Origin check, the rate limits and,
// for what changes a factor, the factor-change rule.
import type { Identity } from '../../core/model.js';
import type { ActiveSession } from '../../services/portal-sessions.js';
import type { Html, PageLocale } from '../page.js';

/** A request of a signed-in person. */
export interface SignedInContext {
  readonly session: ActiveSession;
  readonly identity: Identity;
  readonly locale: PageLocale;
  readonly now: number;
}

/** A request before sign-in. */
export interface AnonymousContext {
  readonly locale: PageLocale;
  /** The form token of this browser's pre-session cookie. */
  readonly csrfToken: string;
  readonly now: number;
}

/** What a route answers; the portal turns it into the response. */
export type RouteResult =
  | { readonly kind: 'redirect'; readonly to: string }
  | { readonly kind: 'page'; readonly status?: number; readonly title: string; readonly body: Html; readonly scripts?: readonly string[] }
  /** JSON for a script; an error is an ErrorResponseDto (src/http/errors.ts errorBody), like the API's. */
  | { readonly kind: 'json'; readonly status?: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> }
  /** Sign the identity in (a new session; `verified` when the person just proved a factor), then go to the overview (or answer JSON). */
  | { readonly kind: 'sign-in'; readonly identityId: string; readonly verified: boolean; readonly json?: boolean };

/** A submitted form, or a JSON body (a script's request), with the form token already checked. */
export interface RouteInput {
  /** Fields of a form post (or a JSON object's string members). */
  readonly form: Readonly<Record<string, string>>;
  /** The parsed JSON body, for routes called by a script; undefined for a form post. */
  readonly json: unknown;
}

export interface SectionRoute {
  readonly method: 'GET' | 'POST';
  /** Under /portal/<section id>: '' for the section's own page, or 'save', 'options', ... */
  readonly path: string;
  /**
   * Set on what changes a factor: whether the identity already has one of the kind it changes. When it
   * has, the session must have proved a factor within MFA_FACTOR_CHANGE_WINDOW_SECONDS before this runs,
   * or the person is sent to confirm it is them first (a script gets 403 JSON naming the page).
   */
  readonly changesFactor?: (ctx: SignedInContext) => Promise<boolean>;
  handle(ctx: SignedInContext, input: RouteInput): Promise<RouteResult>;
}

export interface PortalSection {
  /** The section's anchor on the overview page and its path under /portal/. */
  readonly id: string;
  /** Its part of the overview page, an <h2> first; empty to leave the section out. */
  overview(ctx: SignedInContext): Promise<Html>;
  readonly routes?: readonly SectionRoute[];
  /** Scripts under /assets/ the overview needs for this section. */
  readonly scripts?: readonly string[];
  /** The notice the overview shows after a form of this section sent the person back with ?done=<id>. */
  readonly savedNotice?: (locale: PageLocale) => string;
}

export interface SignInRoute {
  readonly method: 'GET' | 'POST';
  /** Under /portal/sign-in/<method id>. */
  readonly path: string;
  handle(ctx: AnonymousContext, input: RouteInput): Promise<RouteResult>;
}

/** Another way to sign in, shown on the sign-in page above the email code (passkeys, once merged). */
export interface SignInMethod {
  readonly id: string;
  render(ctx: AnonymousContext): Html;
  readonly scripts?: readonly string[];
  readonly routes?: readonly SignInRoute[];
}

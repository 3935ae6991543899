// The frame every portal page shares: who is signed in (and the sign-out button), the title, a notice,
// the content, and the language links. Plus the small pieces forms repeat.
import { PAGE_LOCALES, html, type Html, type PageContent, type PageLocale } from '../page.js';
import { PORTAL_TEXTS } from './texts.js';

export interface PortalFrame {
  readonly locale: PageLocale;
  readonly title: string;
  readonly body: Html;
  /** The page's path, for the language links (GET pages); the overview for answers to a form. */
  readonly path: string;
  /** Set when signed in: the sign-out button is shown. */
  readonly signedIn?: { readonly alias: string; readonly csrfToken: string };
  readonly notice?: Notice;
  readonly scripts?: readonly string[];
}

export interface Notice {
  readonly kind: 'good' | 'bad';
  readonly text: string;
}

/** The form token every form carries. */
export const csrfField = (token: string): Html => html`<input type="hidden" name="_csrf" value="${token}">`;

/** A notice: a good one is announced politely, a bad one at once. */
export function noticeBox(notice: Notice | undefined): Html {
  if (!notice) return html``;
  return notice.kind === 'good'
    ? html`<p class="status good" role="status">${notice.text}</p>`
    : html`<p class="status bad" role="alert">${notice.text}</p>`;
}

export function portalPage(frame: PortalFrame): PageContent {
  const t = PORTAL_TEXTS[frame.locale];
  const languages = PAGE_LOCALES.map((locale) => {
    const name = PORTAL_TEXTS[locale].languageName;
    return locale === frame.locale
      ? html`<li><a href="${frame.path}?lang=${locale}" lang="${locale}" hreflang="${locale}" aria-current="true">${name}</a></li>`
      : html`<li><a href="${frame.path}?lang=${locale}" lang="${locale}" hreflang="${locale}">${name}</a></li>`;
  });
  const account = frame.signedIn
    ? html`<div class="portal-account"><span>${t.signedInAs(frame.signedIn.alias)}</span>
<form method="post" action="/portal/sign-out">${csrfField(frame.signedIn.csrfToken)}<button type="submit" class="secondary">${t.signOut}</button></form></div>`
    : html``;
  const body = html`<header class="portal-header"><p class="portal-name"><a href="/portal">${t.portalName}</a></p>${account}</header>
<h1>${frame.title}</h1>
${noticeBox(frame.notice)}
${frame.body}
<footer class="portal-footer"><nav aria-label="${t.languages}"><ul class="portal-languages">${languages}</ul></nav></footer>`;
  return { title: `${frame.title} · ${t.portalName}`, locale: frame.locale, body, ...(frame.scripts ? { scripts: frame.scripts } : {}) };
}

// The frame of every console page: who is signed in and the sign-out button, the navigation, the title,
// a notice, the content, and the language links. Plus the small pieces the pages repeat.
import type { OperatorRole } from '../../core/operator.js';
import { PAGE_LOCALES, html, type Html, type PageContent, type PageLocale } from '../page.js';
import { csrfField, noticeBox, type Notice } from '../portal/layout.js';
import { CONSOLE_TEXTS } from './texts.js';

export { csrfField, type Notice };

export const CONSOLE_SECTIONS = ['dashboard', 'identities', 'verifications', 'audit', 'providers', 'clients', 'questions', 'keys'] as const;
export type ConsoleSection = (typeof CONSOLE_SECTIONS)[number];

export const sectionPath = (section: ConsoleSection): string => (section === 'dashboard' ? '/console' : `/console/${section}`);

export interface ConsoleFrame {
  readonly locale: PageLocale;
  readonly title: string;
  readonly body: Html;
  /** The page's path and query, for the language links. */
  readonly path: string;
  readonly signedIn?: { readonly email: string; readonly role: OperatorRole; readonly csrfToken: string; readonly section?: ConsoleSection };
  readonly notice?: Notice;
  readonly scripts?: readonly string[];
}

function withLang(path: string, locale: PageLocale): string {
  const [base = '', query = ''] = path.split('?');
  const params = new URLSearchParams(query);
  params.set('lang', locale);
  return `${base}?${params.toString()}`;
}

export function consolePage(frame: ConsoleFrame): PageContent {
  const t = CONSOLE_TEXTS[frame.locale];
  const languages = PAGE_LOCALES.map((locale) => {
    const current = locale === frame.locale ? html` aria-current="true"` : html``;
    return html`<li><a href="${withLang(frame.path, locale)}" lang="${locale}" hreflang="${locale}"${current}>${CONSOLE_TEXTS[locale].languageName}</a></li>`;
  });
  const signedIn = frame.signedIn;
  const account = signedIn
    ? html`<div class="portal-account"><span>${t.signedInAs(signedIn.email, t.roles[signedIn.role])}</span>
<form method="post" action="/console/sign-out">${csrfField(signedIn.csrfToken)}<button type="submit" class="secondary">${t.signOut}</button></form></div>`
    : html``;
  const nav = signedIn
    ? html`<nav class="console-nav" aria-label="${t.navigation}"><ul>${CONSOLE_SECTIONS.map((section) =>
        section === signedIn.section
          ? html`<li><a href="${sectionPath(section)}" aria-current="page">${t.nav[section]}</a></li>`
          : html`<li><a href="${sectionPath(section)}">${t.nav[section]}</a></li>`,
      )}</ul></nav>`
    : html``;
  const body = html`<header class="portal-header console-header"><p class="portal-name"><a href="/console">${t.consoleName}</a></p>${account}</header>
${nav}
<h1>${frame.title}</h1>
${noticeBox(frame.notice)}
${frame.body}
<footer class="portal-footer"><nav aria-label="${t.languages}"><ul class="portal-languages">${languages}</ul></nav></footer>`;
  return { title: `${frame.title} · ${t.consoleName}`, locale: frame.locale, body, ...(frame.scripts ? { scripts: frame.scripts } : {}) };
}

/** A table with a header row; `rows` empty shows the "none" line instead. */
export function table(locale: PageLocale, caption: string, headers: readonly string[], rows: readonly Html[]): Html {
  if (rows.length === 0) return html`<p class="muted">${CONSOLE_TEXTS[locale].none}</p>`;
  return html`<div class="console-table"><table><caption class="visually-hidden">${caption}</caption><thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** A one-button form posting to `action` (the server decides whether the operator may). */
export function actionButton(action: string, csrfToken: string, label: string, options: { danger?: boolean; fields?: Record<string, string>; name?: string } = {}): Html {
  const fields = Object.entries(options.fields ?? {}).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  const cls = options.danger ? 'danger' : 'secondary';
  const aria = options.name ? html` aria-label="${label}: ${options.name}"` : html``;
  return html`<form method="post" action="${action}" class="console-inline">${csrfField(csrfToken)}${fields}<button type="submit" class="${cls}"${aria}>${label}</button></form>`;
}

export const isoTime = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));

// Server-rendered pages: escaping, the layout every page shares, the language a page is shown in, and
// the headers that keep pages strict (no inline script, nothing loaded from outside the service).
import type { FastifyReply } from 'fastify';

export const PAGE_LOCALES = ['en', 'de', 'fr'] as const;
export type PageLocale = (typeof PAGE_LOCALES)[number];

/** Markup that is already safe to place in a page; everything else is escaped. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function fragment(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(fragment).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** A template tag: interpolated values are escaped unless they are Html; arrays are joined; null, undefined and false vanish. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += fragment(value) + (strings[i + 1] ?? '');
  });
  return new Html(text);
}

/**
 * The page's language: `?lang=` when it names one we have, else the first of Accept-Language's
 * languages we have (by quality), else English.
 */
export function chooseLocale(requested: string | undefined, acceptLanguage: string | undefined): PageLocale {
  const known = (tag: string): PageLocale | undefined => {
    const base = tag.trim().toLowerCase().split('-')[0];
    return PAGE_LOCALES.find((locale) => locale === base);
  };
  if (requested) {
    const locale = known(requested);
    if (locale) return locale;
  }
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, order) => {
      const [tag = '', ...params] = part.split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const quality = q ? Number(q.slice(2)) : 1;
      return { tag, quality: Number.isFinite(quality) ? quality : 0, order };
    })
    .filter((entry) => entry.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.order - b.order);
  for (const entry of ranked) {
    const locale = known(entry.tag);
    if (locale) return locale;
  }
  return 'en';
}

export interface PageContent {
  readonly title: string;
  readonly locale: PageLocale;
  readonly body: Html;
  /** Names of scripts under /assets/ the page runs (never inline script). */
  readonly scripts?: readonly string[];
}

export function renderPage(content: PageContent): string {
  const scripts = (content.scripts ?? []).map((name) => html`<script src="/assets/${name}" defer></script>`);
  return html`<!doctype html>
<html lang="${content.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${content.title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/site.css">
${scripts}
</head>
<body>
<main>
${content.body}
</main>
</body>
</html>
`.text;
}

/**
 * Scripts, styles, images and connections only from the service itself; no frames, no plugins, forms
 * only to the service, no <base>. Inline script and style are refused, so injected markup cannot run.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** The headers every page carries: the policy above, no caching of personal pages, no referrer leaving. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** Answers a rendered page with the page headers. */
export function sendPage(reply: FastifyReply, content: PageContent, statusCode = 200): FastifyReply {
  return reply.code(statusCode).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(renderPage(content));
}

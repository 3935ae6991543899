// The portal's own pages as markup: signing in (a user name, then the emailed code), the invitation,
// confirming it is you before a factor changes, and the page an error shows. Sections render their own.
import { MAX_ALIAS_LENGTH } from '../../core/identity-import.js';
import { html, type Html, type PageLocale } from '../page.js';
import { csrfField } from './layout.js';
import { PORTAL_TEXTS } from './texts.js';

/** Digits of a code field: the longest token MFA_TOKEN_LENGTH allows. */
const CODE_MAX_LENGTH = 10;

export function signInForm(locale: PageLocale, csrfToken: string, alias = '', error?: string): Html {
  const t = PORTAL_TEXTS[locale];
  const invalid = error === undefined ? html`` : html` aria-invalid="true" aria-describedby="alias-error"`;
  return html`<p>${t.signInIntro}</p>
<form method="post" action="/portal/sign-in">
${csrfField(csrfToken)}
<label for="alias">${t.userName}</label>
<input id="alias" name="alias" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="${MAX_ALIAS_LENGTH}" value="${alias}"${invalid}>
${error === undefined ? html`` : html`<p id="alias-error" class="status bad" role="alert">${error}</p>`}
<button type="submit">${t.sendCode}</button>
</form>`;
}

/** The code field and its button; `action` is where it posts, `hidden` the fields it carries along. */
export function codeForm(locale: PageLocale, csrfToken: string, action: string, hidden: Readonly<Record<string, string>>, button: string, error?: string): Html {
  const t = PORTAL_TEXTS[locale];
  const described = error === undefined ? 'code-hint' : 'code-hint code-error';
  return html`<form method="post" action="${action}">
${csrfField(csrfToken)}
${Object.entries(hidden).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<label for="code">${t.code}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" required maxlength="${CODE_MAX_LENGTH}" aria-describedby="${described}"${error === undefined ? html`` : html` aria-invalid="true"`} autofocus>
<p id="code-hint" class="hint">${t.codeHint}</p>
${error === undefined ? html`` : html`<p id="code-error" class="status bad" role="alert">${error}</p>`}
<button type="submit">${button}</button>
</form>`;
}

export function signInCodePage(locale: PageLocale, csrfToken: string, alias: string, error?: string): Html {
  const t = PORTAL_TEXTS[locale];
  return html`<p>${t.codeSent(alias)}</p>
${codeForm(locale, csrfToken, '/portal/sign-in/code', { alias }, t.signIn, error)}
<p><a href="/portal/sign-in">${t.startAgain}</a></p>`;
}

export function invitationForm(locale: PageLocale, csrfToken: string, error?: string): Html {
  const t = PORTAL_TEXTS[locale];
  return html`<p>${t.invitationIntro}</p>
${error === undefined ? html`` : html`<p class="status bad" role="alert">${error}</p>`}
<form method="post" action="/portal/invitation">
${csrfField(csrfToken)}
<label for="invitation">${t.invitationCode}</label>
<input id="invitation" name="invitation" type="text" autocomplete="off" spellcheck="false" required maxlength="64" aria-describedby="invitation-hint" class="secret">
<p id="invitation-hint" class="hint">${t.invitationHint}</p>
<button type="submit" id="continue">${t.continue}</button>
</form>
<p><a href="/portal/sign-in">${t.signInWithCode}</a></p>`;
}

export function verifyStartPage(locale: PageLocale, csrfToken: string, maskedEmail: string | undefined, next: string): Html {
  const t = PORTAL_TEXTS[locale];
  if (maskedEmail === undefined) return html`<p>${t.verifyNoEmail}</p><p><a href="/portal">${t.back}</a></p>`;
  return html`<p>${t.verifyIntro(maskedEmail)}</p>
<form method="post" action="/portal/verify">
${csrfField(csrfToken)}
<input type="hidden" name="next" value="${next}">
<button type="submit">${t.sendCode}</button>
</form>
<p><a href="/portal">${t.back}</a></p>`;
}

export function verifyCodePage(locale: PageLocale, csrfToken: string, maskedEmail: string, next: string, error?: string): Html {
  const t = PORTAL_TEXTS[locale];
  return html`<p>${t.verifyCodeSent(maskedEmail)}</p>
${codeForm(locale, csrfToken, '/portal/verify/code', { next }, t.confirm, error)}
<p><a href="/portal">${t.back}</a></p>`;
}

export function messagePage(locale: PageLocale, text: string, signedIn: boolean): Html {
  const t = PORTAL_TEXTS[locale];
  return html`<p class="status bad" role="alert">${text}</p>
<p><a href="${signedIn ? '/portal' : '/portal/sign-in'}">${signedIn ? t.back : t.signInTitle}</a></p>`;
}

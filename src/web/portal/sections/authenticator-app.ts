// The authenticator app section: whether one is set up, and the pages that set one up (the secret as
// text and as an otpauth URI, confirmed with a code from the app), replace it, or remove it. Everything
// goes through TotpService, so its factor-change check and limits apply as for any application.
// The QR code is drawn on the server (src/web/qr.ts); the key and the URI are shown as text as well, for
// apps on the same device and for people who cannot scan.
import type { TotpService } from '../../../methods/totp/service.js';
import type { HasOtherFactor } from '../../../services/factors.js';
import { html, type Html, type PageLocale } from '../../page.js';
import { qrSvg } from '../../qr.js';
import { csrfField } from '../layout.js';
import type { PortalSection, RouteResult, SignedInContext } from '../section.js';

export const AUTHENTICATOR_APP_ID = 'authenticator-app';

interface Texts {
  readonly title: string;
  readonly intro: string;
  readonly none: string;
  readonly since: (when: string) => string;
  readonly setUp: string;
  readonly replace: string;
  readonly remove: string;
  readonly back: string;
  readonly setUpTitle: string;
  readonly step1: string;
  readonly qrLabel: string;
  readonly secretLabel: string;
  readonly uriLabel: string;
  readonly step2: string;
  readonly code: string;
  readonly confirm: string;
  readonly wrongCode: string;
  readonly startAgain: string;
  readonly replaceNote: string;
  readonly saved: string;
}

const TEXTS: Readonly<Record<PageLocale, Texts>> = {
  en: {
    title: 'Authenticator app',
    intro: 'An authenticator app on your phone shows a new six-digit code every 30 seconds.',
    none: 'You have not set up an authenticator app.',
    since: (when) => `An authenticator app is set up (since ${when}).`,
    setUp: 'Set up an authenticator app',
    replace: 'Replace the authenticator app',
    remove: 'Remove the authenticator app',
    back: 'Back to your sign-in methods',
    setUpTitle: 'Set up an authenticator app',
    step1: 'In your authenticator app, add an account and scan this QR code, or enter the key below (spaces do not matter), or paste the link into an app that accepts it.',
    qrLabel: 'QR code to scan with your authenticator app',
    secretLabel: 'Key',
    uriLabel: 'Setup link (otpauth)',
    step2: 'Then enter the code the app shows to confirm.',
    code: 'Code from the app',
    confirm: 'Confirm',
    wrongCode: 'That code was not accepted. Check that your device’s clock is right and enter the current code.',
    startAgain: 'Start again with a new key',
    replaceNote: 'Your current authenticator app keeps working until you confirm the new one.',
    saved: 'Your authenticator app is updated.',
  },
  de: {
    title: 'Authenticator-App',
    intro: 'Eine Authenticator-App auf Ihrem Telefon zeigt alle 30 Sekunden einen neuen sechsstelligen Code.',
    none: 'Sie haben keine Authenticator-App eingerichtet.',
    since: (when) => `Eine Authenticator-App ist eingerichtet (seit ${when}).`,
    setUp: 'Authenticator-App einrichten',
    replace: 'Authenticator-App ersetzen',
    remove: 'Authenticator-App entfernen',
    back: 'Zurück zu Ihren Anmeldeverfahren',
    setUpTitle: 'Authenticator-App einrichten',
    step1: 'Fügen Sie in Ihrer Authenticator-App ein Konto hinzu und scannen Sie diesen QR-Code, oder geben Sie den Schlüssel unten ein (Leerzeichen spielen keine Rolle), oder fügen Sie den Link in eine App ein, die ihn annimmt.',
    qrLabel: 'QR-Code zum Scannen mit Ihrer Authenticator-App',
    secretLabel: 'Schlüssel',
    uriLabel: 'Einrichtungslink (otpauth)',
    step2: 'Geben Sie dann zur Bestätigung den Code ein, den die App anzeigt.',
    code: 'Code aus der App',
    confirm: 'Bestätigen',
    wrongCode: 'Dieser Code wurde nicht akzeptiert. Prüfen Sie die Uhrzeit Ihres Geräts und geben Sie den aktuellen Code ein.',
    startAgain: 'Mit einem neuen Schlüssel neu beginnen',
    replaceNote: 'Ihre bisherige Authenticator-App funktioniert weiter, bis Sie die neue bestätigen.',
    saved: 'Ihre Authenticator-App ist aktualisiert.',
  },
  fr: {
    title: 'Application d’authentification',
    intro: 'Une application d’authentification sur votre téléphone affiche un nouveau code à six chiffres toutes les 30 secondes.',
    none: 'Vous n’avez pas configuré d’application d’authentification.',
    since: (when) => `Une application d’authentification est configurée (depuis le ${when}).`,
    setUp: 'Configurer une application d’authentification',
    replace: 'Remplacer l’application d’authentification',
    remove: 'Supprimer l’application d’authentification',
    back: 'Retour à vos moyens de connexion',
    setUpTitle: 'Configurer une application d’authentification',
    step1: 'Dans votre application d’authentification, ajoutez un compte et scannez ce code QR, ou saisissez la clé ci-dessous (les espaces sont indifférents), ou collez le lien dans une application qui l’accepte.',
    qrLabel: 'Code QR à scanner avec votre application d’authentification',
    secretLabel: 'Clé',
    uriLabel: 'Lien de configuration (otpauth)',
    step2: 'Saisissez ensuite le code affiché par l’application pour confirmer.',
    code: 'Code de l’application',
    confirm: 'Confirmer',
    wrongCode: 'Ce code n’a pas été accepté. Vérifiez l’heure de votre appareil et saisissez le code actuel.',
    startAgain: 'Recommencer avec une nouvelle clé',
    replaceNote: 'Votre application d’authentification actuelle reste valable jusqu’à ce que vous confirmiez la nouvelle.',
    saved: 'Votre application d’authentification est mise à jour.',
  },
};

export interface AuthenticatorAppDeps {
  readonly totp: Pick<TotpService, 'status' | 'enrol' | 'confirm' | 'remove'>;
  readonly hasOtherFactor: HasOtherFactor;
  /** The client a removal is recorded under. */
  readonly clientId: string;
}

/** The key in groups of four, as apps show and people type it. */
export function groupedKey(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

export function authenticatorAppSection(deps: AuthenticatorAppDeps): PortalSection {
  /** Setting one up when the identity has any factor (an app too) is a change. */
  const hasAnyFactor = (ctx: SignedInContext) => deps.hasOtherFactor(ctx.identity);
  const base = `/portal/${AUTHENTICATOR_APP_ID}`;

  async function actions(ctx: SignedInContext): Promise<{ state: string; buttons: Html }> {
    const t = TEXTS[ctx.locale];
    const status = await deps.totp.status(ctx.identity.alias);
    const token = ctx.session.csrfToken;
    if (!status.registered || status.confirmedAt === null) {
      return { state: t.none, buttons: html`<form method="post" action="${base}">${csrfField(token)}<button type="submit">${t.setUp}</button></form>` };
    }
    const since = new Intl.DateTimeFormat(ctx.locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(status.confirmedAt));
    return {
      state: t.since(since),
      buttons: html`<form method="post" action="${base}">${csrfField(token)}<button type="submit" class="secondary">${t.replace}</button></form>
<form method="post" action="${base}/remove">${csrfField(token)}<button type="submit" class="danger">${t.remove}</button></form>`,
    };
  }

  function codeForm(ctx: SignedInContext, error?: string): Html {
    const t = TEXTS[ctx.locale];
    const invalid = error === undefined ? html`` : html` aria-invalid="true" aria-describedby="totp-code-error"`;
    return html`<form method="post" action="${base}/confirm">
${csrfField(ctx.session.csrfToken)}
<label for="totp-code">${t.code}</label>
<input id="totp-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" maxlength="10" required${invalid}>
${error === undefined ? html`` : html`<p id="totp-code-error" class="status bad" role="alert">${error}</p>`}
<button type="submit">${t.confirm}</button>
</form>`;
  }

  return {
    id: AUTHENTICATOR_APP_ID,
    savedNotice: (locale) => TEXTS[locale].saved,
    async overview(ctx) {
      const t = TEXTS[ctx.locale];
      const { state, buttons } = await actions(ctx);
      return html`<section aria-labelledby="${AUTHENTICATOR_APP_ID}-title" id="${AUTHENTICATOR_APP_ID}">
<h2 id="${AUTHENTICATOR_APP_ID}-title">${t.title}</h2>
<p class="hint">${t.intro}</p>
<p>${state}</p>
${buttons}
</section>`;
    },
    routes: [
      {
        // Where a confirmation of who you are comes back to: the same choices as on the overview.
        method: 'GET',
        path: '',
        async handle(ctx): Promise<RouteResult> {
          const t = TEXTS[ctx.locale];
          const { state, buttons } = await actions(ctx);
          return { kind: 'page', title: t.title, body: html`<p>${t.intro}</p><p>${state}</p>${buttons}<p><a href="/portal">${t.back}</a></p>` };
        },
      },
      {
        method: 'POST',
        path: '',
        changesFactor: hasAnyFactor,
        async handle(ctx): Promise<RouteResult> {
          const t = TEXTS[ctx.locale];
          const [status, enrolment] = await Promise.all([deps.totp.status(ctx.identity.alias), deps.totp.enrol(ctx.identity.alias)]);
          const note = status.registered ? html`<p class="hint">${t.replaceNote}</p>` : html``;
          return {
            kind: 'page',
            title: t.setUpTitle,
            body: html`<p>${t.step1}</p>
<figure class="qr">${qrSvg(enrolment.totpUrl, t.qrLabel)}</figure>
<dl class="portal-secret">
<dt>${t.secretLabel}</dt><dd><code id="totp-secret" class="secret">${groupedKey(enrolment.secret)}</code></dd>
<dt>${t.uriLabel}</dt><dd><code id="totp-uri" class="secret">${enrolment.totpUrl}</code></dd>
</dl>
${note}
<p>${t.step2}</p>
${codeForm(ctx)}
<p><a href="/portal">${t.back}</a></p>`,
          };
        },
      },
      {
        method: 'POST',
        path: 'confirm',
        changesFactor: hasAnyFactor,
        async handle(ctx, input): Promise<RouteResult> {
          const t = TEXTS[ctx.locale];
          const code = (input.form['code'] ?? '').replace(/\s/g, '').slice(0, 10);
          const { mfaVerified } = await deps.totp.confirm(ctx.identity.alias, code);
          if (mfaVerified) return { kind: 'redirect', to: `/portal?done=${AUTHENTICATOR_APP_ID}` };
          return {
            kind: 'page',
            status: 400,
            title: t.setUpTitle,
            body: html`${codeForm(ctx, t.wrongCode)}
<form method="post" action="${base}">${csrfField(ctx.session.csrfToken)}<button type="submit" class="secondary">${t.startAgain}</button></form>`,
          };
        },
      },
      {
        method: 'POST',
        path: 'remove',
        // Removing is always a change: the identity has the app it removes.
        changesFactor: async () => true,
        async handle(ctx): Promise<RouteResult> {
          await deps.totp.remove(deps.clientId, ctx.identity.alias);
          return { kind: 'redirect', to: `/portal?done=${AUTHENTICATOR_APP_ID}` };
        },
      },
    ],
  };
}

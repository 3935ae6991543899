// The hosted verification page (docs/passkeys.md): a page on the service's own origin that runs the
// passkey ceremony for an application that does not run it itself. The token of its URL is in the
// fragment, so it reaches neither the access log nor a Referer; the page's script reads it and sends it
// in the body of the page's two calls. Registered outside the bearer-authenticated API: holding the
// URL is the credential, and it is good for one answer.
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FastifyPluginAsync } from 'fastify';
import { chooseLocale, html, sendPage, type PageContent, type PageLocale } from '../../web/page.js';
import { ASSERTION_SCHEMA } from './routes.js';
import { HOSTED_PAGE_PATH, type PasskeyService } from './service.js';

interface PageTexts {
  readonly title: string;
  readonly intro: string;
  readonly button: string;
  readonly continue: string;
  readonly noscript: string;
  /** What the script shows as things happen (read from the page's data attributes). */
  readonly messages: {
    readonly loading: string;
    readonly waiting: string;
    readonly success: string;
    readonly failed: string;
    readonly cancelled: string;
    readonly unusable: string;
    readonly unsupported: string;
    readonly error: string;
    readonly returning: string;
  };
}

export const HOSTED_TEXTS: Readonly<Record<PageLocale, PageTexts>> = {
  en: {
    title: 'Confirm it’s you',
    intro: 'An application asked us to confirm that it’s you. Use the passkey saved on this device, on your phone or on your security key.',
    button: 'Verify with a passkey',
    continue: 'Return to the application',
    noscript: 'This page needs JavaScript to use your passkey.',
    messages: {
      loading: 'Getting ready…',
      waiting: 'Follow the prompt of your browser or device.',
      success: 'Verified. You can return to the application.',
      failed: 'The passkey was not accepted. Return to the application and start again.',
      cancelled: 'The passkey prompt was closed or timed out. You can try again.',
      unusable: 'This link has expired or has already been used. Return to the application and start again.',
      unsupported: 'This browser cannot use passkeys. Open the link in another browser.',
      error: 'Something went wrong. Try again in a moment.',
      returning: 'Verified. Returning to the application…',
    },
  },
  de: {
    title: 'Bestätigen Sie, dass Sie es sind',
    intro: 'Eine Anwendung möchte bestätigen, dass Sie es sind. Verwenden Sie dazu den Passkey auf diesem Gerät, auf Ihrem Telefon oder auf Ihrem Sicherheitsschlüssel.',
    button: 'Mit einem Passkey bestätigen',
    continue: 'Zurück zur Anwendung',
    noscript: 'Diese Seite benötigt JavaScript, um Ihren Passkey zu verwenden.',
    messages: {
      loading: 'Wird vorbereitet …',
      waiting: 'Folgen Sie der Abfrage Ihres Browsers oder Geräts.',
      success: 'Bestätigt. Sie können zur Anwendung zurückkehren.',
      failed: 'Der Passkey wurde nicht akzeptiert. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.',
      cancelled: 'Die Passkey-Abfrage wurde geschlossen oder ist abgelaufen. Sie können es erneut versuchen.',
      unusable: 'Dieser Link ist abgelaufen oder wurde bereits verwendet. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.',
      unsupported: 'Dieser Browser kann keine Passkeys verwenden. Öffnen Sie den Link in einem anderen Browser.',
      error: 'Etwas ist schiefgelaufen. Versuchen Sie es gleich noch einmal.',
      returning: 'Bestätigt. Zurück zur Anwendung …',
    },
  },
  fr: {
    title: 'Confirmez votre identité',
    intro: 'Une application nous demande de confirmer qu’il s’agit bien de vous. Utilisez la clé d’accès enregistrée sur cet appareil, sur votre téléphone ou sur votre clé de sécurité.',
    button: 'Vérifier avec une clé d’accès',
    continue: 'Retourner à l’application',
    noscript: 'Cette page a besoin de JavaScript pour utiliser votre clé d’accès.',
    messages: {
      loading: 'Préparation…',
      waiting: 'Suivez les instructions de votre navigateur ou de votre appareil.',
      success: 'Identité confirmée. Vous pouvez retourner à l’application.',
      failed: 'La clé d’accès n’a pas été acceptée. Retournez à l’application et recommencez.',
      cancelled: 'La demande de clé d’accès a été fermée ou a expiré. Vous pouvez réessayer.',
      unusable: 'Ce lien a expiré ou a déjà été utilisé. Retournez à l’application et recommencez.',
      unsupported: 'Ce navigateur ne peut pas utiliser de clés d’accès. Ouvrez le lien dans un autre navigateur.',
      error: 'Une erreur s’est produite. Réessayez dans un instant.',
      returning: 'Identité confirmée. Retour à l’application…',
    },
  },
};

/** The page: static for every visitor (the token is read by the script), in the visitor's language. */
export function hostedPage(locale: PageLocale): PageContent {
  const t = HOSTED_TEXTS[locale];
  const data = Object.entries(t.messages).map(([name, text]) => html` data-msg-${name}="${text}"`);
  return {
    title: t.title,
    locale,
    scripts: ['simplewebauthn-browser.js', 'passkey-verify.js'],
    body: html`<h1>${t.title}</h1>
<p>${t.intro}</p>
<div id="passkey"${data}>
<button type="button" id="verify" disabled>${t.button}</button>
<p id="status" class="status" role="status" aria-live="polite">${t.messages.loading}</p>
<p><a id="return" class="button secondary" href="${HOSTED_PAGE_PATH}" hidden>${t.continue}</a></p>
</div>
<noscript><p class="status bad">${t.noscript}</p></noscript>`,
  };
}

/** The token of a verification URL: 32 random bytes, base64url. */
const TOKEN = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } as const;

export function passkeyPageRoutes(service: PasskeyService): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { lang?: string } }>(
      HOSTED_PAGE_PATH,
      { schema: { querystring: { type: 'object', properties: { lang: { type: 'string', maxLength: 35 } } } } },
      async (request, reply) => sendPage(reply, hostedPage(chooseLocale(request.query.lang, request.headers['accept-language']))),
    );

    app.post<{ Body: { token: string } }>(
      `${HOSTED_PAGE_PATH}/options`,
      { schema: { body: { type: 'object', required: ['token'], properties: { token: TOKEN } } } },
      async (request, reply) => reply.header('cache-control', 'no-store').send({ options: await service.hostedOptions(request.body.token) }),
    );

    app.post<{ Body: { token: string; response: AuthenticationResponseJSON } }>(
      `${HOSTED_PAGE_PATH}/complete`,
      { schema: { body: { type: 'object', required: ['token', 'response'], properties: { token: TOKEN, response: ASSERTION_SCHEMA } } } },
      async (request, reply) => reply.header('cache-control', 'no-store').send(await service.completeHosted(request.body.token, request.body.response)),
    );
  };
}

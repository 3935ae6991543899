// Signing in to the portal with a passkey: the person gives their user name (the passkey service starts a
// verification of an alias, reading the same whether the alias names anyone), the browser answers the
// challenge (assets/portal-passkey.js), and a SUCCESS signs in the passkey's identity. It is a verification
// of the person, recorded like every other, so the session counts as verified for the factor-change rule.
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { badRequest } from '../../../core/errors.js';
import { MAX_ALIAS_LENGTH } from '../../../core/identity-import.js';
import { errorBody } from '../../../http/errors.js';
import { ERROR_NOT_ACCEPTED } from '../../../methods/passkey/core.js';
import type { PasskeyService } from '../../../methods/passkey/service.js';
import { html, type PageLocale } from '../../page.js';
import type { SignInMethod } from '../section.js';
import { PASSKEY_SCRIPTS, credentialAnswer, requestIdOf } from './passkeys.js';

export const PASSKEY_SIGN_IN_ID = 'passkey';

interface Texts {
  readonly title: string;
  readonly intro: string;
  readonly userName: string;
  readonly button: string;
  readonly messages: Readonly<Record<'alias' | 'waiting' | 'cancelled' | 'failed' | 'error' | 'unsupported', string>>;
}

const TEXTS: Readonly<Record<PageLocale, Texts>> = {
  en: {
    title: 'Sign in with a passkey',
    intro: 'If you have added a passkey, enter your user name and use it.',
    userName: 'User name for the passkey',
    button: 'Sign in with a passkey',
    messages: {
      alias: 'Enter your user name first.',
      waiting: 'Follow your browser’s prompt to use your passkey.',
      cancelled: 'No passkey was used. You can try again.',
      failed: 'The passkey was not accepted.',
      error: 'Something went wrong. Please try again.',
      unsupported: 'This browser cannot use passkeys; sign in with a code instead.',
    },
  },
  de: {
    title: 'Mit einem Passkey anmelden',
    intro: 'Wenn Sie einen Passkey hinzugefügt haben, geben Sie Ihren Benutzernamen ein und verwenden Sie ihn.',
    userName: 'Benutzername für den Passkey',
    button: 'Mit einem Passkey anmelden',
    messages: {
      alias: 'Geben Sie zuerst Ihren Benutzernamen ein.',
      waiting: 'Folgen Sie der Aufforderung Ihres Browsers, um Ihren Passkey zu verwenden.',
      cancelled: 'Es wurde kein Passkey verwendet. Sie können es erneut versuchen.',
      failed: 'Der Passkey wurde nicht akzeptiert.',
      error: 'Etwas ist schiefgegangen. Bitte versuchen Sie es erneut.',
      unsupported: 'Dieser Browser kann keine Passkeys verwenden; melden Sie sich mit einem Code an.',
    },
  },
  fr: {
    title: 'Se connecter avec une clé d’accès',
    intro: 'Si vous avez ajouté une clé d’accès, saisissez votre nom d’utilisateur et utilisez-la.',
    userName: 'Nom d’utilisateur pour la clé d’accès',
    button: 'Se connecter avec une clé d’accès',
    messages: {
      alias: 'Saisissez d’abord votre nom d’utilisateur.',
      waiting: 'Suivez les instructions de votre navigateur pour utiliser votre clé d’accès.',
      cancelled: 'Aucune clé d’accès n’a été utilisée. Vous pouvez réessayer.',
      failed: 'La clé d’accès n’a pas été acceptée.',
      error: 'Une erreur s’est produite. Veuillez réessayer.',
      unsupported: 'Ce navigateur ne peut pas utiliser de clés d’accès ; connectez-vous avec un code.',
    },
  },
};

export interface PasskeySignInDeps {
  readonly passkeys: Pick<PasskeyService, 'authenticationOptions' | 'authenticate'>;
  /** The client the portal's verifications are recorded under. */
  readonly clientId: string;
}

export function passkeySignIn(deps: PasskeySignInDeps): SignInMethod {
  return {
    id: PASSKEY_SIGN_IN_ID,
    scripts: PASSKEY_SCRIPTS,
    render(ctx) {
      const t = TEXTS[ctx.locale];
      const messages = Object.entries(t.messages).map(([name, text]) => html` data-msg-${name}="${text}"`);
      return html`<section id="passkey-sign-in" aria-labelledby="passkey-sign-in-title"${messages}>
<h2 id="passkey-sign-in-title">${t.title}</h2>
<p class="hint">${t.intro}</p>
<label for="passkey-alias">${t.userName}</label>
<input id="passkey-alias" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="${MAX_ALIAS_LENGTH}">
<button type="button" id="passkey-sign-in-button" hidden>${t.button}</button>
<p id="passkey-sign-in-status" class="status" role="status" hidden></p>
</section>`;
    },
    routes: [
      {
        method: 'POST',
        path: 'options',
        async handle(_ctx, input) {
          const alias = (input.form['alias'] ?? '').trim();
          if (alias === '' || alias.length > MAX_ALIAS_LENGTH) throw badRequest('The user name is missing.');
          return { kind: 'json', body: await deps.passkeys.authenticationOptions(deps.clientId, alias) };
        },
      },
      {
        method: 'POST',
        path: 'verify',
        async handle(_ctx, input) {
          const requestId = requestIdOf(input.json);
          const response = credentialAnswer<AuthenticationResponseJSON>((input.json as Record<string, unknown>)['response']);
          const result = await deps.passkeys.authenticate(deps.clientId, requestId, response);
          if (result.status === 'SUCCESS' && result.identityId !== null) return { kind: 'sign-in', identityId: result.identityId, verified: true, json: true };
          return { kind: 'json', status: 400, body: errorBody(400, ERROR_NOT_ACCEPTED) };
        },
      },
    ],
  };
}

// The passkeys section: the person's passkeys (name, when added, when last used), the button that adds
// one (assets/portal-passkey.js runs the ceremony against this section's two JSON routes, with the page's
// form token), and a page to rename or remove them. Adding goes through PasskeyService, so its own
// factor-change check, limits and excludeCredentials apply as for any application.
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { badRequest } from '../../../core/errors.js';
import { ERROR_ALREADY_REGISTERED, ERROR_NOT_ACCEPTED, MAX_NAME_LENGTH } from '../../../methods/passkey/core.js';
import { errorBody } from '../../../http/errors.js';
import type { PasskeyService, PasskeyView } from '../../../methods/passkey/service.js';
import type { HasOtherFactor } from '../../../services/factors.js';
import { html, type Html, type PageLocale } from '../../page.js';
import { csrfField } from '../layout.js';
import type { PortalSection, SignedInContext } from '../section.js';

export const PASSKEYS_ID = 'passkeys';

/** What the page loads for the passkey buttons: the WebAuthn browser library, then ours. */
export const PASSKEY_SCRIPTS = ['simplewebauthn-browser.js', 'portal-passkey.js'] as const;

interface Texts {
  readonly title: string;
  readonly intro: string;
  readonly none: string;
  readonly columns: { readonly name: string; readonly created: string; readonly lastUsed: string; readonly actions: string };
  readonly never: string;
  readonly manage: string;
  readonly manageTitle: string;
  readonly newName: string;
  readonly add: string;
  readonly rename: string;
  readonly renameLabel: (name: string) => string;
  readonly remove: string;
  readonly removeLabel: (name: string) => string;
  readonly back: string;
  readonly saved: string;
  /** The add button's messages, by data-msg-* name. */
  readonly messages: Readonly<Record<'waiting' | 'cancelled' | 'failed' | 'duplicate' | 'error' | 'unsupported', string>>;
}

const TEXTS: Readonly<Record<PageLocale, Texts>> = {
  en: {
    title: 'Passkeys',
    intro: 'A passkey signs you in with your device’s screen lock or a security key, and cannot be phished.',
    none: 'You have no passkeys yet.',
    columns: { name: 'Name', created: 'Added', lastUsed: 'Last used', actions: 'Change' },
    never: 'Never',
    manage: 'Rename or remove passkeys',
    manageTitle: 'Your passkeys',
    newName: 'Name for the new passkey (optional)',
    add: 'Add a passkey',
    rename: 'Rename',
    renameLabel: (name) => `New name for ${name}`,
    remove: 'Remove',
    removeLabel: (name) => `Remove ${name}`,
    back: 'Back to your sign-in methods',
    saved: 'Your passkeys are updated.',
    messages: {
      waiting: 'Follow your browser’s prompt to create the passkey.',
      cancelled: 'No passkey was created. You can try again.',
      failed: 'The passkey could not be added. Please try again.',
      duplicate: 'This authenticator already holds one of your passkeys.',
      error: 'Something went wrong. Please try again.',
      unsupported: 'This browser cannot create passkeys.',
    },
  },
  de: {
    title: 'Passkeys',
    intro: 'Ein Passkey meldet Sie mit der Bildschirmsperre Ihres Geräts oder einem Sicherheitsschlüssel an und ist vor Phishing geschützt.',
    none: 'Sie haben noch keine Passkeys.',
    columns: { name: 'Name', created: 'Hinzugefügt', lastUsed: 'Zuletzt verwendet', actions: 'Ändern' },
    never: 'Nie',
    manage: 'Passkeys umbenennen oder entfernen',
    manageTitle: 'Ihre Passkeys',
    newName: 'Name für den neuen Passkey (optional)',
    add: 'Passkey hinzufügen',
    rename: 'Umbenennen',
    renameLabel: (name) => `Neuer Name für ${name}`,
    remove: 'Entfernen',
    removeLabel: (name) => `${name} entfernen`,
    back: 'Zurück zu Ihren Anmeldeverfahren',
    saved: 'Ihre Passkeys sind aktualisiert.',
    messages: {
      waiting: 'Folgen Sie der Aufforderung Ihres Browsers, um den Passkey zu erstellen.',
      cancelled: 'Es wurde kein Passkey erstellt. Sie können es erneut versuchen.',
      failed: 'Der Passkey konnte nicht hinzugefügt werden. Bitte versuchen Sie es erneut.',
      duplicate: 'Dieser Authenticator enthält bereits einen Ihrer Passkeys.',
      error: 'Etwas ist schiefgegangen. Bitte versuchen Sie es erneut.',
      unsupported: 'Dieser Browser kann keine Passkeys erstellen.',
    },
  },
  fr: {
    title: 'Clés d’accès',
    intro: 'Une clé d’accès vous connecte avec le verrouillage d’écran de votre appareil ou une clé de sécurité, et résiste à l’hameçonnage.',
    none: 'Vous n’avez pas encore de clé d’accès.',
    columns: { name: 'Nom', created: 'Ajoutée', lastUsed: 'Dernière utilisation', actions: 'Modifier' },
    never: 'Jamais',
    manage: 'Renommer ou supprimer des clés d’accès',
    manageTitle: 'Vos clés d’accès',
    newName: 'Nom de la nouvelle clé d’accès (facultatif)',
    add: 'Ajouter une clé d’accès',
    rename: 'Renommer',
    renameLabel: (name) => `Nouveau nom pour ${name}`,
    remove: 'Supprimer',
    removeLabel: (name) => `Supprimer ${name}`,
    back: 'Retour à vos moyens de connexion',
    saved: 'Vos clés d’accès sont mises à jour.',
    messages: {
      waiting: 'Suivez les instructions de votre navigateur pour créer la clé d’accès.',
      cancelled: 'Aucune clé d’accès n’a été créée. Vous pouvez réessayer.',
      failed: 'La clé d’accès n’a pas pu être ajoutée. Veuillez réessayer.',
      duplicate: 'Cet authentificateur contient déjà une de vos clés d’accès.',
      error: 'Une erreur s’est produite. Veuillez réessayer.',
      unsupported: 'Ce navigateur ne peut pas créer de clés d’accès.',
    },
  },
};

export interface PasskeysDeps {
  readonly passkeys: Pick<PasskeyService, 'list' | 'registrationOptions' | 'verifyRegistration' | 'rename' | 'remove'>;
  readonly hasOtherFactor: HasOtherFactor;
  /** The client the portal's ceremonies are recorded under. */
  readonly clientId: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A credential answer as the browser library gives it, in outline (the service checks the rest, and refuses what it cannot read); else a 400. */
export function credentialAnswer<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(value: unknown): T {
  const short = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;
  if (!isRecord(value) || !short(value['id'], 1024) || !short(value['rawId'], 1024) || value['type'] !== 'public-key' || !isRecord(value['response'])) {
    throw badRequest('The passkey answer could not be read.');
  }
  return value as unknown as T;
}

/** The `requestId` of a script's JSON body, or a 400. */
export function requestIdOf(json: unknown): string {
  const id = isRecord(json) ? json['requestId'] : undefined;
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) throw badRequest('The request id is missing.');
  return id;
}

/** The data-msg-* attributes the script shows its messages from. */
function messageAttributes(messages: Readonly<Record<string, string>>): Html {
  return html`${Object.entries(messages).map(([name, text]) => html` data-msg-${name}="${text}"`)}`;
}

export function passkeysSection(deps: PasskeysDeps): PortalSection {
  /** Adding a passkey when the identity has any factor (a passkey too) is a change. */
  const hasAnyFactor = (ctx: SignedInContext) => deps.hasOtherFactor(ctx.identity);

  function dates(locale: PageLocale) {
    const format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
    return (at: number | null, never: string) => (at === null ? never : `${format.format(at)} UTC`);
  }

  /** The button that adds a passkey; the script shows it where the browser can create passkeys. */
  function addControl(locale: PageLocale): Html {
    const t = TEXTS[locale];
    return html`<div id="passkey-add"${messageAttributes(t.messages)}>
<label for="passkey-name">${t.newName}</label>
<input id="passkey-name" type="text" maxlength="${MAX_NAME_LENGTH}" autocomplete="off">
<button type="button" id="passkey-add-button" hidden>${t.add}</button>
<p id="passkey-add-status" class="status" role="status" hidden></p>
</div>`;
  }

  function table(ctx: SignedInContext, passkeys: readonly PasskeyView[], withForms: boolean): Html {
    const t = TEXTS[ctx.locale];
    const when = dates(ctx.locale);
    const rows = passkeys.map((p, i) => {
      const forms = withForms
        ? html`<td><form method="post" action="/portal/${PASSKEYS_ID}/rename" class="inline">${csrfField(ctx.session.csrfToken)}<input type="hidden" name="credentialId" value="${p.credentialId}">
<label class="visually-hidden" for="rename-${i}">${t.renameLabel(p.name)}</label><input id="rename-${i}" name="name" type="text" required maxlength="${MAX_NAME_LENGTH}" value="${p.name}">
<button type="submit" class="secondary">${t.rename}</button></form>
<form method="post" action="/portal/${PASSKEYS_ID}/remove" class="inline">${csrfField(ctx.session.csrfToken)}<input type="hidden" name="credentialId" value="${p.credentialId}">
<button type="submit" class="danger" aria-label="${t.removeLabel(p.name)}">${t.remove}</button></form></td>`
        : html``;
      return html`<tr><td>${p.name}</td><td>${when(p.createdAt, t.never)}</td><td>${when(p.lastUsedAt, t.never)}</td>${forms}</tr>`;
    });
    const actions = withForms ? html`<th scope="col">${t.columns.actions}</th>` : html``;
    return html`<table><thead><tr><th scope="col">${t.columns.name}</th><th scope="col">${t.columns.created}</th><th scope="col">${t.columns.lastUsed}</th>${actions}</tr></thead><tbody>${rows}</tbody></table>`;
  }

  return {
    id: PASSKEYS_ID,
    scripts: PASSKEY_SCRIPTS,
    savedNotice: (locale) => TEXTS[locale].saved,
    async overview(ctx) {
      const t = TEXTS[ctx.locale];
      const passkeys = await deps.passkeys.list(ctx.identity);
      const list = passkeys.length === 0 ? html`<p>${t.none}</p>` : html`${table(ctx, passkeys, false)}<p><a href="/portal/${PASSKEYS_ID}">${t.manage}</a></p>`;
      return html`<section aria-labelledby="${PASSKEYS_ID}-title" id="${PASSKEYS_ID}">
<h2 id="${PASSKEYS_ID}-title">${t.title}</h2>
<p class="hint">${t.intro}</p>
${list}
${addControl(ctx.locale)}
</section>`;
    },
    routes: [
      {
        method: 'GET',
        path: '',
        async handle(ctx) {
          const t = TEXTS[ctx.locale];
          const passkeys = await deps.passkeys.list(ctx.identity);
          const list = passkeys.length === 0 ? html`<p>${t.none}</p>` : table(ctx, passkeys, true);
          return { kind: 'page', title: t.manageTitle, body: html`${list}${addControl(ctx.locale)}<p><a href="/portal">${t.back}</a></p>`, scripts: PASSKEY_SCRIPTS };
        },
      },
      {
        method: 'POST',
        path: 'options',
        changesFactor: hasAnyFactor,
        async handle(ctx) {
          const start = await deps.passkeys.registrationOptions(ctx.identity, deps.clientId);
          return { kind: 'json', body: start };
        },
      },
      {
        method: 'POST',
        path: 'verify',
        changesFactor: hasAnyFactor,
        async handle(ctx, input) {
          const requestId = requestIdOf(input.json);
          const response = credentialAnswer<RegistrationResponseJSON>((input.json as Record<string, unknown>)['response']);
          const name = (input.form['name'] ?? '').trim();
          const result = await deps.passkeys.verifyRegistration(ctx.identity, deps.clientId, requestId, response, name === '' ? undefined : name);
          // The API's error body; 409 when the authenticator already holds one of the person's passkeys.
          if (!result.registered) {
            const status = result.error === ERROR_ALREADY_REGISTERED ? 409 : 400;
            return { kind: 'json', status, body: errorBody(status, result.error ?? ERROR_NOT_ACCEPTED) };
          }
          return { kind: 'json', body: { registered: true, redirect: `/portal?done=${PASSKEYS_ID}` } };
        },
      },
      {
        method: 'POST',
        path: 'rename',
        async handle(ctx, input) {
          await deps.passkeys.rename(ctx.identity, (input.form['credentialId'] ?? '').slice(0, 1024), input.form['name'] ?? '');
          return { kind: 'redirect', to: `/portal?done=${PASSKEYS_ID}` };
        },
      },
      {
        method: 'POST',
        path: 'remove',
        // Removing is always a change: the identity has at least the passkey it removes.
        changesFactor: async () => true,
        async handle(ctx, input) {
          await deps.passkeys.remove(ctx.identity, (input.form['credentialId'] ?? '').slice(0, 1024));
          return { kind: 'redirect', to: `/portal?done=${PASSKEYS_ID}` };
        },
      },
    ],
  };
}

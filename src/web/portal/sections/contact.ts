// Where codes are sent: the email addresses and phone numbers the directory holds for the person,
// masked and read-only (the directory, not the person, owns them; docs/identities.md).
import { maskAddress } from '../../../core/audit.js';
import { html, type PageLocale } from '../../page.js';
import type { PortalSection } from '../section.js';

interface Texts {
  readonly title: string;
  readonly intro: string;
  readonly none: string;
  readonly labels: Readonly<Record<AddressAttribute, string>>;
}

/** The identity attributes that hold delivery addresses (src/core/model.ts, DELIVERY_ROUTES). */
const ADDRESS_ATTRIBUTES = ['email', 'personalEmail', 'phone', 'workPhone'] as const;
type AddressAttribute = (typeof ADDRESS_ATTRIBUTES)[number];

const TEXTS: Readonly<Record<PageLocale, Texts>> = {
  en: {
    title: 'Where codes are sent',
    intro: 'Your organisation’s directory holds these addresses. To change one, ask your administrator.',
    none: 'The directory holds no address for you.',
    labels: { email: 'Work email', personalEmail: 'Personal email', phone: 'Mobile phone', workPhone: 'Work phone' },
  },
  de: {
    title: 'Wohin Codes gesendet werden',
    intro: 'Das Verzeichnis Ihrer Organisation enthält diese Adressen. Um eine zu ändern, wenden Sie sich an Ihre Administration.',
    none: 'Das Verzeichnis enthält keine Adresse für Sie.',
    labels: { email: 'Geschäftliche E-Mail', personalEmail: 'Private E-Mail', phone: 'Mobiltelefon', workPhone: 'Geschäftstelefon' },
  },
  fr: {
    title: 'Où les codes sont envoyés',
    intro: 'L’annuaire de votre organisation contient ces adresses. Pour en modifier une, adressez-vous à votre administrateur.',
    none: 'L’annuaire ne contient aucune adresse pour vous.',
    labels: { email: 'E-mail professionnel', personalEmail: 'E-mail personnel', phone: 'Téléphone mobile', workPhone: 'Téléphone professionnel' },
  },
};

export const CONTACT_ID = 'addresses';

export function contactSection(): PortalSection {
  return {
    id: CONTACT_ID,
    async overview(ctx) {
      const t = TEXTS[ctx.locale];
      const held = ADDRESS_ATTRIBUTES.filter((name) => ctx.identity.attributes[name]);
      const list =
        held.length === 0
          ? html`<p class="muted">${t.none}</p>`
          : html`<dl class="portal-addresses">${held.map((name) => html`<dt>${t.labels[name]}</dt><dd><code>${maskAddress(ctx.identity.attributes[name]!)}</code></dd>`)}</dl>`;
      return html`<section aria-labelledby="${CONTACT_ID}-title" id="${CONTACT_ID}">
<h2 id="${CONTACT_ID}-title">${t.title}</h2>
<p class="hint">${t.intro}</p>
${list}
</section>`;
    },
  };
}

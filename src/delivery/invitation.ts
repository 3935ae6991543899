// The words of an invitation to the self-service portal, in English, German and French, chosen by the
// person's locale with the same fallback chain as the token messages (src/delivery/templates.ts).
import type { Message } from '../core/ports.js';
import { localeCandidates } from './templates.js';

interface InvitationTexts {
  readonly subject: string;
  readonly body: (values: { alias: string; link: string; within: string }) => string;
  /** How long the link works, in whole hours or (under an hour) minutes. */
  readonly hours: (n: number) => string;
  readonly minutes: (n: number) => string;
}

const TEXTS: Readonly<Record<string, InvitationTexts>> = {
  en: {
    subject: 'Set up how you sign in',
    hours: (n) => `${n} h`,
    minutes: (n) => `${n} min`,
    body: ({ alias, link, within }) =>
      `Hello,\n\nyou are invited to set up the ways you prove it is you (user name: ${alias}). Open this link within ${within}:\n\n${link}\n\nThe link works once. If you did not expect this message, ignore it and tell your administrator; never pass the link on.`,
  },
  de: {
    subject: 'Richten Sie Ihre Anmeldeverfahren ein',
    hours: (n) => `${n} Std.`,
    minutes: (n) => `${n} Min.`,
    body: ({ alias, link, within }) =>
      `Guten Tag,\n\nSie sind eingeladen, die Verfahren einzurichten, mit denen Sie sich ausweisen (Benutzername: ${alias}). Öffnen Sie diesen Link innerhalb von ${within}:\n\n${link}\n\nDer Link funktioniert nur einmal. Wenn Sie diese Nachricht nicht erwartet haben, ignorieren Sie sie und informieren Sie Ihre Administration; geben Sie den Link niemals weiter.`,
  },
  fr: {
    subject: 'Configurez vos moyens de connexion',
    hours: (n) => `${n} h`,
    minutes: (n) => `${n} min`,
    body: ({ alias, link, within }) =>
      `Bonjour,\n\nvous êtes invité à configurer les moyens de prouver votre identité (nom d’utilisateur : ${alias}). Ouvrez ce lien dans un délai de ${within} :\n\n${link}\n\nLe lien ne fonctionne qu’une fois. Si vous n’attendiez pas ce message, ignorez-le et prévenez votre administrateur ; ne transmettez jamais ce lien.`,
  },
};

export interface InvitationMessageInput {
  readonly to: string;
  readonly alias: string;
  readonly link: string;
  readonly ttlSeconds: number;
  /** The person's preferred locale, if known. */
  readonly locale: string | undefined;
  readonly defaultLocale: string;
}

/** The invitation email; its `locale` is the one whose texts were used. */
export function renderInvitation(input: InvitationMessageInput): Message {
  const locale = localeCandidates(input.locale, input.defaultLocale).find((candidate) => Object.hasOwn(TEXTS, candidate)) ?? 'en';
  const texts = TEXTS[locale]!;
  // Rounded down, as the token messages do: telling less time than there is, is the safe error.
  const within = input.ttlSeconds >= 3600 ? texts.hours(Math.floor(input.ttlSeconds / 3600)) : texts.minutes(Math.max(1, Math.floor(input.ttlSeconds / 60)));
  return { channel: 'email', to: input.to, subject: texts.subject, body: texts.body({ alias: input.alias, link: input.link, within }), locale };
}

// The words around a token, per channel and locale: built-in en/de/fr texts, optionally overlaid by an
// operator's <channel>.<locale>.json files, rendered into a Message with a locale fallback chain.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Channel } from '../core/model.js';
import type { Message } from '../core/ports.js';

export interface Template {
  /** Email only. */
  readonly subject?: string;
  readonly body: string;
}

/** Per channel, templates keyed by canonical locale tag (`en`, `fr-CA`). */
export type Templates = Readonly<Record<Channel, ReadonlyMap<string, Template>>>;

const CHANNELS: readonly Channel[] = ['email', 'sms', 'voice'];
const LAST_RESORT_LOCALE = 'en';
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const KNOWN_PLACEHOLDERS: ReadonlySet<string> = new Set(['token', 'minutes']);

// SMS texts stay within the GSM-7 alphabet (ä, é, à are in it; ç, ê, ô are not) so one message is one
// segment. Voice repeats the code because a listener often misses the first reading.
const BUILT_IN: Readonly<Record<string, Readonly<Record<Channel, Template>>>> = {
  en: {
    email: {
      subject: 'Your verification code',
      body: 'Your verification code is {{token}}.\n\nIt is valid for {{minutes}} min. If you did not ask for it, you can ignore this message; never share the code with anyone.',
    },
    sms: { body: 'Your verification code is {{token}}. Valid for {{minutes}} min. Do not share it.' },
    voice: { body: 'Hello. Your verification code is: {{token}}. Once again, your code is: {{token}}. Goodbye.' },
  },
  de: {
    email: {
      subject: 'Ihr Bestätigungscode',
      body: 'Ihr Bestätigungscode lautet {{token}}.\n\nEr ist {{minutes}} Min. gültig. Wenn Sie ihn nicht angefordert haben, können Sie diese Nachricht ignorieren; geben Sie den Code niemals weiter.',
    },
    sms: { body: 'Ihr Bestätigungscode lautet {{token}}. Gültig für {{minutes}} Min. Nicht weitergeben.' },
    voice: { body: 'Guten Tag. Ihr Bestätigungscode lautet: {{token}}. Noch einmal, Ihr Code lautet: {{token}}. Auf Wiederhören.' },
  },
  fr: {
    email: {
      subject: 'Votre code de vérification',
      body: 'Votre code de vérification est {{token}}.\n\nIl est valable {{minutes}} min. Si vous ne l’avez pas demandé, ignorez ce message ; ne communiquez jamais ce code à personne.',
    },
    sms: { body: 'Votre code de vérification est {{token}}. Valable {{minutes}} min. Ne le partagez pas.' },
    voice: { body: 'Bonjour. Votre code de vérification est : {{token}}. Je répète, votre code est : {{token}}. Au revoir.' },
  },
};

export const BUILT_IN_TEMPLATES: Templates = builtInTemplates();

function builtInTemplates(): Templates {
  const out = { email: new Map<string, Template>(), sms: new Map<string, Template>(), voice: new Map<string, Template>() };
  for (const [locale, byChannel] of Object.entries(BUILT_IN)) {
    for (const channel of CHANNELS) out[channel].set(locale, byChannel[channel]);
  }
  return out;
}

export interface RenderInput {
  readonly channel: Channel;
  readonly to: string;
  readonly token: string;
  readonly ttlSeconds: number;
  /** The recipient's preferred locale, if known (`fr-CA`, `de`). */
  readonly locale?: string | undefined;
  readonly defaultLocale: string;
  readonly templates?: Templates;
}

/** The message for one token; its `locale` is the one whose template was used. */
export function renderMessage(input: RenderInput): Message {
  const templates = input.templates ?? BUILT_IN_TEMPLATES;
  const byLocale = templates[input.channel];
  const locale = localeCandidates(input.locale, input.defaultLocale).find((candidate) => byLocale.has(candidate));
  const template = locale === undefined ? undefined : byLocale.get(locale);
  if (locale === undefined || template === undefined) {
    // Only reachable with a hand-built Templates lacking `en`; loadTemplates always keeps the built-ins.
    throw new Error(`no ${input.channel} template for locale ${input.locale ?? input.defaultLocale} or ${LAST_RESORT_LOCALE}`);
  }
  const values: Readonly<Record<string, string>> = {
    // Spoken one digit at a time: "123456" would be read as a large number.
    token: input.channel === 'voice' ? input.token.split('').join(', ') : input.token,
    // Rounded down: telling a user less time than they have is the safe error.
    minutes: String(Math.max(1, Math.floor(input.ttlSeconds / 60))),
  };
  return {
    channel: input.channel,
    to: input.to,
    subject: template.subject === undefined ? '' : fill(template.subject, values),
    body: fill(template.body, values),
    locale,
  };
}

/** Exact tag, its language, the default locale and its language, then `en`; duplicates removed. */
export function localeCandidates(requested: string | undefined, defaultLocale: string): string[] {
  const candidates: string[] = [];
  for (const tag of [requested, defaultLocale, LAST_RESORT_LOCALE]) {
    const canonical = tag === undefined ? undefined : canonicalLocale(tag);
    if (canonical === undefined) continue;
    candidates.push(canonical);
    const language = canonical.split('-')[0];
    if (language) candidates.push(language);
  }
  return [...new Set(candidates)];
}

/** `fr_ca` → `fr-CA`; undefined for something that is not a language tag. */
export function canonicalLocale(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag.trim().replaceAll('_', '-'))[0];
  } catch {
    return undefined;
  }
}

// One pass over the template: a value is never scanned again, so it cannot inject placeholders.
function fill(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(values, name) ? (values[name] ?? whole) : whole));
}

const FILE_NAME = /^(?<channel>[^.]+)\.(?<locale>[^.]+)\.json$/;

/**
 * The built-in templates overlaid with every `<channel>.<locale>.json` file in `dir`, each holding
 * `{ "subject"?: string, "body": string }`. Other files are ignored. Throws an Error naming the file for
 * anything malformed, so a broken override stops start-up instead of sending odd messages.
 */
export async function loadTemplates(dir: string): Promise<Templates> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  } catch (err) {
    throw new Error(`templates: cannot read directory ${dir}: ${(err as Error).message}`);
  }
  const out = {
    email: new Map(BUILT_IN_TEMPLATES.email),
    sms: new Map(BUILT_IN_TEMPLATES.sms),
    voice: new Map(BUILT_IN_TEMPLATES.voice),
  };
  for (const name of names) {
    const path = join(dir, name);
    const { channel, locale } = parseFileName(name, path);
    out[channel].set(locale, parseTemplate(channel, await readFile(path, 'utf8'), path));
  }
  return out;
}

function parseFileName(name: string, path: string): { channel: Channel; locale: string } {
  const match = FILE_NAME.exec(name);
  const channel = match?.groups?.['channel'];
  const locale = match?.groups?.['locale'];
  if (!channel || !locale) throw new Error(`templates: ${path}: the name must be <channel>.<locale>.json, e.g. sms.de.json`);
  if (!(CHANNELS as readonly string[]).includes(channel)) {
    throw new Error(`templates: ${path}: unknown channel "${channel}", expected one of ${CHANNELS.join(', ')}`);
  }
  const canonical = canonicalLocale(locale);
  if (!canonical) throw new Error(`templates: ${path}: "${locale}" is not a locale tag such as de or fr-CA`);
  return { channel: channel as Channel, locale: canonical };
}

function parseTemplate(channel: Channel, text: string, path: string): Template {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`templates: ${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`templates: ${path}: expected an object {"subject"?: string, "body": string}`);
  }
  const record = value as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((key) => key !== 'subject' && key !== 'body');
  if (unknownKeys.length > 0) throw new Error(`templates: ${path}: unknown field(s) ${unknownKeys.join(', ')}; only "subject" and "body" are read`);
  const { subject, body } = record;
  if (typeof body !== 'string' || body.trim() === '') throw new Error(`templates: ${path}: "body" must be a non-empty string`);
  if (channel === 'email' && (typeof subject !== 'string' || subject.trim() === '')) {
    throw new Error(`templates: ${path}: "subject" must be a non-empty string for email`);
  }
  if (channel !== 'email' && subject !== undefined) throw new Error(`templates: ${path}: "subject" is only used by email templates`);
  checkPlaceholders(body, `${path}: "body"`);
  if (typeof subject === 'string') checkPlaceholders(subject, `${path}: "subject"`);
  if (!/\{\{\s*token\s*\}\}/.test(body)) throw new Error(`templates: ${path}: "body" must contain {{token}}`);
  return typeof subject === 'string' ? { subject, body } : { body };
}

function checkPlaceholders(text: string, where: string): void {
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!KNOWN_PLACEHOLDERS.has(name)) {
      throw new Error(`templates: ${where} has unknown placeholder {{${name}}}; known: {{token}}, {{minutes}}`);
    }
  }
}

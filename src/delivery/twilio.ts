// SMS and voice calls through Twilio's REST API with the official client. The auth token never appears in
// a DeliveryError: Twilio's own error code and message do, so an operator can look the code up.
import twilio from 'twilio';
import { DeliveryError, type Message, type Sender } from '../core/ports.js';

export interface TwilioSenderOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** An E.164 number (SMS and voice) or a Messaging Service SID `MG…` (SMS only). */
  readonly from: string;
  /** Replaces https://api.twilio.com, e.g. for a regional proxy or a test double. */
  readonly baseUrl?: string | undefined;
  readonly timeoutMs: number;
}

type TwilioClient = ReturnType<typeof twilio>;

export class TwilioSender implements Sender {
  private readonly client: TwilioClient;

  constructor(private readonly options: TwilioSenderOptions) {
    // autoRetry off: a retried SMS after a timeout may reach the phone twice; the caller decides on resends.
    this.client = twilio(options.accountSid, options.authToken, { timeout: options.timeoutMs, autoRetry: false });
    if (options.baseUrl) {
      // Messages and Calls both live on the `api` domain (client.messages is api.v2010.account.messages),
      // which joins its baseUrl to each resource path at request time, so setting it once covers both.
      this.client.api.baseUrl = options.baseUrl;
      // TWILIO_EDGE / TWILIO_REGION would otherwise rewrite the host name of the explicit base URL.
      this.client.edge = undefined;
      this.client.region = undefined;
    }
  }

  async send(message: Message): Promise<void> {
    try {
      if (message.channel === 'sms') {
        const sender = this.options.from.startsWith('MG') ? { messagingServiceSid: this.options.from } : { from: this.options.from };
        await this.client.messages.create({ to: message.to, body: message.body, ...sender });
      } else if (message.channel === 'voice') {
        await this.client.calls.create({ to: message.to, from: this.options.from, twiml: voiceTwiml(message.body, message.locale) });
      } else {
        throw new DeliveryError(`twilio: cannot deliver a ${message.channel} message`);
      }
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      throw this.toDeliveryError(message.channel, err);
    }
  }

  /** Fetches the account resource (sends nothing): proves the API answers and takes the SID and token. */
  async check(): Promise<string> {
    try {
      const account = await this.client.api.v2010.accounts(this.options.accountSid).fetch();
      return `account ${account.sid} (${account.status}) at ${this.options.baseUrl ?? 'https://api.twilio.com'}`;
    } catch (err) {
      throw this.toDeliveryError('check', err);
    }
  }

  async close(): Promise<void> {
    // The client holds no connection that outlives a request.
  }

  private toDeliveryError(channel: string, err: unknown): DeliveryError {
    const what = channel === 'voice' ? 'call' : channel === 'check' ? 'account check' : 'SMS';
    if (err instanceof twilio.RestException) {
      const detail = `Twilio error ${err.code ?? 'without code'}: ${err.message} (HTTP ${err.status}${err.moreInfo ? `, ${err.moreInfo}` : ''})`;
      return new DeliveryError(this.redact(`twilio: ${what} rejected: ${detail}`), {
        status: err.status,
        code: err.code,
        moreInfo: err.moreInfo,
      });
    }
    // Network failures come from axios, whose error carries the request config with the Authorization
    // header: only its code and message are kept.
    const e = err as { code?: string; message?: string };
    const detail = e?.code === 'ECONNABORTED' ? `no answer within ${this.options.timeoutMs} ms` : `${e?.message ?? String(err)}${e?.code ? ` (${e.code})` : ''}`;
    return new DeliveryError(this.redact(`twilio: ${what} request failed: ${detail}`));
  }

  private redact(text: string): string {
    return text.replaceAll(this.options.authToken, '***');
  }
}

/** Twilio's languages for <Say> where our built-in templates only name the language. */
const SAY_LANGUAGE: Readonly<Record<string, string>> = { en: 'en-US', de: 'de-DE', fr: 'fr-FR' };

/**
 * The TwiML that reads `text` aloud. The text is XML-escaped: it comes from templates and must never
 * become markup (a `<Play>` or `<Redirect>` smuggled into a template or a value).
 */
export function voiceTwiml(text: string, locale: string): string {
  const language = /^[a-z]{2,3}-[a-z0-9]{2,8}$/i.test(locale) ? locale : SAY_LANGUAGE[locale.toLowerCase()];
  const attribute = language ? ` language="${escapeXml(language)}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Say${attribute}>${escapeXml(text)}</Say></Response>`;
}

export function escapeXml(text: string): string {
  // Control characters other than tab and newlines are not allowed in XML 1.0 at all, escaped or not.
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '').replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

// The one Sender the rest of the service sees: routes each message by channel to the transport the
// configuration names, building each transport once however many channels share it.
import type { Config } from '../config.js';
import type { Channel } from '../core/model.js';
import { DeliveryError, type Message, type Sender } from '../core/ports.js';
import { OutboxSender } from './outbox.js';
import { SmtpSender } from './smtp.js';
import { TwilioSender } from './twilio.js';
import { WebhookSender } from './webhook.js';

export { OutboxSender, readOutbox, type OutboxEntry } from './outbox.js';
export { SmtpSender } from './smtp.js';
export { TwilioSender } from './twilio.js';
export { WebhookSender, webhookSignature } from './webhook.js';
export { BUILT_IN_TEMPLATES, loadTemplates, renderMessage, type Templates } from './templates.js';

export type DeliveryConfig = Config['delivery'];
export type TransportName = DeliveryConfig['email'] | DeliveryConfig['sms'] | DeliveryConfig['voice'];

/** The part of a pino logger used here. Recipients and bodies are never logged: they hold tokens. */
export interface DeliveryLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface RoutingSender extends Sender {
  /** Closes every transport; safe to call more than once. */
  close(): Promise<void>;
}

/** Throws an Error when a chosen transport lacks its settings (config.ts normally catches this first). */
export function createSender(config: DeliveryConfig, dataDir: string, logger?: DeliveryLogger): RoutingSender {
  const built = new Map<TransportName, Sender>();
  const transportFor = (name: TransportName): Sender => {
    let sender = built.get(name);
    if (!sender) {
      sender = buildTransport(name, config, dataDir);
      built.set(name, sender);
    }
    return sender;
  };
  const routes: Readonly<Record<Channel, { name: TransportName; sender: Sender }>> = {
    email: { name: config.email, sender: transportFor(config.email) },
    sms: { name: config.sms, sender: transportFor(config.sms) },
    voice: { name: config.voice, sender: transportFor(config.voice) },
  };
  let closing: Promise<void> | undefined;

  return {
    async send(message: Message): Promise<void> {
      const route = Object.hasOwn(routes, message.channel) ? routes[message.channel] : undefined;
      if (!route) throw new DeliveryError(`no transport for channel "${String(message.channel)}"`);
      const startedMs = Date.now();
      try {
        await route.sender.send(message);
      } catch (err) {
        // Transports promise DeliveryError; anything else is a bug, still reported as a failed delivery.
        const failure = err instanceof DeliveryError ? err : new DeliveryError(`${route.name}: unexpected failure: ${(err as Error)?.message ?? String(err)}`, err);
        logger?.warn({ channel: message.channel, transport: route.name, durationMs: Date.now() - startedMs, error: failure.message }, 'delivery failed');
        throw failure;
      }
      logger?.info({ channel: message.channel, transport: route.name, durationMs: Date.now() - startedMs }, 'message delivered');
    },

    close(): Promise<void> {
      closing ??= Promise.allSettled([...built.values()].map((sender) => sender.close?.())).then(() => undefined);
      return closing;
    },
  };
}

function buildTransport(name: TransportName, config: DeliveryConfig, dataDir: string): Sender {
  switch (name) {
    case 'outbox':
      return new OutboxSender(dataDir);
    case 'smtp':
      return new SmtpSender({ url: required(config.smtpUrl, 'MFA_SMTP_URL'), from: config.emailFrom, timeoutMs: config.timeoutMs });
    case 'twilio':
      return new TwilioSender({
        accountSid: required(config.twilioAccountSid, 'MFA_TWILIO_ACCOUNT_SID'),
        authToken: required(config.twilioAuthToken, 'MFA_TWILIO_AUTH_TOKEN'),
        from: required(config.twilioFrom, 'MFA_TWILIO_FROM'),
        baseUrl: config.twilioBaseUrl,
        timeoutMs: config.timeoutMs,
      });
    case 'webhook':
      return new WebhookSender({
        url: required(config.webhookUrl, 'MFA_WEBHOOK_URL'),
        secret: required(config.webhookSecret, 'MFA_WEBHOOK_SECRET'),
        timeoutMs: config.timeoutMs,
      });
  }
}

function required(value: string | undefined, variable: string): string {
  if (!value) throw new Error(`${variable} is required by the chosen delivery transport`);
  return value;
}

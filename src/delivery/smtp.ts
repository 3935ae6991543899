// Email over SMTP with nodemailer. Errors name the server by host and port only: the SMTP URL may carry
// a user name and password, and DeliveryError messages end up in logs.
import { createTransport, type NodemailerError, type Transporter } from 'nodemailer';
import { DeliveryError, type Message, type Sender } from '../core/ports.js';

export interface SmtpSenderOptions {
  /** smtp:// or smtps:// URL, optionally with credentials and nodemailer options as query parameters. */
  readonly url: string;
  /** The From header, e.g. `mfa-controller <no-reply@example.com>`. */
  readonly from: string;
  /** Bounds connecting, the greeting, each socket wait, and the whole send. */
  readonly timeoutMs: number;
}

export class SmtpSender implements Sender {
  private readonly transporter: Transporter;
  /** host:port, safe to show. */
  private readonly server: string;
  private readonly secrets: readonly string[];

  constructor(private readonly options: SmtpSenderOptions) {
    const url = new URL(options.url);
    this.server = `${url.hostname}:${url.port || (url.protocol === 'smtps:' ? '465' : '587')}`;
    this.secrets = urlSecrets(url);
    this.transporter = createTransport({
      url: options.url,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      dnsTimeout: options.timeoutMs,
    });
  }

  async send(message: Message): Promise<void> {
    if (message.channel !== 'email') {
      throw new DeliveryError(`smtp: cannot deliver a ${message.channel} message`);
    }
    try {
      await this.transporter.sendMail({
        from: this.options.from,
        to: message.to,
        subject: message.subject,
        text: message.body,
        // The step timeouts above do not bound a server that answers slowly but steadily; this does.
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      // The library error is not kept as the cause: it is not ours to promise it never holds a credential.
      throw new DeliveryError(`smtp: sending through ${this.server} failed: ${redact(describe(err, this.options.timeoutMs), this.secrets)}`);
    }
  }

  /** Connects and logs in without sending (nodemailer's verify); what was checked, or a DeliveryError. */
  async check(): Promise<string> {
    try {
      await this.transporter.verify();
    } catch (err) {
      throw new DeliveryError(`smtp: ${this.server} refused or could not be reached: ${redact(describe(err, this.options.timeoutMs), this.secrets)}`);
    }
    return `${this.server} accepted the connection${this.secrets.length > 0 ? ' and the login' : ''}`;
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as NodemailerError;
  if (e?.code === 'EABORT') return `no answer within ${timeoutMs} ms (EABORT)`;
  const parts = [e?.message ?? String(err)];
  if (e?.code) parts.push(`(${e.code}${e.responseCode ? ` ${e.responseCode}` : ''})`);
  return parts.join(' ');
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.replaceAll(secret, '***');
  return out;
}

/** The user name and password of the URL, raw and percent-decoded, so neither spelling can leak. */
function urlSecrets(url: URL): string[] {
  const secrets: string[] = [];
  for (const raw of [url.username, url.password]) {
    if (!raw) continue;
    secrets.push(raw);
    try {
      secrets.push(decodeURIComponent(raw));
    } catch {
      // A malformed escape: the raw form is already listed.
    }
  }
  return secrets;
}

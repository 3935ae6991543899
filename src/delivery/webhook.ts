// Hands each message to the operator's own HTTPS endpoint, signed so the receiver can tell it came from
// this service and is fresh. The scheme is documented in docs/delivery.md; keep the two in step.
import { createHmac } from 'node:crypto';
import { DeliveryError, type Message, type Sender } from '../core/ports.js';

export interface WebhookSenderOptions {
  readonly url: string;
  /** HMAC key, used as its UTF-8 bytes. */
  readonly secret: string;
  readonly timeoutMs: number;
  readonly now?: () => number;
}

export const SIGNATURE_HEADER = 'X-MFA-Signature';
export const TIMESTAMP_HEADER = 'X-MFA-Timestamp';

/** `sha256=` + hex HMAC-SHA256(secret, `${timestampSeconds}.${rawBody}`). */
export function webhookSignature(secret: string, timestampSeconds: number, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`, 'utf8').digest('hex')}`;
}

export class WebhookSender implements Sender {
  /** scheme://host:port only: paths and queries of webhook URLs often embed a key. */
  private readonly target: string;
  private readonly now: () => number;

  constructor(private readonly options: WebhookSenderOptions) {
    this.target = new URL(options.url).origin;
    this.now = options.now ?? Date.now;
  }

  async send(message: Message): Promise<void> {
    const nowMs = this.now();
    const timestampSeconds = Math.floor(nowMs / 1000);
    const rawBody = JSON.stringify({
      channel: message.channel,
      to: message.to,
      subject: message.subject,
      body: message.body,
      locale: message.locale,
      at: new Date(nowMs).toISOString(),
    });
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          [TIMESTAMP_HEADER]: String(timestampSeconds),
          [SIGNATURE_HEADER]: webhookSignature(this.options.secret, timestampSeconds, rawBody),
        },
        body: rawBody,
        // A redirect would re-send the signed token elsewhere (or drop the body); treat it as a failure.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw new DeliveryError(`webhook: POST to ${this.target} failed: ${describeFetchError(err, this.options.timeoutMs)}`);
    }
    // The body is not used; reading it frees the connection for reuse.
    await response.arrayBuffer().catch(() => undefined);
    if (response.status < 200 || response.status > 299) {
      throw new DeliveryError(`webhook: ${this.target} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    }
  }

  /**
   * Reachability only: a HEAD request, nothing signed and nothing delivered. Any HTTP answer counts (the
   * endpoint may well refuse HEAD); no answer, a refused connection or a TLS failure does not.
   */
  async check(): Promise<string> {
    let response: Response;
    try {
      response = await fetch(this.options.url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (err) {
      throw new DeliveryError(`webhook: ${this.target} cannot be reached: ${describeFetchError(err, this.options.timeoutMs)}`);
    }
    await response.arrayBuffer().catch(() => undefined);
    return `${this.target} answered (HTTP ${response.status} to HEAD)`;
  }

  async close(): Promise<void> {
    // fetch keeps no per-sender state.
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  // undici reports "fetch failed" and puts the useful part (ECONNREFUSED, ENOTFOUND…) in the cause.
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e?.message ?? 'error'} (${cause})` : (e?.message ?? String(err));
}

// Real local peers (SMTP server, Twilio REST double, webhook receiver) recording what arrived on the wire, so tests fail on what was really sent.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

// ---------------------------------------------------------------- SMTP

export interface ReceivedMail {
  readonly envelopeTo: readonly string[];
  readonly from: string;
  readonly subject: string;
  readonly text: string;
}

export interface SmtpPeerOptions {
  /** Answer RCPT TO for this address with a permanent 550 rejection. */
  readonly rejectRecipient?: string;
  /** Require AUTH with these credentials (plain-text AUTH allowed: the peer is local). */
  readonly credentials?: { readonly user: string; readonly pass: string };
}

export interface SmtpPeer {
  readonly port: number;
  readonly received: ReceivedMail[];
  close(): Promise<void>;
}

export async function startSmtpPeer(options: SmtpPeerOptions = {}): Promise<SmtpPeer> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    logger: false,
    // No STARTTLS: the test server's certificate is self-signed, and TLS is not what these tests check.
    disabledCommands: options.credentials ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !options.credentials,
    allowInsecureAuth: true,
    closeTimeout: 100,
    onAuth(auth, _session, callback) {
      const ok = auth.username === options.credentials?.user && auth.password === options.credentials?.pass;
      if (ok) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      if (address.address === options.rejectRecipient) {
        callback(Object.assign(new Error(`<${address.address}>: Recipient address rejected: user unknown`), { responseCode: 550 }));
      } else {
        callback();
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mail = parseMail(Buffer.concat(chunks).toString('latin1'));
        received.push({ ...mail, envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address) });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Just enough MIME for one text/plain part: unfolded headers, encoded words, QP/base64 bodies. */
function parseMail(raw: string): Omit<ReceivedMail, 'envelopeTo'> {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  let bytes: Buffer;
  if (encoding === 'base64') bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  else if (encoding === 'quoted-printable') bytes = decodeQuotedPrintable(body.replace(/=\r\n/g, ''));
  else bytes = Buffer.from(body, 'latin1');
  return {
    from: decodeWords(headers.get('from') ?? ''),
    subject: decodeWords(headers.get('subject') ?? ''),
    text: bytes.toString('utf8').replace(/\r\n/g, '\n').replace(/\n+$/, ''),
  };
}

function decodeQuotedPrintable(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  return Buffer.from(bytes);
}

function decodeWords(value: string): string {
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 section 6.2).
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2');
  return joined.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_whole, _charset: string, kind: string, data: string) =>
    kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')).toString('utf8'),
  );
}

// ---------------------------------------------------------------- HTTP helpers

export interface HttpPeer {
  readonly url: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Keep-alive and deliberately unanswered requests would otherwise hold close() open.
    server.closeAllConnections();
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const url = await listen(server);
  await closeServer(server);
  return Number(new URL(url).port);
}

// ---------------------------------------------------------------- Twilio REST double

export interface TwilioRequest {
  readonly resource: 'Messages' | 'Calls';
  readonly params: Readonly<Record<string, string>>;
}

export interface TwilioError {
  readonly status: number;
  readonly code: number;
  readonly message: string;
}

export interface TwilioPeer extends HttpPeer {
  readonly received: TwilioRequest[];
}

/**
 * Speaks the two endpoints of Twilio's 2010-04-01 API we use, as documented: Basic auth with the account
 * SID and auth token, form-encoded parameters, 201 with the created resource, errors as
 * {code, message, more_info, status}.
 */
export async function startTwilioPeer(accountSid: string, authToken: string, failWith?: TwilioError): Promise<TwilioPeer> {
  const received: TwilioRequest[] = [];
  const fail = (res: ServerResponse, error: TwilioError): void =>
    sendJson(res, error.status, { code: error.code, message: error.message, more_info: `https://www.twilio.com/docs/errors/${error.code}`, status: error.status });

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
      // The account resource, as `mfa-controller check` fetches it.
      const account = /^\/2010-04-01\/Accounts\/([^/]+)\.json$/.exec(req.url ?? '');
      if (req.method === 'GET' && account) {
        if (req.headers.authorization !== expectedAuth || account[1] !== accountSid) return fail(res, { status: 401, code: 20003, message: 'Authenticate' });
        return sendJson(res, 200, { sid: accountSid, friendly_name: 'Test account', status: 'active', type: 'Full', uri: `/2010-04-01/Accounts/${accountSid}.json` });
      }
      const match = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match) return fail(res, { status: 404, code: 20404, message: 'The requested resource was not found' });
      if (req.headers.authorization !== expectedAuth || match[1] !== accountSid) {
        return fail(res, { status: 401, code: 20003, message: 'Authenticate' });
      }
      if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
        return fail(res, { status: 400, code: 20001, message: 'Expected a form-encoded body' });
      }
      if (failWith) return fail(res, failWith);
      const params = Object.fromEntries(new URLSearchParams(body));
      const resource = match[2] as 'Messages' | 'Calls';
      const problem = resource === 'Messages' ? checkMessage(params) : checkCall(params);
      if (problem) return fail(res, problem);
      received.push({ resource, params });
      const sid = `${resource === 'Messages' ? 'SM' : 'CA'}${'0'.repeat(24)}${String(received.length).padStart(8, '0')}`;
      const now = new Date().toUTCString();
      sendJson(res, 201, {
        account_sid: accountSid,
        api_version: '2010-04-01',
        sid,
        to: params['To'],
        from: params['From'] ?? null,
        status: 'queued',
        date_created: now,
        date_updated: now,
        uri: `/2010-04-01/Accounts/${accountSid}/${resource}/${sid}.json`,
        ...(resource === 'Messages' ? { body: params['Body'], direction: 'outbound-api', num_segments: '1' } : { direction: 'outbound-api' }),
      });
    })();
  });
  return { url: await listen(server), received, close: () => closeServer(server) };
}

function checkMessage(params: Record<string, string>): TwilioError | undefined {
  if (!params['To']) return { status: 400, code: 21604, message: "A 'To' phone number is required." };
  if (!params['From'] && !params['MessagingServiceSid']) return { status: 400, code: 21603, message: "A 'From' phone number is required." };
  if (!params['Body']) return { status: 400, code: 21602, message: 'Message body is required.' };
  return undefined;
}

function checkCall(params: Record<string, string>): TwilioError | undefined {
  if (!params['To']) return { status: 400, code: 21201, message: "No 'To' number is specified" };
  if (!params['From']) return { status: 400, code: 21213, message: "No 'From' number is specified" };
  const instructions = ['Url', 'Twiml', 'ApplicationSid'].filter((key) => params[key] !== undefined);
  if (instructions.length !== 1) return { status: 400, code: 21205, message: 'Exactly one of Url, Twiml or ApplicationSid is required' };
  return undefined;
}

// ---------------------------------------------------------------- webhook receiver

export interface WebhookDelivery {
  readonly headers: IncomingMessage['headers'];
  readonly payload: Record<string, unknown>;
}

export interface WebhookPeer extends HttpPeer {
  /** Requests whose signature verified. */
  readonly received: WebhookDelivery[];
  /** Every request that was read, verified or not, with its raw body. */
  readonly requests: { readonly headers: IncomingMessage['headers']; readonly raw: string }[];
  /** Requests refused because the signature did not verify. */
  readonly refused: number;
}

export type WebhookBehaviour = { readonly kind: 'verify' } | { readonly kind: 'status'; readonly status: number } | { readonly kind: 'hang' };

/**
 * Verifies each request the way docs/delivery.md tells receivers to: recompute
 * HMAC-SHA256(secret, timestamp + "." + raw body), compare in constant time, reject stale timestamps.
 */
export async function startWebhookPeer(secret: string, behaviour: WebhookBehaviour = { kind: 'verify' }): Promise<WebhookPeer> {
  const received: WebhookDelivery[] = [];
  const requests: { headers: IncomingMessage['headers']; raw: string }[] = [];
  let refused = 0;
  const server = createServer((req, res) => {
    void (async () => {
      if (behaviour.kind === 'hang') return; // never answer
      const raw = await readBody(req);
      requests.push({ headers: req.headers, raw });
      if (behaviour.kind === 'status') {
        res.writeHead(behaviour.status).end('nope');
        return;
      }
      if (!verifySignature(secret, req.headers, raw)) {
        refused++;
        res.writeHead(401).end();
        return;
      }
      received.push({ headers: req.headers, payload: JSON.parse(raw) as Record<string, unknown> });
      res.writeHead(204).end();
    })();
  });
  const url = await listen(server);
  return {
    url: `${url}/hooks/mfa`,
    received,
    requests,
    get refused() {
      return refused;
    },
    close: () => closeServer(server),
  };
}

function verifySignature(secret: string, headers: IncomingMessage['headers'], rawBody: string): boolean {
  const timestamp = String(headers['x-mfa-timestamp'] ?? '');
  const signature = String(headers['x-mfa-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

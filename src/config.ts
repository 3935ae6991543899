// The one place configuration is read: MFA_* environment variables over an optional JSON file
// (MFA_CONFIG_FILE), each value parsed and checked here so a bad value stops start-up naming the variable.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { readTotpSettings, type TotpSettings } from './methods/totp/settings.js';
import { relyingParty, returnUrlProblems, type PasskeySettings } from './methods/passkey/core.js';

export type Mode = 'development' | 'production';
export type EmailTransport = 'outbox' | 'smtp' | 'webhook';
export type PhoneTransport = 'outbox' | 'twilio' | 'webhook';

export interface Config {
  readonly mode: Mode;
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string;
  readonly dataDir: string;
  /** sqlite file path or postgres:// URL */
  readonly databaseUrl: string;
  readonly redisUrl: string | undefined;
  /** Master secret; token HMAC and key-sealing keys are derived from it. Undefined means: use the dev file. */
  readonly secret: Buffer | undefined;
  /** Earlier master secrets, kept only to open values sealed before a rotation. */
  readonly previousSecrets: readonly Buffer[];
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  readonly explicitErrors: boolean;
  readonly accessTokenTtlSeconds: number;
  /** How recent a successful verification must be to change a factor the identity already has (docs/security.md). */
  readonly factorChangeWindowSeconds: number;
  readonly token: {
    readonly length: number;
    readonly ttlSeconds: number;
    readonly maxAttempts: number;
    readonly maxFailuresPerIdentity: number;
    readonly failureWindowSeconds: number;
    readonly lockoutSeconds: number;
    readonly resendIntervalSeconds: number;
  };
  readonly kba: {
    readonly minAnswers: number;
    readonly requiredCorrect: number;
    readonly maxAttempts: number;
    readonly attemptWindowSeconds: number;
    readonly lockoutSeconds: number;
    readonly argon2MemoryKib: number;
    readonly argon2TimeCost: number;
    readonly argon2Parallelism: number;
    readonly maxConcurrentHashes: number;
    readonly maxQueuedHashes: number;
    /** Enrolments (POST /mfa/kba/config/answers) one identity, and one API client, may make per window. */
    readonly enrolmentsPerIdentity: number;
    readonly enrolmentsPerClient: number;
    readonly enrolmentWindowSeconds: number;
  };
  readonly rateLimits: {
    readonly sendsPerClient: number;
    readonly sendsPerClientWindowSeconds: number;
    readonly sendsPerRecipient: number;
    readonly sendsPerRecipientWindowSeconds: number;
    /** Failed checks (token, KBA, Duo, RSA tokencode, Okta) one client may cause per window before 429. */
    readonly failedChecksPerClient: number;
    readonly failedChecksPerClientWindowSeconds: number;
  };
  readonly delivery: {
    readonly email: EmailTransport;
    readonly sms: PhoneTransport;
    readonly voice: PhoneTransport;
    readonly smtpUrl: string | undefined;
    readonly emailFrom: string;
    readonly twilioAccountSid: string | undefined;
    readonly twilioAuthToken: string | undefined;
    readonly twilioFrom: string | undefined;
    readonly twilioBaseUrl: string | undefined;
    readonly webhookUrl: string | undefined;
    readonly webhookSecret: string | undefined;
    readonly timeoutMs: number;
    readonly templatesDir: string | undefined;
    readonly defaultLocale: string;
  };
  /** Authenticator apps (docs/totp.md). */
  readonly totp: TotpSettings;
  /** The self-service portal at /portal (docs/portal.md). */
  readonly portal: {
    readonly enabled: boolean;
    /** A session unused this long ends. */
    readonly sessionIdleSeconds: number;
    /** A session ends this long after sign-in, however much it is used. */
    readonly sessionMaxSeconds: number;
    /** How long an invitation link can be used. */
    readonly invitationTtlSeconds: number;
    /** Form submissions one client address may make per window, and one signed-in session. */
    readonly formsPerAddress: number;
    readonly formsPerSession: number;
    readonly formsWindowSeconds: number;
  };
  /** Okta Verify push (docs/okta.md). */
  readonly okta: {
    readonly pushesPerWindow: number;
    readonly pushWindowSeconds: number;
    readonly numberMatching: boolean;
    readonly pollCacheMs: number;
    readonly timeoutMs: number;
  };
  /**
   * Provider hosts may be private, loopback or link-local addresses, and plain http (docs/providers.md,
   * "Where providers may be"). Off: https to public addresses only.
   */
  readonly allowPrivateProviderHosts: boolean;
  /** Passkeys (docs/passkeys.md): the relying party, derived from the public URL, and the hosted page's limits. */
  readonly passkey: PasskeySettings;
  /** The events webhook: every audit event POSTed, signed (docs/operations.md, "Events webhook"). Undefined: off. */
  readonly events: EventsSettings | undefined;
  /** GET /metrics (docs/operations.md, "Metrics"). */
  readonly metrics: { readonly enabled: boolean; readonly processMetrics: boolean };
  readonly shutdownGraceMs: number;
  /** Pruning of what no answer depends on any more (docs/operations.md, "Retention"). */
  readonly retention: {
    /** 0 turns pruning off. */
    readonly pruneIntervalSeconds: number;
    /** Days a verification is kept after it expired, so polls of it answer as before. */
    readonly verificationDays: number;
    /** Days audit events are kept; 0 keeps them forever. */
    readonly auditDays: number;
  };
  /** Names of the settings left at a development default, for the start-up warning. */
  readonly devDefaults: readonly string[];
  /** Things that do not stop start-up but are probably mistakes (an unknown MFA_* variable), one line each. */
  readonly warnings: readonly string[];
}

export class ConfigError extends Error {
  /** Every problem found in one reading, this one first, so start-up can list them all at once. */
  readonly problems: readonly ConfigError[];
  constructor(readonly variable: string, message: string, others: readonly ConfigError[] = []) {
    super(`${variable}: ${message}`);
    this.problems = [this, ...others];
  }
}

/**
 * Variables set in the environment that are not settings but are not typos either: the test harness's
 * own (MFA_TEST_DATABASE_URL, MFA_TEST_REDIS_URL choose the databases the test suite runs against).
 */
const NOT_SETTINGS = /^MFA_TEST_/;

type Source = Readonly<Record<string, string | undefined>>;

class Reader {
  /** Every setting asked for, so settings in the file that nothing reads (typos) can be refused. */
  readonly asked = new Set<string>();
  /** Bad values found so far; each reader method answers its fallback after one, so reading goes on. */
  readonly problems: ConfigError[] = [];
  constructor(private readonly source: Source) {}

  problem(name: string, message: string): void {
    this.problems.push(new ConfigError(name, message));
  }

  /** Runs a check that throws ConfigError, keeping its problem instead; undefined after one. */
  checked<T>(read: () => T): T | undefined {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.problems.push(err);
      return undefined;
    }
  }

  /** Throws the problems found, all at once; the first names the error. */
  throwProblems(): void {
    const [first, ...others] = this.problems;
    if (first) throw new ConfigError(first.variable, first.message.slice(first.variable.length + 2), others);
  }

  raw(name: string): string | undefined {
    this.asked.add(name);
    const value = this.source[name];
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    if (!/^-?\d+$/.test(text.trim())) return this.fail(name, `expected a whole number, got "${text}"`, fallback);
    const value = Number(text);
    if (value < min || value > max) return this.fail(name, `must be between ${min} and ${max}, got ${value}`, fallback);
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const text = this.raw(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off'].includes(text)) return false;
    return this.fail(name, `expected true or false, got "${text}"`, fallback);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(text)) {
      return this.fail(name, `expected one of ${allowed.join(', ')}, got "${text}"`, fallback);
    }
    return text as T;
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const text = this.raw(name);
    if (text === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return this.fail(name, 'is not a valid URL', undefined);
    }
    if (!protocols.includes(parsed.protocol)) {
      return this.fail(name, `expected a ${protocols.join(' or ')} URL`, undefined);
    }
    return text;
  }

  private fail<T>(name: string, message: string, fallback: T): T {
    this.problem(name, message);
    return fallback;
  }
}

function readConfigFile(path: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError('MFA_CONFIG_FILE', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('MFA_CONFIG_FILE', 'must hold a JSON object of MFA_* settings');
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!key.startsWith('MFA_')) throw new ConfigError('MFA_CONFIG_FILE', `unknown setting "${key}"`);
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new ConfigError('MFA_CONFIG_FILE', `"${key}" must be a string, number or boolean`);
    }
    out[key] = String(value);
  }
  return out;
}

function parseSecret(text: string | undefined, variable = 'MFA_SECRET'): Buffer | undefined {
  if (text === undefined) return undefined;
  let bytes: Buffer;
  if (/^[0-9a-fA-F]+$/.test(text) && (text.length % 2 === 0 || text.length >= 63)) {
    // A hex secret that lost a character when pasted must not quietly become another secret.
    if (text.length % 2 !== 0) throw new ConfigError(variable, 'hex secret has an odd number of digits');
    bytes = Buffer.from(text, 'hex');
  } else if (/^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+$/.test(text)) {
    bytes = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  } else {
    throw new ConfigError(variable, 'expected hex or base64');
  }
  if (bytes.length < 32) throw new ConfigError(variable, 'must hold at least 32 bytes (64 hex or 44 base64 characters)');
  return bytes;
}

/** Builds the configuration from an environment (process.env by default). Throws ConfigError. */
export function loadConfig(env: Source = process.env): Config {
  const file = env['MFA_CONFIG_FILE'] ? readConfigFile(env['MFA_CONFIG_FILE']) : {};
  // An empty variable counts as unset (as Reader.raw does), so it does not hide the file's value.
  const setInEnv = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const r = new Reader({ ...file, ...setInEnv });
  r.asked.add('MFA_CONFIG_FILE');

  const mode = r.oneOf<Mode>('MFA_MODE', ['development', 'production'], 'development');
  const host = r.string('MFA_HOST', '127.0.0.1');
  const port = r.int('MFA_PORT', 8080, 0, 65535);
  const dataDir = resolve(r.string('MFA_DATA_DIR', './data'));
  const databaseUrl = r.raw('MFA_DATABASE_URL') ?? resolve(dataDir, 'mfa.sqlite');
  if (/^[a-z]+:\/\//i.test(databaseUrl) && !/^postgres(ql)?:\/\//i.test(databaseUrl)) {
    r.problem('MFA_DATABASE_URL', 'expected a postgres:// URL or a SQLite file path');
  }
  const publicUrl = (r.url('MFA_PUBLIC_URL', ['http:', 'https:']) ?? `http://${host}:${port}`).replace(/\/+$/, '');
  const secret = r.checked(() => parseSecret(r.raw('MFA_SECRET')));
  const previousSecrets = (r.raw('MFA_PREVIOUS_SECRETS') ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .flatMap((part) => r.checked(() => parseSecret(part, 'MFA_PREVIOUS_SECRETS')) ?? []);

  const delivery = {
    email: r.oneOf<EmailTransport>('MFA_EMAIL_TRANSPORT', ['outbox', 'smtp', 'webhook'], r.raw('MFA_SMTP_URL') ? 'smtp' : 'outbox'),
    sms: r.oneOf<PhoneTransport>('MFA_SMS_TRANSPORT', ['outbox', 'twilio', 'webhook'], 'outbox'),
    voice: r.oneOf<PhoneTransport>('MFA_VOICE_TRANSPORT', ['outbox', 'twilio', 'webhook'], 'outbox'),
    smtpUrl: r.url('MFA_SMTP_URL', ['smtp:', 'smtps:']),
    emailFrom: r.string('MFA_EMAIL_FROM', 'mfa-controller <no-reply@localhost>'),
    twilioAccountSid: r.raw('MFA_TWILIO_ACCOUNT_SID'),
    twilioAuthToken: r.raw('MFA_TWILIO_AUTH_TOKEN'),
    twilioFrom: r.raw('MFA_TWILIO_FROM'),
    twilioBaseUrl: r.url('MFA_TWILIO_BASE_URL', ['http:', 'https:']),
    webhookUrl: r.url('MFA_WEBHOOK_URL', ['http:', 'https:']),
    webhookSecret: r.raw('MFA_WEBHOOK_SECRET'),
    timeoutMs: r.int('MFA_DELIVERY_TIMEOUT_MS', 10_000, 100, 120_000),
    templatesDir: r.raw('MFA_TEMPLATES_DIR'),
    defaultLocale: r.string('MFA_DEFAULT_LOCALE', 'en'),
  };
  if (delivery.email === 'smtp' && !delivery.smtpUrl && !r.raw('MFA_SMTP_URL')) r.problem('MFA_SMTP_URL', 'is required when MFA_EMAIL_TRANSPORT=smtp');
  for (const [name, transport] of [['MFA_SMS_TRANSPORT', delivery.sms], ['MFA_VOICE_TRANSPORT', delivery.voice]] as const) {
    if (transport === 'twilio') {
      for (const needed of ['MFA_TWILIO_ACCOUNT_SID', 'MFA_TWILIO_AUTH_TOKEN', 'MFA_TWILIO_FROM']) {
        if (!r.raw(needed) && !r.problems.some((p) => p.variable === needed)) r.problem(needed, `is required when ${name}=twilio`);
      }
    }
  }
  const usesWebhook = [delivery.email, delivery.sms, delivery.voice].includes('webhook');
  if (usesWebhook && !delivery.webhookUrl && !r.raw('MFA_WEBHOOK_URL')) r.problem('MFA_WEBHOOK_URL', 'is required when a transport is webhook');
  if (usesWebhook && !delivery.webhookSecret) r.problem('MFA_WEBHOOK_SECRET', 'is required when a transport is webhook');
  // Production mode refuses every development default; all of them are listed at once.
  if (mode === 'production') {
    for (const [name, transport] of Object.entries({ MFA_EMAIL_TRANSPORT: delivery.email, MFA_SMS_TRANSPORT: delivery.sms, MFA_VOICE_TRANSPORT: delivery.voice })) {
      if (transport === 'outbox') r.problem(name, 'the local outbox is for development; choose a real transport in production mode');
    }
    if (!secret && !r.raw('MFA_SECRET')) r.problem('MFA_SECRET', 'is required in production mode');
    if (!r.raw('MFA_PUBLIC_URL')) r.problem('MFA_PUBLIC_URL', 'is required in production mode (the address callers reach the service at, and the issuer of its access tokens)');
  }

  const devDefaults: string[] = [];
  const warnings: string[] = [];
  const allowPrivateProviderHosts = r.bool('MFA_ALLOW_PRIVATE_PROVIDER_HOSTS', false);
  if (allowPrivateProviderHosts && mode === 'production') {
    warnings.push('MFA_ALLOW_PRIVATE_PROVIDER_HOSTS=true: provider hosts may be addresses inside the network and plain http (docs/providers.md); keep it only for a provider you run on-premises');
  }
  if (!secret) devDefaults.push('MFA_SECRET (a generated secret in the data directory)');
  for (const [name, transport] of Object.entries({ MFA_EMAIL_TRANSPORT: delivery.email, MFA_SMS_TRANSPORT: delivery.sms, MFA_VOICE_TRANSPORT: delivery.voice })) {
    if (transport === 'outbox') devDefaults.push(`${name} (messages go to the local outbox, not to people)`);
  }

  const config: Config = {
    mode,
    host,
    port,
    publicUrl,
    dataDir,
    databaseUrl,
    redisUrl: r.url('MFA_REDIS_URL', ['redis:', 'rediss:']),
    secret,
    previousSecrets,
    logLevel: r.oneOf('MFA_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    bodyLimitBytes: r.int('MFA_BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    explicitErrors: r.bool('MFA_EXPLICIT_ERRORS', false),
    accessTokenTtlSeconds: r.int('MFA_ACCESS_TOKEN_TTL_SECONDS', 3600, 60, 7 * 24 * 3600),
    factorChangeWindowSeconds: r.int('MFA_FACTOR_CHANGE_WINDOW_SECONDS', 600, 10, 24 * 3600),
    token: {
      length: r.int('MFA_TOKEN_LENGTH', 6, 6, 10),
      ttlSeconds: r.int('MFA_TOKEN_TTL_SECONDS', 300, 30, 24 * 3600),
      maxAttempts: r.int('MFA_TOKEN_MAX_ATTEMPTS', 5, 1, 1_000_000_000),
      maxFailuresPerIdentity: r.int('MFA_TOKEN_MAX_FAILURES_PER_IDENTITY', 10, 1, 1_000_000_000),
      failureWindowSeconds: r.int('MFA_TOKEN_FAILURE_WINDOW_SECONDS', 900, 1, 30 * 24 * 3600),
      lockoutSeconds: r.int('MFA_TOKEN_LOCKOUT_SECONDS', 900, 1, 30 * 24 * 3600),
      resendIntervalSeconds: r.int('MFA_TOKEN_RESEND_INTERVAL_SECONDS', 30, 0, 3600),
    },
    kba: {
      minAnswers: r.int('MFA_KBA_MIN_ANSWERS', 3, 1, 50),
      requiredCorrect: r.int('MFA_KBA_REQUIRED_CORRECT', 0, 0, 50),
      maxAttempts: r.int('MFA_KBA_MAX_ATTEMPTS', 5, 1, 1_000_000_000),
      attemptWindowSeconds: r.int('MFA_KBA_ATTEMPT_WINDOW_SECONDS', 900, 1, 30 * 24 * 3600),
      lockoutSeconds: r.int('MFA_KBA_LOCKOUT_SECONDS', 900, 1, 30 * 24 * 3600),
      // OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
      argon2MemoryKib: r.int('MFA_KBA_ARGON2_MEMORY_KIB', 19_456, 1024, 4 * 1024 * 1024),
      argon2TimeCost: r.int('MFA_KBA_ARGON2_TIME_COST', 2, 1, 100),
      argon2Parallelism: r.int('MFA_KBA_ARGON2_PARALLELISM', 1, 1, 16),
      maxConcurrentHashes: r.int('MFA_KBA_MAX_CONCURRENT_HASHES', Math.max(1, availableParallelism() - 1), 1, 64),
      maxQueuedHashes: r.int('MFA_KBA_MAX_QUEUED_HASHES', 64, 0, 100_000),
      enrolmentsPerIdentity: r.int('MFA_KBA_ENROLMENTS_PER_IDENTITY', 5, 1, 1_000_000_000),
      enrolmentsPerClient: r.int('MFA_KBA_ENROLMENTS_PER_CLIENT', 60, 1, 1_000_000_000),
      enrolmentWindowSeconds: r.int('MFA_KBA_ENROLMENT_WINDOW_SECONDS', 900, 1, 86_400),
    },
    rateLimits: {
      sendsPerClient: r.int('MFA_RATE_SENDS_PER_CLIENT', 120, 1, 1_000_000_000),
      sendsPerClientWindowSeconds: r.int('MFA_RATE_SENDS_PER_CLIENT_WINDOW_SECONDS', 60, 1, 86_400),
      sendsPerRecipient: r.int('MFA_RATE_SENDS_PER_RECIPIENT', 5, 1, 1_000_000_000),
      sendsPerRecipientWindowSeconds: r.int('MFA_RATE_SENDS_PER_RECIPIENT_WINDOW_SECONDS', 900, 1, 86_400),
      failedChecksPerClient: r.int('MFA_RATE_FAILED_CHECKS_PER_CLIENT', 300, 1, 1_000_000_000),
      failedChecksPerClientWindowSeconds: r.int('MFA_RATE_FAILED_CHECKS_PER_CLIENT_WINDOW_SECONDS', 60, 1, 86_400),
    },
    delivery,
    totp: readTotpSettings(r),
    portal: {
      enabled: r.bool('MFA_PORTAL_ENABLED', true),
      sessionIdleSeconds: r.int('MFA_PORTAL_SESSION_IDLE_SECONDS', 900, 60, 86_400),
      sessionMaxSeconds: r.int('MFA_PORTAL_SESSION_MAX_SECONDS', 14_400, 300, 7 * 86_400),
      invitationTtlSeconds: r.int('MFA_PORTAL_INVITATION_TTL_SECONDS', 86_400, 300, 7 * 86_400),
      formsPerAddress: r.int('MFA_PORTAL_FORMS_PER_ADDRESS', 60, 1, 1_000_000_000),
      formsPerSession: r.int('MFA_PORTAL_FORMS_PER_SESSION', 30, 1, 1_000_000_000),
      formsWindowSeconds: r.int('MFA_PORTAL_FORMS_WINDOW_SECONDS', 60, 1, 86_400),
    },
    okta: {
      pushesPerWindow: r.int('MFA_OKTA_PUSHES_PER_WINDOW', 3, 1, 1_000_000),
      pushWindowSeconds: r.int('MFA_OKTA_PUSH_WINDOW_SECONDS', 300, 1, 86_400),
      numberMatching: r.bool('MFA_OKTA_NUMBER_MATCHING', false),
      pollCacheMs: r.int('MFA_OKTA_POLL_CACHE_MS', 1000, 0, 60_000),
      timeoutMs: r.int('MFA_OKTA_TIMEOUT_MS', 5000, 100, 60_000),
    },
    allowPrivateProviderHosts,
    passkey: passkeySettings(r, publicUrl, warnings),
    events: eventsSettings(r),
    metrics: { enabled: r.bool('MFA_METRICS_ENABLED', true), processMetrics: r.bool('MFA_METRICS_PROCESS', true) },
    shutdownGraceMs: r.int('MFA_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    retention: {
      pruneIntervalSeconds: r.int('MFA_PRUNE_INTERVAL_SECONDS', 300, 0, 86_400),
      verificationDays: r.int('MFA_VERIFICATION_RETENTION_DAYS', 7, 0, 3650),
      auditDays: r.int('MFA_AUDIT_RETENTION_DAYS', 365, 0, 36_500),
    },
    devDefaults,
    warnings,
  };
  // Checked last, when every setting has been asked for: a misspelt name in the file is an error, not ignored.
  const unknown = Object.keys(file).filter((key) => !r.asked.has(key));
  if (unknown.length > 0) r.problem('MFA_CONFIG_FILE', `unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`);
  r.throwProblems();
  // A misspelt variable is only warned about: the environment holds variables of other programs too, and
  // a deployment may set a variable a newer version reads.
  for (const name of Object.keys(setInEnv)) {
    if (!name.startsWith('MFA_') || r.asked.has(name) || NOT_SETTINGS.test(name)) continue;
    const closest = closestName(name, [...r.asked]);
    warnings.push(`unknown variable ${name} is ignored${closest ? `; did you mean ${closest}?` : ''}`);
  }
  return deepFreeze(config);
}

export interface EventsSettings {
  readonly url: string;
  readonly secret: string;
  readonly maxTries: number;
  readonly retryBaseMs: number;
  readonly timeoutMs: number;
}

/** Passkeys: the relying party from the public URL (localhost without one, or for a loopback IP), checked origins and return URLs. */
function passkeySettings(r: Reader, publicUrl: string, warnings: string[]): PasskeySettings {
  const list = (name: string): string[] => (r.raw(name) ?? '').split(',').map((part) => part.trim()).filter(Boolean);
  const { party, problems, warnings: found } = relyingParty({
    publicUrl,
    publicUrlSet: r.raw('MFA_PUBLIC_URL') !== undefined,
    rpId: r.raw('MFA_PASSKEY_RP_ID'),
    extraOrigins: list('MFA_PASSKEY_ORIGINS'),
  });
  const returnUrls = list('MFA_PASSKEY_RETURN_URLS');
  for (const problem of [...problems, ...returnUrlProblems(returnUrls)]) r.problem(problem.variable, problem.message);
  warnings.push(...found);
  return {
    ...party,
    rpName: r.string('MFA_PASSKEY_RP_NAME', 'mfa-controller'),
    userVerification: r.oneOf('MFA_PASSKEY_USER_VERIFICATION', ['required', 'preferred'], 'required'),
    ttlSeconds: r.int('MFA_PASSKEY_TTL_SECONDS', 300, 30, 3600),
    returnUrls,
    maxPerIdentity: r.int('MFA_PASSKEY_MAX_PER_IDENTITY', 10, 1, 100),
  };
}

/** The events webhook needs its URL and its secret together, or neither. */
function eventsSettings(r: Reader): EventsSettings | undefined {
  const url = r.url('MFA_EVENTS_WEBHOOK_URL', ['http:', 'https:']);
  const secret = r.raw('MFA_EVENTS_WEBHOOK_SECRET');
  const maxTries = r.int('MFA_EVENTS_WEBHOOK_MAX_TRIES', 5, 1, 20);
  const retryBaseMs = r.int('MFA_EVENTS_WEBHOOK_RETRY_BASE_MS', 1000, 10, 600_000);
  const timeoutMs = r.int('MFA_EVENTS_WEBHOOK_TIMEOUT_MS', 5000, 100, 120_000);
  if (url && !secret) r.problem('MFA_EVENTS_WEBHOOK_SECRET', 'is required when MFA_EVENTS_WEBHOOK_URL is set');
  if (secret && !url && !r.raw('MFA_EVENTS_WEBHOOK_URL')) r.problem('MFA_EVENTS_WEBHOOK_URL', 'is required when MFA_EVENTS_WEBHOOK_SECRET is set');
  return url && secret ? { url, secret, maxTries, retryBaseMs, timeoutMs } : undefined;
}

/** The known name nearest to `name` by edit distance, if it is near enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  // MFA_ is shared by all, so closeness is judged on the rest of the name.
  return bestDistance <= Math.max(2, Math.floor((name.length - 4) / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours (ULR for URL). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      const up = d[i - 1]!;
      row[j] = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

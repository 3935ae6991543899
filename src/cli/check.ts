// `mfa-controller check`: tries everything the service depends on, as the service would use it, and says
// in one line per item whether it works. Nothing is sent to anyone: transports are only connected to
// (SMTP login, Twilio account fetch, webhook HEAD), and providers get the same call as GET /mfa/{method}/test.
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { PROVIDER_METHODS, type ProviderMethod } from '../methods/index.js';
import { OutboxSender, outboxPath } from '../delivery/outbox.js';
import { SmtpSender } from '../delivery/smtp.js';
import { TwilioSender } from '../delivery/twilio.js';
import { WebhookSender } from '../delivery/webhook.js';
import { RedisRateCounter } from '../ratelimit/counters.js';
import { createRuntime, openMigratedStore } from '../runtime.js';
import { whereData } from '../startup.js';
import { isPostgresUrl } from '../store/url.js';

type Status = 'ok' | 'FAIL' | 'skip';

/** How long Redis gets to answer. */
const REDIS_WAIT_MS = 3000;

/** Runs every check, printing one line each; true when none failed. */
export async function runChecks(config: Config, print: (line: string) => void): Promise<boolean> {
  let failed = false;
  const line = (status: Status, item: string, detail: string) => {
    if (status === 'FAIL') failed = true;
    print(`${status.padEnd(4)}  ${item.padEnd(22)}  ${detail}`);
  };
  const attempt = async (item: string, work: () => Promise<string>) => {
    try {
      line('ok', item, await work());
    } catch (err) {
      line('FAIL', item, (err as Error).message);
    }
  };

  line('ok', 'configuration', `${config.mode} mode, public URL ${config.publicUrl}${config.warnings.length > 0 ? `; ${config.warnings.join('; ')}` : ''}`);

  const providers = await checkDatabase(config, line);

  if (config.redisUrl) {
    await attempt('redis', async () => {
      const redis = new RedisRateCounter(config.redisUrl!);
      try {
        const away = await redis.whenReady(REDIS_WAIT_MS);
        if (away) throw new Error(`MFA_REDIS_URL: Redis cannot be reached (${away})`);
        await redis.ping();
        return 'answered PING';
      } finally {
        await redis.close();
      }
    });
  } else {
    line('skip', 'redis', 'MFA_REDIS_URL not set: rate counters are kept in the database');
  }

  for (const [transport, channels] of transportsInUse(config)) {
    const item = `transport ${transport}`;
    const serves = `(${channels.join(', ')})`;
    const d = config.delivery;
    switch (transport) {
      case 'outbox':
        line('ok', item, `${serves} messages are written to ${outboxPath(config.dataDir)}, not sent: development only`);
        break;
      case 'smtp':
        await attempt(item, async () => `${serves} ${await withClose(new SmtpSender({ url: d.smtpUrl!, from: d.emailFrom, timeoutMs: d.timeoutMs }), (s) => s.check())}`);
        break;
      case 'twilio':
        await attempt(item, async () => {
          const sender = new TwilioSender({ accountSid: d.twilioAccountSid!, authToken: d.twilioAuthToken!, from: d.twilioFrom!, baseUrl: d.twilioBaseUrl, timeoutMs: d.timeoutMs });
          return `${serves} ${await withClose(sender, (s) => s.check())}`;
        });
        break;
      case 'webhook':
        await attempt(item, async () => `${serves} ${await withClose(new WebhookSender({ url: d.webhookUrl!, secret: d.webhookSecret!, timeoutMs: d.timeoutMs }), (s) => s.check())}`);
        break;
    }
  }
  if (config.events) {
    const events = config.events;
    await attempt('events webhook', () => new WebhookSender({ url: events.url, secret: events.secret, timeoutMs: events.timeoutMs }).check());
  }

  await checkProviders(config, providers, line, attempt);
  return !failed;
}

/** Opens the database as the server would; the provider methods configured in it, or undefined if it cannot be used. */
async function checkDatabase(config: Config, line: (status: Status, item: string, detail: string) => void): Promise<ProviderMethod[] | undefined> {
  if (!isPostgresUrl(config.databaseUrl) && !existsSync(config.databaseUrl)) {
    line('FAIL', 'database', `no database at ${config.databaseUrl} (the server creates it on its first start, or a command with --init)`);
    return undefined;
  }
  try {
    const store = await openMigratedStore(config);
    try {
      await store.ping();
      const configured: ProviderMethod[] = [];
      for (const method of PROVIDER_METHODS) if (await store.findProviderConfig(method)) configured.push(method);
      line('ok', 'database', whereData(config));
      return configured;
    } finally {
      await store.close();
    }
  } catch (err) {
    line('FAIL', 'database', (err as Error).message);
    return undefined;
  }
}

async function checkProviders(
  config: Config,
  configured: readonly ProviderMethod[] | undefined,
  line: (status: Status, item: string, detail: string) => void,
  attempt: (item: string, work: () => Promise<string>) => Promise<void>,
): Promise<void> {
  if (configured === undefined) {
    line('skip', 'providers', 'the database cannot be read');
    return;
  }
  if (configured.length === 0) {
    line('skip', 'providers', 'none configured (PUT /mfa/{method}/config)');
    return;
  }
  // The services' own testers, built as the server builds them; the log is silenced (each line says it).
  const runtime = await createRuntime(config, { logger: false, onWarning: () => undefined, sender: new OutboxSender(config.dataDir) });
  try {
    for (const method of configured) {
      const item = `provider ${method}`;
      const providerConfig = await runtime.providers.configs.get(method);
      const tester = runtime.providers.testers[method];
      if (!providerConfig || !tester) {
        line('skip', item, 'no test for this method');
        continue;
      }
      if (!providerConfig.enabled) {
        line('skip', item, 'configured but disabled');
        continue;
      }
      await attempt(item, async () => {
        const result = await tester(providerConfig);
        if (!result.ok) throw new Error(result.reason);
        return `test call to ${providerConfig.host ?? method} succeeded`;
      });
    }
  } finally {
    await runtime.close();
  }
}

/** Each transport in use and the channels it carries, in the order email, sms, voice. */
function transportsInUse(config: Config): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const channel of ['email', 'sms', 'voice'] as const) {
    const transport = config.delivery[channel];
    used.set(transport, [...(used.get(transport) ?? []), channel]);
  }
  return used;
}

async function withClose<S extends { close(): Promise<void> }, T>(sender: S, work: (sender: S) => Promise<T>): Promise<T> {
  try {
    return await work(sender);
  } finally {
    await sender.close();
  }
}

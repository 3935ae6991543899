// Defends start-up against a misconfigured service running anyway: every bad or missing value stops loadConfig with a ConfigError naming the variable, production refuses development defaults, and the result cannot be changed afterwards.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const SECRET_HEX = 'ab'.repeat(32);
const WEBHOOK = { MFA_WEBHOOK_URL: 'https://hooks.example/mfa', MFA_WEBHOOK_SECRET: 'hook-secret' };
const ALL_WEBHOOK = { ...WEBHOOK, MFA_EMAIL_TRANSPORT: 'webhook', MFA_SMS_TRANSPORT: 'webhook', MFA_VOICE_TRANSPORT: 'webhook' };

/** Asserts loadConfig(env) throws a ConfigError for `variable`, with the variable at the start of its message. */
function refuses(env: Record<string, string>, variable: string, detail?: RegExp): void {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.equal(err.variable, variable);
      assert.ok(err.message.startsWith(`${variable}: `), err.message);
      if (detail) assert.match(err.message, detail);
      return true;
    },
    `${JSON.stringify(env)} should be refused naming ${variable}`,
  );
}

describe('loadConfig defaults', () => {
  it('runs for development on 127.0.0.1:8080 with SQLite under ./data and the outbox', () => {
    const config = loadConfig({});
    assert.equal(config.mode, 'development');
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.publicUrl, 'http://127.0.0.1:8080');
    assert.equal(config.dataDir, resolve('./data'));
    assert.equal(config.databaseUrl, resolve('./data', 'mfa.sqlite'));
    assert.equal(config.secret, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.deepEqual([config.delivery.email, config.delivery.sms, config.delivery.voice], ['outbox', 'outbox', 'outbox']);
    assert.equal(config.token.length, 6);
    assert.equal(config.logLevel, 'info');
  });

  it('does not read process.env when given an environment', () => {
    const saved = process.env['MFA_PORT'];
    process.env['MFA_PORT'] = 'not-a-port';
    try {
      assert.equal(loadConfig({}).port, 8080);
    } finally {
      if (saved === undefined) delete process.env['MFA_PORT'];
      else process.env['MFA_PORT'] = saved;
    }
  });

  it('lists MFA_SECRET and each outbox transport among the development defaults', () => {
    const config = loadConfig({});
    assert.ok(config.devDefaults.some((d) => d.startsWith('MFA_SECRET')), config.devDefaults.join('; '));
    for (const name of ['MFA_EMAIL_TRANSPORT', 'MFA_SMS_TRANSPORT', 'MFA_VOICE_TRANSPORT']) {
      assert.ok(config.devDefaults.some((d) => d.startsWith(name)), `${name} missing from ${config.devDefaults.join('; ')}`);
    }
    const configured = loadConfig({ MFA_SECRET: SECRET_HEX, ...ALL_WEBHOOK });
    assert.deepEqual(configured.devDefaults, []);
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ MFA_PORT: '', MFA_SECRET: '', MFA_HOST: '' });
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.secret, undefined);
  });
});

describe('loadConfig accepts good values', () => {
  it('reads the secret as hex or base64, the port and a postgres URL', () => {
    assert.deepEqual(loadConfig({ MFA_SECRET: SECRET_HEX }).secret, Buffer.from(SECRET_HEX, 'hex'));
    const base64 = Buffer.alloc(32, 7).toString('base64');
    assert.deepEqual(loadConfig({ MFA_SECRET: base64 }).secret, Buffer.alloc(32, 7));
    assert.equal(loadConfig({ MFA_PORT: '0' }).port, 0);
    assert.equal(loadConfig({ MFA_PORT: '65535' }).port, 65535);
    assert.equal(loadConfig({ MFA_DATABASE_URL: 'postgres://u@db/mfa' }).databaseUrl, 'postgres://u@db/mfa');
    assert.equal(loadConfig({ MFA_TOKEN_LENGTH: '10' }).token.length, 10);
    assert.equal(loadConfig({ MFA_SMTP_URL: 'smtps://u:p@mail.example' }).delivery.email, 'smtp');
  });
});

describe('loadConfig refuses bad values, naming the variable', () => {
  const cases: Array<[string, Record<string, string>, string, RegExp?]> = [
    ['a port that is not a number', { MFA_PORT: 'abc' }, 'MFA_PORT', /abc/],
    ['a port above 65535', { MFA_PORT: '70000' }, 'MFA_PORT', /70000/],
    ['a negative port', { MFA_PORT: '-1' }, 'MFA_PORT'],
    ['a port with a fraction', { MFA_PORT: '80.5' }, 'MFA_PORT'],
    ['a 5-digit token', { MFA_TOKEN_LENGTH: '5' }, 'MFA_TOKEN_LENGTH'],
    ['an 11-digit token', { MFA_TOKEN_LENGTH: '11' }, 'MFA_TOKEN_LENGTH'],
    ['a MySQL database', { MFA_DATABASE_URL: 'mysql://x' }, 'MFA_DATABASE_URL'],
    ['an SMTP URL that is not smtp', { MFA_SMTP_URL: 'http://x' }, 'MFA_SMTP_URL'],
    ['an SMTP URL that is not a URL', { MFA_SMTP_URL: 'mail.example:25' }, 'MFA_SMTP_URL'],
    ['a secret under 32 bytes (hex)', { MFA_SECRET: 'ab'.repeat(31) }, 'MFA_SECRET', /32 bytes/],
    ['a hex secret missing a digit', { MFA_SECRET: 'ab'.repeat(32).slice(1) }, 'MFA_SECRET', /odd number/],
    ['a secret that is neither hex nor base64', { MFA_SECRET: 'this is not a key, it has spaces and commas!!' }, 'MFA_SECRET', /hex or base64/],
    ['a secret under 32 bytes (base64)', { MFA_SECRET: Buffer.alloc(31).toString('base64') }, 'MFA_SECRET'],
    ['smtp without MFA_SMTP_URL', { MFA_EMAIL_TRANSPORT: 'smtp' }, 'MFA_SMTP_URL', /MFA_EMAIL_TRANSPORT=smtp/],
    ['an unknown transport', { MFA_EMAIL_TRANSPORT: 'pigeon' }, 'MFA_EMAIL_TRANSPORT', /pigeon/],
    ['twilio SMS without any credentials', { MFA_SMS_TRANSPORT: 'twilio' }, 'MFA_TWILIO_ACCOUNT_SID', /MFA_SMS_TRANSPORT=twilio/],
    ['twilio SMS without the auth token', { MFA_SMS_TRANSPORT: 'twilio', MFA_TWILIO_ACCOUNT_SID: 'AC1', MFA_TWILIO_FROM: '+15005550006' }, 'MFA_TWILIO_AUTH_TOKEN'],
    ['twilio voice without the sender', { MFA_VOICE_TRANSPORT: 'twilio', MFA_TWILIO_ACCOUNT_SID: 'AC1', MFA_TWILIO_AUTH_TOKEN: 't' }, 'MFA_TWILIO_FROM', /MFA_VOICE_TRANSPORT=twilio/],
    ['a webhook without its URL', { MFA_SMS_TRANSPORT: 'webhook', MFA_WEBHOOK_SECRET: 's' }, 'MFA_WEBHOOK_URL'],
    ['a webhook without its secret', { MFA_EMAIL_TRANSPORT: 'webhook', MFA_WEBHOOK_URL: 'https://hooks.example' }, 'MFA_WEBHOOK_SECRET'],
    ['an unknown mode', { MFA_MODE: 'prod' }, 'MFA_MODE'],
    ['an unknown log level', { MFA_LOG_LEVEL: 'verbose' }, 'MFA_LOG_LEVEL'],
    ['a boolean that is not one', { MFA_EXPLICIT_ERRORS: 'maybe' }, 'MFA_EXPLICIT_ERRORS'],
    ['a Redis URL of another scheme', { MFA_REDIS_URL: 'http://cache' }, 'MFA_REDIS_URL'],
    ['a public URL of another scheme', { MFA_PUBLIC_URL: 'ftp://mfa.example' }, 'MFA_PUBLIC_URL'],
  ];
  for (const [what, env, variable, detail] of cases) {
    it(`refuses ${what}`, () => refuses(env, variable, detail));
  }
});

describe('production mode', () => {
  it('refuses the local outbox for any channel', () => {
    refuses({ MFA_MODE: 'production', MFA_SECRET: SECRET_HEX }, 'MFA_EMAIL_TRANSPORT', /outbox/);
    refuses({ MFA_MODE: 'production', MFA_SECRET: SECRET_HEX, ...ALL_WEBHOOK, MFA_SMS_TRANSPORT: 'outbox' }, 'MFA_SMS_TRANSPORT');
    refuses({ MFA_MODE: 'production', MFA_SECRET: SECRET_HEX, ...ALL_WEBHOOK, MFA_VOICE_TRANSPORT: 'outbox' }, 'MFA_VOICE_TRANSPORT');
  });

  it('refuses a missing secret', () => {
    refuses({ MFA_MODE: 'production', ...ALL_WEBHOOK }, 'MFA_SECRET', /production/);
  });

  it('starts with real transports and a secret, with no development defaults', () => {
    const config = loadConfig({ MFA_MODE: 'production', MFA_SECRET: SECRET_HEX, MFA_PUBLIC_URL: 'https://mfa.example.com', ...ALL_WEBHOOK });
    assert.equal(config.mode, 'production');
    assert.deepEqual(config.devDefaults, []);
  });
});

describe('every problem at once', () => {
  it('lists every missing production setting in one error, not one per start', () => {
    assert.throws(
      () => loadConfig({ MFA_MODE: 'production' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(
          err.problems.map((p) => p.variable),
          ['MFA_EMAIL_TRANSPORT', 'MFA_SMS_TRANSPORT', 'MFA_VOICE_TRANSPORT', 'MFA_SECRET', 'MFA_PUBLIC_URL'],
        );
        for (const problem of err.problems) assert.ok(problem.message.startsWith(`${problem.variable}: `), problem.message);
        return true;
      },
    );
  });

  it('lists bad values of several variables together, in the order they are read', () => {
    assert.throws(
      () => loadConfig({ MFA_PORT: 'abc', MFA_TOKEN_LENGTH: '3', MFA_SMTP_URL: 'http://mail', MFA_SECRET: 'short' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.variable, 'MFA_PORT');
        assert.deepEqual(err.problems.map((p) => p.variable).sort(), ['MFA_PORT', 'MFA_SECRET', 'MFA_SMTP_URL', 'MFA_TOKEN_LENGTH']);
        return true;
      },
    );
  });

  it('refuses a missing public URL in production', () => {
    refuses({ MFA_MODE: 'production', MFA_SECRET: SECRET_HEX, ...ALL_WEBHOOK }, 'MFA_PUBLIC_URL', /production/);
  });

  it('warns when provider hosts inside the network are allowed in production (the SSRF opt-in)', () => {
    const production = { MFA_MODE: 'production', MFA_SECRET: SECRET_HEX, MFA_PUBLIC_URL: 'https://mfa.example.com', ...ALL_WEBHOOK };
    assert.deepEqual(loadConfig(production).warnings, []);
    const opted = loadConfig({ ...production, MFA_ALLOW_PRIVATE_PROVIDER_HOSTS: 'true' });
    assert.equal(opted.allowPrivateProviderHosts, true);
    assert.match(opted.warnings.join('\n'), /MFA_ALLOW_PRIVATE_PROVIDER_HOSTS=true: provider hosts may be addresses inside the network/);
  });
});

describe('unknown MFA_* variables', () => {
  it('warns about a misspelt variable, naming the setting it is closest to', () => {
    const config = loadConfig({ MFA_SMTP_ULR: 'smtp://mail.example.com', MFA_PROT: '9000', MFA_DATADIR: '/srv' });
    assert.deepEqual(config.warnings, [
      'unknown variable MFA_SMTP_ULR is ignored; did you mean MFA_SMTP_URL?',
      'unknown variable MFA_PROT is ignored; did you mean MFA_PORT?',
      'unknown variable MFA_DATADIR is ignored; did you mean MFA_DATA_DIR?',
    ]);
  });

  it('names no setting when none is close', () => {
    assert.deepEqual(loadConfig({ MFA_SOMETHING_ELSE_ENTIRELY: '1' }).warnings, ['unknown variable MFA_SOMETHING_ELSE_ENTIRELY is ignored']);
  });

  it('does not warn about settings, other programs\' variables or the test harness\'s MFA_TEST_*', () => {
    const config = loadConfig({ MFA_PORT: '9000', MFA_CONFIG_FILE: '', PATH: '/bin', MFA_TEST_DATABASE_URL: 'postgres://x', MFA_TEST_REDIS_URL: 'redis://x' });
    assert.deepEqual(config.warnings, []);
  });
});

describe('MFA_CONFIG_FILE', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfa-config-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const file = async (name: string, content: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };

  it('is read, and the environment wins over it', async () => {
    const path = await file('good.json', JSON.stringify({ MFA_PORT: 9000, MFA_HOST: '0.0.0.0', MFA_TOKEN_LENGTH: 8, MFA_EXPLICIT_ERRORS: true }));
    const fromFile = loadConfig({ MFA_CONFIG_FILE: path });
    assert.equal(fromFile.port, 9000);
    assert.equal(fromFile.host, '0.0.0.0');
    assert.equal(fromFile.token.length, 8);
    assert.equal(fromFile.explicitErrors, true);

    const overridden = loadConfig({ MFA_CONFIG_FILE: path, MFA_PORT: '9100', MFA_TOKEN_LENGTH: '' });
    assert.equal(overridden.port, 9100);
    assert.equal(overridden.host, '0.0.0.0');
    // An empty variable is unset: the file's value stands.
    assert.equal(overridden.token.length, 8);
  });

  it('checks values from the file like variables', async () => {
    refuses({ MFA_CONFIG_FILE: await file('bad-port.json', '{"MFA_PORT": "abc"}') }, 'MFA_PORT');
  });

  it('refuses an unknown key, with or without the MFA_ prefix', async () => {
    refuses({ MFA_CONFIG_FILE: await file('unprefixed.json', '{"PORT": 9000}') }, 'MFA_CONFIG_FILE', /"PORT"/);
    // A misspelt setting would otherwise be silently ignored and its default used.
    refuses({ MFA_CONFIG_FILE: await file('typo.json', '{"MFA_PORT": 9000, "MFA_SMTP_ULR": "smtp://mail"}') }, 'MFA_CONFIG_FILE', /"MFA_SMTP_ULR"/);
  });

  it('refuses a file that is missing, not JSON, not an object, or holds nested values', async () => {
    refuses({ MFA_CONFIG_FILE: join(dir, 'absent.json') }, 'MFA_CONFIG_FILE', /absent\.json/);
    refuses({ MFA_CONFIG_FILE: await file('broken.json', '{"MFA_PORT": ') }, 'MFA_CONFIG_FILE');
    refuses({ MFA_CONFIG_FILE: await file('array.json', '[]') }, 'MFA_CONFIG_FILE');
    refuses({ MFA_CONFIG_FILE: await file('nested.json', '{"MFA_HOST": {"v": "0.0.0.0"}}') }, 'MFA_CONFIG_FILE', /MFA_HOST/);
  });
});

describe('the returned configuration', () => {
  it('is frozen all the way down', () => {
    const config = loadConfig({ MFA_SECRET: SECRET_HEX });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.token));
    assert.ok(Object.isFrozen(config.delivery));
    assert.ok(Object.isFrozen(config.rateLimits));
    assert.ok(Object.isFrozen(config.devDefaults));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (config.token as { maxAttempts: number }).maxAttempts = 1_000_000;
    }, TypeError);
    assert.throws(() => (config.devDefaults as string[]).push('x'), TypeError);
    assert.equal(config.port, 8080);
  });
});

// Defends message wording: locale fallback, placeholder filling without injection, spoken digits, escaped TwiML, loud override validation.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../src/core/model.js';
import { BUILT_IN_TEMPLATES, loadTemplates, localeCandidates, renderMessage, type Templates } from '../../src/delivery/templates.js';
import { voiceTwiml } from '../../src/delivery/twilio.js';

const render = (channel: Channel, locale: string | undefined, defaultLocale = 'en', templates?: Templates) =>
  renderMessage({ channel, to: 'x', token: '123456', ttlSeconds: 300, locale, defaultLocale, templates });

describe('locale fallback', () => {
  it('orders candidates: exact, language, default, its language, en', () => {
    assert.deepEqual(localeCandidates('fr-CA', 'de-CH'), ['fr-CA', 'fr', 'de-CH', 'de', 'en']);
    assert.deepEqual(localeCandidates('FR_ca', 'en'), ['fr-CA', 'fr', 'en']);
    assert.deepEqual(localeCandidates(undefined, 'de'), ['de', 'en']);
    assert.deepEqual(localeCandidates('not a locale!', 'de'), ['de', 'en']);
  });

  it('uses the exact locale when a template exists for it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mfa-templates-'));
    try {
      await writeFile(join(dir, 'sms.fr-CA.json'), JSON.stringify({ body: 'Votre code : {{token}} (Québec)' }));
      const message = render('sms', 'fr-ca', 'en', await loadTemplates(dir));
      assert.equal(message.locale, 'fr-CA');
      assert.equal(message.body, 'Votre code : 123456 (Québec)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the language, then the default locale, then en', () => {
    assert.equal(render('sms', 'fr-CA').locale, 'fr');
    assert.match(render('sms', 'fr-CA').body, /^Votre code de vérification est 123456\./);
    assert.equal(render('email', 'es-MX', 'de').locale, 'de');
    assert.equal(render('email', 'es-MX', 'de').subject, 'Ihr Bestätigungscode');
    assert.equal(render('email', 'es-MX', 'it').locale, 'en');
    assert.equal(render('email', undefined, 'fr').locale, 'fr');
    assert.equal(render('voice', '__proto__', 'constructor').locale, 'en');
  });
});

describe('rendering', () => {
  it('fills {{token}} and {{minutes}} in every built-in template, leaving no placeholder behind', () => {
    for (const channel of ['email', 'sms', 'voice'] as const) {
      for (const locale of BUILT_IN_TEMPLATES[channel].keys()) {
        const message = renderMessage({ channel, to: 'x', token: '908172', ttlSeconds: 600, locale, defaultLocale: 'en' });
        assert.equal(message.locale, locale);
        assert.doesNotMatch(`${message.subject} ${message.body}`, /\{\{|\}\}/, `${channel}.${locale}`);
        if (channel === 'voice') {
          assert.equal(message.body.split('9, 0, 8, 1, 7, 2').length - 1, 2, `voice.${locale} says the code twice, digit by digit`);
        } else {
          assert.match(message.body, /908172/);
          assert.match(message.body, /10 min/i, `${channel}.${locale} states the validity`);
        }
        assert.equal(message.subject === '', channel !== 'email', `${channel}.${locale} subject only for email`);
      }
    }
  });

  it('rounds minutes down, never below 1', () => {
    const minutes = (ttlSeconds: number) => renderMessage({ channel: 'sms', to: 'x', token: '1', ttlSeconds, locale: 'en', defaultLocale: 'en' }).body.match(/(\d+) min/)?.[1];
    assert.equal(minutes(30), '1');
    assert.equal(minutes(119), '1');
    assert.equal(minutes(300), '5');
  });

  it('does not expand placeholders that arrive inside a value', () => {
    const message = renderMessage({ channel: 'sms', to: 'x', token: '{{minutes}}', ttlSeconds: 300, locale: 'en', defaultLocale: 'en' });
    assert.match(message.body, /is \{\{minutes\}\}\./);
  });

  it('keeps markup in a voice template as text in the TwiML', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mfa-templates-'));
    try {
      await writeFile(join(dir, 'voice.en.json'), JSON.stringify({ body: 'Code {{token}} </Say><Redirect>http://evil.example</Redirect> & bye' }));
      const message = render('voice', 'en', 'en', await loadTemplates(dir));
      const twiml = voiceTwiml(message.body, message.locale);
      assert.ok(twiml.includes('Code 1, 2, 3, 4, 5, 6 &lt;/Say&gt;&lt;Redirect&gt;http://evil.example&lt;/Redirect&gt; &amp; bye'), twiml);
      assert.equal(twiml.match(/<Say/g)?.length, 1);
      assert.equal(twiml.includes('<Redirect>'), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('override directory', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfa-templates-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function loadOnly(files: Record<string, string>): Promise<Templates> {
    const sub = await mkdtemp(join(dir, 'case-'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(sub, name), text);
    return loadTemplates(sub);
  }

  it('overlays the built-ins: replaced and added templates, the rest untouched, other files ignored', async () => {
    const templates = await loadOnly({
      'email.en.json': JSON.stringify({ subject: 'ACME code {{token}}', body: 'Use {{ token }} within {{minutes}} minutes.' }),
      'sms.es.json': JSON.stringify({ body: 'Tu código es {{token}}.' }),
      'README.md': '# not a template',
    });
    const email = render('email', 'en', 'en', templates);
    assert.equal(email.subject, 'ACME code 123456');
    assert.equal(email.body, 'Use 123456 within 5 minutes.');
    assert.equal(render('sms', 'es-AR', 'en', templates).body, 'Tu código es 123456.');
    assert.equal(render('email', 'de', 'en', templates).subject, 'Ihr Bestätigungscode');
    assert.equal(BUILT_IN_TEMPLATES.email.get('en')?.subject, 'Your verification code', 'built-ins are not mutated');
  });

  const broken: [string, Record<string, string>, RegExp][] = [
    ['invalid JSON', { 'sms.en.json': '{"body": "{{token}}",}' }, /sms\.en\.json: not valid JSON/],
    ['not an object', { 'sms.en.json': '["{{token}}"]' }, /sms\.en\.json: expected an object/],
    ['missing body', { 'sms.de.json': '{}' }, /sms\.de\.json: "body" must be a non-empty string/],
    ['body not a string', { 'sms.de.json': '{"body": 5}' }, /sms\.de\.json: "body" must be a non-empty string/],
    ['unknown field', { 'sms.de.json': '{"body": "{{token}}", "Body": "x"}' }, /sms\.de\.json: unknown field\(s\) Body/],
    ['email without subject', { 'email.fr.json': '{"body": "{{token}}"}' }, /email\.fr\.json: "subject" must be a non-empty string for email/],
    ['subject on sms', { 'sms.fr.json': '{"subject": "s", "body": "{{token}}"}' }, /sms\.fr\.json: "subject" is only used by email templates/],
    ['unknown placeholder', { 'voice.en.json': '{"body": "{{token}} {{code}}"}' }, /voice\.en\.json: "body" has unknown placeholder \{\{code\}\}/],
    ['body without the token', { 'sms.en.json': '{"body": "Valid {{minutes}} min"}' }, /sms\.en\.json: "body" must contain \{\{token\}\}/],
    ['unknown channel', { 'push.en.json': '{"body": "{{token}}"}' }, /push\.en\.json: unknown channel "push"/],
    ['name without a locale', { 'sms.json': '{"body": "{{token}}"}' }, /sms\.json: the name must be <channel>\.<locale>\.json/],
    ['bad locale', { 'sms.e$.json': '{"body": "{{token}}"}' }, /sms\.e\$\.json: "e\$" is not a locale tag/],
  ];
  for (const [what, files, message] of broken) {
    it(`rejects ${what}, naming the file`, async () => {
      await assert.rejects(loadOnly(files), (err) => err instanceof Error && message.test(err.message) && err.message.includes(dir));
    });
  }

  it('rejects a directory that cannot be read', async () => {
    await assert.rejects(loadTemplates(join(dir, 'missing')), /templates: cannot read directory .*missing/);
  });
});

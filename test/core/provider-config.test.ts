// Defends the rules of provider configuration as pure decisions: what an enabled method cannot work
// without (Duo's key lengths as its libraries require them), which hosts may be entered, that leaving out
// `enabled` never enables a method, how secrets are masked (a short secret shows no character at all), and
// that a masked echo keeps the stored secret only for the same host.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyConfigInput,
  joinSecrets,
  mask,
  publicView,
  splitSecrets,
  unconfiguredView,
  type ProviderConfig,
  type ProviderConfigInput,
  type ProviderMethod,
} from '../../src/methods/provider-config.js';

const NOW = 1_700_000_000_000;
const IKEY = 'DI' + 'X'.repeat(18);
const SKEY = 's'.repeat(39) + 'Z';
const AKEY = 'a'.repeat(39) + 'Q';
const duo: ProviderConfigInput = {
  enabled: true,
  host: 'api-123456.duosecurity.com',
  accessKey: AKEY,
  identityAttribute: 'email',
  configProperties: { ikey: IKEY, skey: SKEY },
};
const okta: ProviderConfigInput = { enabled: true, host: 'example.okta.com', accessKey: 'okta-token', identityAttribute: 'login' };
const rsa: ProviderConfigInput = { enabled: true, host: 'rsa.example.com', accessKey: 'rsa-key', configProperties: { clientId: 'agent' } };

function accepted(method: ProviderMethod, input: ProviderConfigInput, existing?: ProviderConfig, allowPrivateHosts = false): ProviderConfig {
  const result = applyConfigInput(method, input, existing, NOW, { allowPrivateHosts });
  if (Array.isArray(result)) assert.fail(`refused: ${result.join('; ')}`);
  return result;
}

function refusal(method: ProviderMethod, input: ProviderConfigInput, existing?: ProviderConfig, allowPrivateHosts = false): string[] {
  const result = applyConfigInput(method, input, existing, NOW, { allowPrivateHosts });
  assert.ok(Array.isArray(result), 'expected a refusal');
  return result;
}

describe('masking', () => {
  it('shows the first and last character of a secret of four characters or more', () => {
    assert.equal(mask('abcd'), 'a******d');
    assert.equal(mask(SKEY), 's******Z');
  });

  it('shows no character of a secret shorter than four (two of three would be most of it)', () => {
    for (const secret of ['', 'a', 'ab', 'abc']) assert.equal(mask(secret), '******');
  });

  it('the public view masks every secret and nothing else', () => {
    const view = publicView(accepted('duo-web', duo));
    assert.deepEqual(view, {
      mfaMethod: 'duo-web',
      enabled: true,
      host: 'api-123456.duosecurity.com',
      accessKey: 'a******Q',
      identityAttribute: 'email',
      configProperties: { ikey: IKEY, skey: 's******Z' },
    });
    assert.equal(publicView(accepted('okta-verify', okta)).configProperties, undefined, 'Okta has no configProperties in the spec');
  });

  it('shows a secret property that is not text as given, not as a garbled mask', () => {
    const odd = accepted('duo-web', { host: 'api-1.duosecurity.com', configProperties: { skey: 42 } });
    assert.deepEqual(publicView(odd)['configProperties'], { skey: 42 });
  });

  it('an unconfigured method is shown disabled and empty', () => {
    assert.deepEqual(unconfiguredView('rsa'), { mfaMethod: 'rsa', enabled: false, host: null, accessKey: null, identityAttribute: null, configProperties: {} });
  });
});

describe('enabling', () => {
  it('a PUT that leaves out `enabled` does not enable the method, and then needs none of its fields', () => {
    const config = accepted('duo-web', { host: 'api-1.duosecurity.com' });
    assert.equal(config.enabled, false);
    assert.equal(accepted('rsa', {}).enabled, false);
  });

  it('an enabled method needs a host', () => {
    for (const [method, input] of [['duo-web', duo], ['okta-verify', okta], ['rsa', rsa]] as const) {
      assert.ok(accepted(method, input).enabled);
      assert.ok(refusal(method, { ...input, host: null }).some((p) => p.startsWith('host: required')), method);
      assert.ok(refusal(method, { ...input, host: '   ' }).some((p) => p.startsWith('host: required')), method);
    }
  });

  it('Duo needs an integration key of exactly 20 characters and a secret key of exactly 40', () => {
    for (const ikey of [IKEY.slice(1), IKEY + 'X', undefined]) {
      assert.deepEqual(refusal('duo-web', { ...duo, configProperties: { ikey, skey: SKEY } }), ['configProperties.ikey: the integration key must be 20 characters']);
    }
    for (const skey of [SKEY.slice(1), SKEY + 'x', 42]) {
      assert.deepEqual(refusal('duo-web', { ...duo, configProperties: { ikey: IKEY, skey } }), ['configProperties.skey: the secret key must be 40 characters']);
    }
  });

  it('Duo needs an application key of at least 40 characters and the attribute holding the Duo username', () => {
    assert.deepEqual(refusal('duo-web', { ...duo, accessKey: AKEY.slice(1) }), ['accessKey: the application key must be at least 40 characters']);
    assert.deepEqual(refusal('duo-web', { ...duo, accessKey: null }), ['accessKey: the application key must be at least 40 characters']);
    assert.equal(accepted('duo-web', { ...duo, accessKey: AKEY + 'longer' }).accessKey, AKEY + 'longer');
    assert.deepEqual(refusal('duo-web', { ...duo, identityAttribute: ' ' }), ['identityAttribute: required (the attribute holding the Duo username)']);
  });

  it('Okta needs its API token and the attribute holding the login', () => {
    assert.deepEqual(refusal('okta-verify', { ...okta, accessKey: '' }), ['accessKey: the Okta API token is required']);
    assert.deepEqual(refusal('okta-verify', { ...okta, identityAttribute: null }), ['identityAttribute: required (the attribute holding the Okta login)']);
  });

  it('a required property must be text: a number or a list of the right length is not a key', () => {
    assert.deepEqual(refusal('rsa', { ...rsa, configProperties: { clientId: 5 } }), [
      'configProperties.clientId: required (the application or agent name RSA knows)',
    ]);
    assert.deepEqual(refusal('duo-web', { ...duo, configProperties: { ikey: Array(20).fill('D'), skey: SKEY } }), [
      'configProperties.ikey: the integration key must be 20 characters',
    ]);
  });

  it('RSA needs its client key and the client id RSA knows', () => {
    assert.deepEqual(refusal('rsa', { ...rsa, accessKey: null }), ['accessKey: the RSA Authentication API client key is required']);
    assert.deepEqual(refusal('rsa', { ...rsa, configProperties: { clientId: '' } }), [
      'configProperties.clientId: required (the application or agent name RSA knows)',
    ]);
  });

  it('a mfaMethod other than the path is refused; left out or null it is the path', () => {
    assert.deepEqual(refusal('rsa', { ...rsa, mfaMethod: 'duo-web' }), ['mfaMethod: must be rsa or left out, got duo-web']);
    assert.equal(accepted('rsa', { ...rsa, mfaMethod: null }).method, 'rsa');
    assert.equal(accepted('rsa', { ...rsa, mfaMethod: 'rsa' }).method, 'rsa');
  });

  it('keeps what was given, trimmed, and stamps the time', () => {
    const config = accepted('okta-verify', { ...okta, host: '  example.okta.com ', identityAttribute: ' login ' });
    assert.deepEqual(config, {
      method: 'okta-verify',
      enabled: true,
      host: 'example.okta.com',
      accessKey: 'okta-token',
      identityAttribute: 'login',
      configProperties: {},
      updatedAt: NOW,
    });
  });
});

describe('hosts', () => {
  it('accepts a host name, with a port, or an https URL', () => {
    for (const host of ['api-1.duosecurity.com', 'api-1.duosecurity.com:8443', 'https://api-1.duosecurity.com', 'https://api-1.duosecurity.com/base']) {
      assert.equal(accepted('rsa', { ...rsa, host }).host, host);
    }
  });

  it('refuses anything else that might hide another destination, whole strings only', () => {
    const invalid = 'host: must be a host name, optionally with a port, or an https URL';
    for (const host of ['user@api.example.com', 'api.example.com/path', 'api.example.com:123456', 'api example.com', 'https://', '/api.example.com', 'x:https://api.example.com']) {
      assert.deepEqual(refusal('rsa', { ...rsa, host }), [invalid], host);
    }
  });

  it('refuses plain http and addresses that are not public unless private hosts are allowed', () => {
    for (const host of ['http://rsa.example.com', '127.0.0.1', '10.1.2.3:443', '[::1]', 'https://169.254.169.254']) {
      const problems = refusal('rsa', { ...rsa, host });
      assert.equal(problems.length, 1, host);
      assert.match(problems[0]!, /^host: .*MFA_ALLOW_PRIVATE_PROVIDER_HOSTS=true/, host);
      assert.equal(accepted('rsa', { ...rsa, host }, undefined, true).host, host);
    }
    assert.match(refusal('rsa', { ...rsa, host: 'ftp://rsa.example.com' }, undefined, true)[0]!, /^host: only https is allowed, not ftp/);
  });

  it('checks the host of a disabled method too', () => {
    assert.equal(refusal('rsa', { host: '127.0.0.1' }).length, 1);
  });
});

describe('masked secrets sent back', () => {
  const stored = accepted('duo-web', duo);
  const echoed = { ...duo, accessKey: mask(AKEY), configProperties: { ikey: IKEY, skey: mask(SKEY) } };

  it('keep the stored secrets when the host is the same, written alike', () => {
    for (const host of [duo.host, 'API-123456.DuoSecurity.com', ' api-123456.duosecurity.com ']) {
      const config = accepted('duo-web', { ...echoed, host }, stored);
      assert.equal(config.accessKey, AKEY);
      assert.equal(config.configProperties['skey'], SKEY);
    }
  });

  it('trailing slashes and case do not make a URL host another destination', () => {
    const urlStored = accepted('duo-web', { ...duo, host: 'https://api-123456.duosecurity.com' });
    assert.equal(accepted('duo-web', { ...echoed, host: 'https://API-123456.duosecurity.com//' }, urlStored).accessKey, AKEY);
  });

  it('are refused when no host was stored: a secret is kept only for the host it was entered for', () => {
    const hostless = accepted('duo-web', { accessKey: AKEY });
    assert.equal(hostless.host, null);
    assert.match(refusal('duo-web', { accessKey: mask(AKEY) }, hostless)[0]!, /^accessKey: the host changed/);
  });

  it('are refused, each named, when the host changes', () => {
    const problems = refusal('duo-web', { ...echoed, host: 'api-999999.duosecurity.com' }, stored).filter((p) => p.includes('host changed'));
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^accessKey: the host changed/);
    assert.match(problems[1]!, /^configProperties\.skey: the host changed/);
  });

  it('a value that is not the exact mask of the stored secret is a new secret', () => {
    const fresh = 'n'.repeat(40);
    const config = accepted('duo-web', { ...duo, accessKey: fresh, configProperties: { ikey: IKEY, skey: 'x******Z'.padEnd(40, 'y') } }, stored);
    assert.equal(config.accessKey, fresh);
    assert.equal(config.configProperties['skey'], 'x******Z'.padEnd(40, 'y'));
  });

  it('with nothing stored, a mask is taken as given (and fails the length rules)', () => {
    assert.deepEqual(refusal('duo-web', echoed), [
      'configProperties.skey: the secret key must be 40 characters',
      'accessKey: the application key must be at least 40 characters',
    ]);
  });
});

describe('sealing split', () => {
  it('takes the access key and secret properties out, and puts them back', () => {
    const config = accepted('duo-web', duo);
    const { secrets, properties } = splitSecrets(config);
    assert.deepEqual(secrets, { accessKey: AKEY, skey: SKEY });
    assert.deepEqual(properties, { ikey: IKEY });
    const { accessKey: _a, configProperties: _p, ...base } = config;
    assert.deepEqual(joinSecrets(base, secrets, properties), config);
    assert.deepEqual(splitSecrets({ ...config, method: 'rsa', accessKey: null }).secrets, {});
  });
});

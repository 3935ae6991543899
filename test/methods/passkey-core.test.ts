// The passkey method's decisions: which relying party the public URL gives (WebAuthn refuses IP
// addresses), where a hosted verification may send a person back to (an open redirect otherwise), when a
// signature counter shows a copied key, and what a passkey may be called.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, ConfigError } from '../../src/config.js';
import {
  allowedReturnUrl,
  cleanName,
  decideSignCount,
  defaultName,
  relyingParty,
  returnUrlProblems,
  returnUrlWithRequestId,
} from '../../src/methods/passkey/core.js';

describe('relying party', () => {
  it('serves a loopback IP public URL as localhost, the only way passkeys work in development', () => {
    for (const publicUrl of ['http://127.0.0.1:8080', 'http://127.0.0.5:8080', 'http://[::1]:8080']) {
      const { party, problems, warnings } = relyingParty({ publicUrlSet: true, publicUrl, rpId: undefined, extraOrigins: [] });
      assert.deepEqual(party, { rpId: 'localhost', pageBase: 'http://localhost:8080', pageOrigin: 'http://localhost:8080', origins: ['http://localhost:8080'] }, publicUrl);
      assert.deepEqual([problems, warnings], [[], []]);
    }
  });

  it('without MFA_PUBLIC_URL (development), claims localhost on the port, whatever MFA_HOST listens on', () => {
    const { party, warnings } = relyingParty({ publicUrlSet: false, publicUrl: 'http://0.0.0.0:9000', rpId: undefined, extraOrigins: [] });
    assert.deepEqual([party.rpId, party.pageBase], ['localhost', 'http://localhost:9000']);
    assert.deepEqual(warnings, []);
    assert.equal(loadConfig({ MFA_HOST: '192.0.2.1', MFA_PORT: '9000' }).passkey.pageBase, 'http://localhost:9000');
    assert.deepEqual(loadConfig({ MFA_HOST: '192.0.2.1' }).warnings, []);
  });

  it('takes the host of a named public URL, keeping its path for the pages', () => {
    const { party, warnings } = relyingParty({ publicUrlSet: true, publicUrl: 'https://MFA.example.com/mfa', rpId: undefined, extraOrigins: [] });
    assert.deepEqual(party, { rpId: 'mfa.example.com', pageBase: 'https://mfa.example.com/mfa', pageOrigin: 'https://mfa.example.com', origins: ['https://mfa.example.com'] });
    assert.deepEqual(warnings, []);
  });

  it('warns, without refusing, when passkeys cannot work: another IP address, or plain http on a name', () => {
    assert.match(relyingParty({ publicUrlSet: true, publicUrl: 'http://10.1.2.3:8080', rpId: undefined, extraOrigins: [] }).warnings.join(), /IP address 10\.1\.2\.3: passkeys need a domain name/);
    assert.match(relyingParty({ publicUrlSet: true, publicUrl: 'https://[2001:db8::1]', rpId: undefined, extraOrigins: [] }).warnings.join(), /IP address/);
    assert.match(relyingParty({ publicUrlSet: true, publicUrl: 'http://mfa.internal', rpId: undefined, extraOrigins: [] }).warnings.join(), /only on https pages/);
    assert.deepEqual(relyingParty({ publicUrlSet: true, publicUrl: 'http://mfa.localhost:9000', rpId: undefined, extraOrigins: [] }).warnings, []);
  });

  it('accepts a parent domain as relying party id, and origins of applications under it', () => {
    const { party, problems } = relyingParty({ publicUrlSet: true, publicUrl: 'https://mfa.example.com', rpId: 'Example.com', extraOrigins: ['https://app.example.com', 'https://example.com:8443/', 'https://app.example.com'] });
    assert.deepEqual(problems, []);
    assert.equal(party.rpId, 'example.com');
    assert.deepEqual(party.origins, ['https://mfa.example.com', 'https://app.example.com', 'https://example.com:8443']);
  });

  it('refuses a relying party id the pages are not under, an IP address, and origins browsers would refuse', () => {
    const problems = (rpId: string | undefined, extraOrigins: string[] = []) =>
      relyingParty({ publicUrlSet: true, publicUrl: 'https://mfa.example.com', rpId, extraOrigins }).problems.map((p) => `${p.variable}: ${p.message}`);
    assert.match(problems('other.com').join(), /MFA_PASSKEY_RP_ID: must be the host of MFA_PUBLIC_URL/);
    assert.match(problems('ample.com').join(), /MFA_PASSKEY_RP_ID/, 'a suffix that is not a parent domain');
    assert.match(problems('10.0.0.1').join(), /MFA_PASSKEY_RP_ID: must be a domain name/);
    assert.match(problems(undefined, ['https://evil.com']).join(), /MFA_PASSKEY_ORIGINS: "https:\/\/evil.com" is not on mfa.example.com/);
    assert.match(problems(undefined, ['https://notmfa.example.com']).join(), /MFA_PASSKEY_ORIGINS/);
    assert.match(problems('example.com', ['https://app.example.com/login']).join(), /must be an origin/);
    assert.match(problems('example.com', ['ftp://app.example.com']).join(), /must be an origin/);
    assert.match(problems('example.com', ['not a url']).join(), /is not a URL/);
  });

  it('stops start-up naming the setting, through the configuration', () => {
    assert.throws(
      () => loadConfig({ MFA_PUBLIC_URL: 'https://mfa.example.com', MFA_PASSKEY_RP_ID: 'other.com', MFA_PASSKEY_RETURN_URLS: 'javascript:alert(1)' }),
      (err: unknown) => err instanceof ConfigError && err.problems.map((p) => p.variable).sort().join() === 'MFA_PASSKEY_RETURN_URLS,MFA_PASSKEY_RP_ID',
    );
    const config = loadConfig({ MFA_PASSKEY_RETURN_URLS: ' https://app.example.com/back , https://other.example.com/ ', MFA_PASSKEY_USER_VERIFICATION: 'preferred' });
    assert.deepEqual(config.passkey.returnUrls, ['https://app.example.com/back', 'https://other.example.com/']);
    assert.equal(config.passkey.userVerification, 'preferred');
    assert.equal(config.passkey.rpId, 'localhost');
  });
});

describe('return URLs', () => {
  const LIST = ['https://app.example.com/back', 'https://shop.example.com/'];

  it('admits URLs of an entry\'s origin at or below its path, with any query', () => {
    for (const url of ['https://app.example.com/back', 'https://app.example.com/back/done?x=1', 'https://shop.example.com/', 'https://shop.example.com/cart?y=2']) {
      assert.equal(allowedReturnUrl(LIST, url)?.toString(), new URL(url).toString(), url);
    }
  });

  it('refuses everything else: other hosts, ports and schemes, sibling paths, credentials, fragments, non-URLs', () => {
    for (const url of [
      'https://evil.example.com/back',
      'https://app.example.com.evil.com/back',
      'https://app.example.com@evil.com/back',
      'https://user:pw@app.example.com/back',
      'http://app.example.com/back',
      'https://app.example.com:8443/back',
      'https://app.example.com/backdoor',
      'https://app.example.com/',
      'https://app.example.com/back#x',
      'javascript:alert(1)//https://app.example.com/back',
      '//app.example.com/back',
      '/back',
      'not a url',
    ]) {
      assert.equal(allowedReturnUrl(LIST, url), undefined, url);
    }
    assert.equal(allowedReturnUrl([], 'https://app.example.com/back'), undefined, 'an empty list admits nothing');
  });

  it('adds the request id, keeping the query the application gave', () => {
    assert.equal(returnUrlWithRequestId(new URL('https://app.example.com/back?order=42&requestId=forged'), 'abc'), 'https://app.example.com/back?order=42&requestId=abc');
  });

  it('refuses allow-list entries that are not plain http(s) URLs', () => {
    assert.deepEqual(returnUrlProblems(['https://app.example.com/back', 'http://localhost:3000/']), []);
    for (const entry of ['javascript:alert(1)', 'https://u:p@app.example.com/', 'https://app.example.com/#x', 'app.example.com/back']) {
      assert.equal(returnUrlProblems([entry]).length, 1, entry);
    }
  });
});

describe('signature counter', () => {
  it('accepts a counter that moved forward, and authenticators that keep none (0 and 0)', () => {
    assert.equal(decideSignCount(0, 0), 'accept');
    assert.equal(decideSignCount(0, 1), 'accept');
    assert.equal(decideSignCount(41, 42), 'accept');
  });

  it('refuses one that stood still or went back: two copies of the key are in use', () => {
    assert.equal(decideSignCount(42, 42), 'cloned');
    assert.equal(decideSignCount(42, 7), 'cloned');
    assert.equal(decideSignCount(5, 0), 'cloned');
  });
});

describe('passkey names', () => {
  it('trims and collapses spaces, and keeps letters of any script and emoji', () => {
    assert.equal(cleanName('  Work   laptop '), 'Work laptop');
    assert.equal(cleanName('Téléphone de Zoë 👩‍💻'), 'Téléphone de Zoë 👩‍💻');
  });

  it('refuses empty, overlong, control characters and direction overrides', () => {
    for (const name of ['', '   ', 'x'.repeat(65), 'a\u0000b', 'a\u0007b', 'abc\u202Egnp.exe']) {
      assert.equal(cleanName(name), undefined, JSON.stringify(name));
    }
    assert.equal(cleanName('x'.repeat(64)), 'x'.repeat(64));
  });

  it('names an unnamed passkey after the ones there are', () => {
    assert.equal(defaultName([]), 'Passkey 1');
    assert.equal(defaultName(['Laptop']), 'Passkey 2');
    assert.equal(defaultName(['Passkey 2', 'Laptop']), 'Passkey 3');
    assert.equal(defaultName(['Passkey 2']), 'Passkey 3');
  });
});

// Defends Duo Web v2 compatibility and response forgery: every case of the published vectors (Duo's own
// test suites plus derived cases, in test/fixtures/), with the clock pinned as each vector says.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  SIGN_ERRORS,
  isSignError,
  signRequest,
  signVals,
  verifyEnrollResponse,
  verifyResponse,
  verifyResponseDetailed,
} from '../../src/core/duo-web.js';

interface Keys {
  ikey: string;
  skey: string;
  akey: string;
}
interface VerifyCase extends Keys {
  description?: string;
  source: string;
  now: number;
  sig_response: string;
  expected_user: string | null;
}

const vectors = JSON.parse(readFileSync(new URL('../fixtures/duo_web_v2_vectors.json', import.meta.url), 'utf8')) as {
  constants: Record<string, string | number>;
  official_fixed_strings: Record<string, { value: string; decoded_cookie: string | null; signed_with: string | null }>;
  error_strings: { python_and_java: Record<string, string>; node: Record<string, string> };
  sign_request_cases: Array<Keys & { source: string; username: string; expected?: string; expected_error?: string }>;
  sign_request_deterministic: Array<Keys & { source: string; time: number; username: string; expected: string; tx_cookie_decoded?: string; app_cookie_decoded?: string }>;
  verify_response_cases: VerifyCase[];
  verify_response_expiry_boundary: VerifyCase[];
  round_trip: { sign_time: number; sig_request: string; simulated_duo_auth: string; sig_response: string; checks: Array<{ now: number; expected_user: string | null }> };
  verify_enroll_response_cases: VerifyCase[];
  deterministic_app_halves: Record<string, string>;
};

const C = vectors.constants as { IKEY: string; SKEY: string; AKEY: string; USER: string; INVALID_AKEY_python_php_java: string; INVALID_AKEY_node: string };
const FIXED_NOW = 1700000000;
const decode = (part: string) => Buffer.from(part.split('|')[1] ?? '', 'base64').toString('utf8');

describe('Duo Web v2: sign_request', () => {
  it('answers the error strings of duo_python / duo_java, word for word', () => {
    assert.deepEqual({ ...SIGN_ERRORS }, Object.fromEntries(Object.entries(vectors.error_strings.python_and_java).filter(([k]) => k in SIGN_ERRORS)));
  });

  for (const [i, c] of vectors.sign_request_cases.entries()) {
    it(`case ${i} (${c.source}): user ${JSON.stringify(c.username)} → ${c.expected_error ?? 'a request'}`, () => {
      const signed = signRequest(c.ikey, c.skey, c.akey, c.username, FIXED_NOW);
      if (c.expected_error) {
        assert.equal(signed, vectors.error_strings.python_and_java[c.expected_error]);
        assert.ok(isSignError(signed));
        return;
      }
      assert.ok(!isSignError(signed));
      const [tx, app, ...rest] = signed.split(':');
      assert.equal(rest.length, 0);
      assert.match(tx!, /^TX\|[A-Za-z0-9+/=]+\|[0-9a-f]{40}$/);
      assert.match(app!, /^APP\|[A-Za-z0-9+/=]+\|[0-9a-f]{40}$/);
      assert.equal(decode(tx!), `${c.username}|${c.ikey}|${FIXED_NOW + 300}`);
      assert.equal(decode(app!), `${c.username}|${c.ikey}|${FIXED_NOW + 3600}`);
    });
  }

  for (const c of vectors.sign_request_deterministic) {
    it(`deterministic at time ${c.time} (${c.source})`, () => {
      const signed = signRequest(c.ikey, c.skey, c.akey, c.username, c.time);
      assert.equal(signed, c.expected);
      const [tx, app] = signed.split(':');
      if (c.tx_cookie_decoded) assert.equal(decode(tx!), c.tx_cookie_decoded);
      if (c.app_cookie_decoded) assert.equal(decode(app!), c.app_cookie_decoded);
    });
  }
});

describe('Duo Web v2: verify_response', () => {
  for (const [i, c] of vectors.verify_response_cases.entries()) {
    it(`case ${i}: ${c.description} → ${c.expected_user ?? 'rejected'}`, () => {
      assert.equal(verifyResponse(c.ikey, c.skey, c.akey, c.sig_response, c.now), c.expected_user);
    });
  }

  for (const c of vectors.verify_response_expiry_boundary) {
    it(`expiry boundary: ${c.description}`, () => {
      assert.equal(verifyResponse(c.ikey, c.skey, c.akey, c.sig_response, c.now), c.expected_user);
    });
  }

  describe('round trip (Duo simulated by an AUTH part signed with the skey)', () => {
    const rt = vectors.round_trip;
    it('sign_request at the sign time gives the recorded request', () => {
      assert.equal(signRequest(C.IKEY, C.SKEY, C.AKEY, C.USER, rt.sign_time), rt.sig_request);
    });
    it('the simulated AUTH part is the TX cookie re-signed as AUTH with the skey', () => {
      assert.equal(signVals(C.SKEY, C.USER, C.IKEY, 'AUTH', 300, rt.sign_time), rt.simulated_duo_auth);
      assert.equal(`${rt.simulated_duo_auth}:${rt.sig_request.split(':')[1]}`, rt.sig_response);
    });
    for (const check of rt.checks) {
      it(`at ${check.now} → ${check.expected_user ?? 'rejected'}`, () => {
        assert.equal(verifyResponse(C.IKEY, C.SKEY, C.AKEY, rt.sig_response, check.now), check.expected_user);
      });
    }
    it('reports the earlier expiry of the two parts', () => {
      assert.deepEqual(verifyResponseDetailed(C.IKEY, C.SKEY, C.AKEY, rt.sig_response, rt.sign_time), { user: C.USER, expiresAtSeconds: rt.sign_time + 300 });
    });
  });

  describe('verify_enroll_response', () => {
    for (const [i, c] of vectors.verify_enroll_response_cases.entries()) {
      it(`case ${i} (${c.source}) → ${c.expected_user ?? 'rejected'}`, () => {
        assert.equal(verifyEnrollResponse(c.ikey, c.skey, c.akey, c.sig_response, c.now), c.expected_user);
      });
    }
  });
});

describe('Duo Web v2: the official fixed strings and APP halves', () => {
  const keyOf = (name: string | null): string => (name === 'SKEY' ? C.SKEY : C.AKEY);

  for (const [name, s] of Object.entries(vectors.official_fixed_strings)) {
    it(`${name}: decodes and is signed as the vectors say`, () => {
      const [prefix, b64, sig] = s.value.split('|') as [string, string, string];
      if (s.decoded_cookie === null) {
        assert.equal(prefix, 'AUTH');
        return;
      }
      assert.equal(Buffer.from(b64, 'base64').toString('utf8'), s.decoded_cookie);
      const [user, ikey, exp] = s.decoded_cookie.split('|') as [string, string, string];
      // Re-signing the cookie with the named key reproduces the signature (the 3-field ones exactly via signVals).
      if (s.decoded_cookie.split('|').length === 3) {
        assert.equal(signVals(keyOf(s.signed_with), user, ikey, prefix, Number(exp) - FIXED_NOW, FIXED_NOW), s.value);
      } else {
        assert.match(sig, /^[0-9a-f]{40}$/);
      }
    });
  }

  it('FUTURE_RESPONSE with the valid APP half verifies as testuser; with the invalid-akey APP halves it does not', () => {
    const future = vectors.official_fixed_strings['FUTURE_RESPONSE']!.value;
    const apps = vectors.deterministic_app_halves;
    assert.equal(verifyResponse(C.IKEY, C.SKEY, C.AKEY, `${future}:${apps['VALID_APP']}`, FIXED_NOW), C.USER);
    assert.equal(verifyResponse(C.IKEY, C.SKEY, C.AKEY, `${future}:${apps['INVALID_APP_python_php_java']}`, FIXED_NOW), null);
    assert.equal(verifyResponse(C.IKEY, C.SKEY, C.AKEY, `${future}:${apps['INVALID_APP_node']}`, FIXED_NOW), null);
    assert.equal(verifyResponse(C.IKEY, C.SKEY, C.AKEY, `${apps['OTHERUSER_AUTH']}:${apps['OTHERUSER_APP']}`, FIXED_NOW), 'otheruser');
  });

  it('the invalid-akey APP halves are the valid cookie signed with the vectors\' invalid akeys', () => {
    const apps = vectors.deterministic_app_halves;
    const exp = 2247140921;
    assert.equal(signVals(C.INVALID_AKEY_python_php_java, C.USER, C.IKEY, 'APP', exp - FIXED_NOW, FIXED_NOW), apps['INVALID_APP_python_php_java']);
    assert.equal(signVals(C.INVALID_AKEY_node, C.USER, C.IKEY, 'APP', exp - FIXED_NOW, FIXED_NOW), apps['INVALID_APP_node']);
    assert.equal(signVals(C.AKEY, C.USER, C.IKEY, 'APP', exp - FIXED_NOW, FIXED_NOW), apps['VALID_APP']);
  });
});

describe('Duo Web v2: inputs Duo never sends do not throw', () => {
  const valid = `${vectors.official_fixed_strings['FUTURE_RESPONSE']!.value}:${vectors.deterministic_app_halves['VALID_APP']}`;
  for (const input of ['', ':', '::', '|||:|||', 'AUTH||:APP||', '\u0000', 'é:ü', valid.toUpperCase(), valid + ' ', ` ${valid}`, 'x'.repeat(100_000)]) {
    it(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
      assert.equal(verifyResponse(C.IKEY, C.SKEY, C.AKEY, input, FIXED_NOW), null);
    });
  }

  it('a signed cookie with a non-numeric expiry is rejected (node\'s parseInt would have let NaN through)', () => {
    const b64 = Buffer.from(`${C.USER}|${C.IKEY}|soon`).toString('base64');
    const sign = (key: string, prefix: string) => `${prefix}|${b64}|${createHmac('sha1', key).update(`${prefix}|${b64}`).digest('hex')}`;
    assert.equal(verifyResponse(C.IKEY, C.SKEY, C.AKEY, `${sign(C.SKEY, 'AUTH')}:${sign(C.AKEY, 'APP')}`, FIXED_NOW), null);
  });
});

describe('Duo Web v2: signed cookies Duo never makes are still refused', () => {
  // Each part below is signed with the right key, so only the cookie's content decides.
  const part = (key: string, prefix: string, cookie: Buffer | string) => {
    const b64 = Buffer.from(cookie).toString('base64');
    return `${prefix}|${b64}|${createHmac('sha1', key).update(`${prefix}|${b64}`).digest('hex')}`;
  };
  const response = (auth: Buffer | string, app: Buffer | string = auth) => `${part(C.SKEY, 'AUTH', auth)}:${part(C.AKEY, 'APP', app)}`;
  const verify = (sigResponse: string, now = FIXED_NOW) => verifyResponseDetailed(C.IKEY, C.SKEY, C.AKEY, sigResponse, now);
  const future = FIXED_NOW + 100;

  it('a well-formed cookie verifies, until one second before its expiry', () => {
    const ok = response(`${C.USER}|${C.IKEY}|${future}`);
    assert.deepEqual(verify(ok), { user: C.USER, expiresAtSeconds: future });
    assert.deepEqual(verify(ok, future - 1), { user: C.USER, expiresAtSeconds: future });
    assert.equal(verify(ok, future), null, 'expired at exactly its expiry');
  });

  it('an expiry that is not wholly digits never verifies (it would otherwise never expire)', () => {
    for (const exp of [`${future}abc`, `abc${future}`, `${future} `, `-${future}`, `${future}.5`, '', '1'.repeat(16)]) {
      assert.equal(verify(response(`${C.USER}|${C.IKEY}|${exp}`)), null, exp);
    }
  });

  it('a cookie that is not valid UTF-8 is refused, not read with replacement characters', () => {
    const invalid = Buffer.concat([Buffer.from('us'), Buffer.from([0xff, 0xfe]), Buffer.from(`er|${C.IKEY}|${future}`)]);
    assert.equal(verify(response(invalid)), null);
    const valid = Buffer.from(`usér|${C.IKEY}|${future}`, 'utf8');
    assert.equal(verify(response(valid))?.user, 'usér');
  });

  it('a cookie of other than three fields is refused', () => {
    assert.equal(verify(response(`${C.USER}|${C.IKEY}|${future}|extra`)), null);
    assert.equal(verify(response(`${C.USER}|${C.IKEY}`)), null);
  });

  it('a cookie naming nobody verifies nobody', () => {
    assert.equal(verify(response(`|${C.IKEY}|${future}`)), null);
  });

  it('a cookie for another integration key is refused', () => {
    assert.equal(verify(response(`${C.USER}|${'DI' + 'Y'.repeat(18)}|${future}`)), null);
  });

  it('the two halves must name the same user', () => {
    assert.equal(verify(response(`alice|${C.IKEY}|${future}`, `bob|${C.IKEY}|${future}`)), null);
  });

  it('a response reports the earlier expiry of its halves, and fails when either half expired', () => {
    const early = response(`${C.USER}|${C.IKEY}|${future}`, `${C.USER}|${C.IKEY}|${future + 50}`);
    assert.equal(verify(early)?.expiresAtSeconds, future);
    const appFirst = response(`${C.USER}|${C.IKEY}|${future + 50}`, `${C.USER}|${C.IKEY}|${future}`);
    assert.equal(verify(appFirst)?.expiresAtSeconds, future);
    assert.equal(verify(appFirst, future), null);
  });

  it('each half must carry its own prefix: AUTH for verify, ENROLL for enrolment, APP for ours', () => {
    const cookie = `${C.USER}|${C.IKEY}|${future}`;
    const enroll = `${part(C.SKEY, 'ENROLL', cookie)}:${part(C.AKEY, 'APP', cookie)}`;
    assert.equal(verifyResponse(C.IKEY, C.SKEY, C.AKEY, enroll, FIXED_NOW), null);
    assert.equal(verifyEnrollResponse(C.IKEY, C.SKEY, C.AKEY, enroll, FIXED_NOW), C.USER);
    assert.equal(verifyEnrollResponse(C.IKEY, C.SKEY, C.AKEY, response(cookie), FIXED_NOW), null);
    assert.equal(verify(`${part(C.SKEY, 'AUTH', cookie)}:${part(C.AKEY, 'AUTH', cookie)}`), null);
    assert.equal(verify(`${part(C.SKEY, 'TX', cookie)}:${part(C.AKEY, 'APP', cookie)}`), null);
  });
});

// Defends against timing attacks on secret comparisons: a comparison that stops at the first differing
// byte tells an attacker, by its time, how much of a guess was right. No functional test sees timing, so
// this is a static check (scripts/check-constant-time.ts) over src/, and a check of the check.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { checkSource, checkTree, REQUIRED_USES } from '../../scripts/check-constant-time.js';

const problems = (line: string, file = 'src/x.ts') => checkSource(file, line).map((f) => f.problem);

describe('constant-time comparison of secrets', () => {
  it('src/ compares no secret with ===, !== or equals, and keeps every known constant-time comparison', () => {
    const findings = checkTree(fileURLToPath(new URL('../..', import.meta.url)));
    assert.deepEqual(findings.map((f) => `${f.file}:${f.line}: ${f.problem}`), []);
  });

  it('refuses === and !== between values named as secrets, hashes, signatures or tokens', () => {
    for (const line of [
      'if (guess.guessHash === v.secretHash) {',
      'const matches = digest(clientSecret) === client?.secretHash;',
      'if (uSig !== expected) return null;',
      'return token === stored;',
      'if (provided !== this.apiKey) throw new Error();',
      'const ok = (signature === expectedSignature);',
      'if (answer_hash !== candidate) return;',
      'if (x === deps.hmacKey) {}',
    ]) {
      assert.equal(problems(line).length, 1, line);
    }
  });

  it('refuses equals and Buffer.compare on secrets, and timingSafeEqual outside the one helper', () => {
    assert.equal(problems('if (Buffer.from(a).equals(secretHash)) {}').length, 1);
    assert.equal(problems('if (Buffer.compare(signature, expected) === 0) {}').length, 1);
    assert.equal(problems("import { timingSafeEqual } from 'node:crypto';", 'src/services/kba.ts').length, 1);
    assert.deepEqual(problems("import { timingSafeEqual } from 'node:crypto';", 'src/core/secrets.ts'), []);
  });

  it('allows comparisons with literals, null and undefined, typeof, lengths, ids, types and constants', () => {
    for (const line of [
      "if (token === '') return;",
      'return storedHash !== undefined && matches;',
      'if (config.accessKey === null) {}',
      "if (typeof secret === 'string') {}",
      'if (skey.length !== SKEY_LENGTH) return SIGN_ERRORS.ERR_SKEY;',
      'if (subjectTokenType !== IDENTITY_ALIAS_TOKEN_TYPE) {}',
      'if (signing.kid !== this.signing?.kid) {}',
      'if (tokenId === request.id) {}',
      'if (value === mask(secret)) {}',
      '// if (secret === guess) is what we must not write',
      ' * compare `secret === guess` never',
    ]) {
      assert.deepEqual(problems(line), [], line);
    }
  });

  it('notices a known constant-time comparison rewritten without constantTimeEqual', () => {
    for (const file of Object.keys(REQUIRED_USES)) {
      assert.equal(problems('const same = a === b;', file).length, 1, file);
      assert.deepEqual(problems('const same = constantTimeEqual(a, b);', file), [], file);
    }
  });
});

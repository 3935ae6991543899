// The console operators' pure decisions: who may change, which emails are kept, what the audit trail
// names, and the enrolment link's token, hash and place.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  cleanOperatorEmail,
  enrolmentHash,
  enrolmentLink,
  isEnrolmentTokenShape,
  isOperatorActor,
  isOperatorRole,
  newEnrolmentToken,
  operatorActor,
  roleMayChange,
} from '../../src/core/operator.js';

it('only an admin may change; viewer and admin are the roles', () => {
  assert.equal(roleMayChange('admin'), true);
  assert.equal(roleMayChange('viewer'), false);
  assert.deepEqual(['admin', 'viewer', 'root', '', undefined].map(isOperatorRole), [true, true, false, false, false]);
});

it('an operator email is trimmed, lower-cased, and one address only', () => {
  assert.equal(cleanOperatorEmail('  Ops@Example.COM '), 'ops@example.com');
  for (const bad of ['ops', 'ops@', '@example.com', 'a@b', 'a b@example.com', 'a@example.com, b@example.com', '<a@example.com>', `${'a'.repeat(250)}@example.com`]) {
    assert.equal(cleanOperatorEmail(bad), undefined, bad);
  }
});

it('the audit trail names an operator as operator:<email>, told apart from the command line\u2019s plain operator', () => {
  assert.equal(operatorActor('ops@example.com'), 'operator:ops@example.com');
  assert.equal(isOperatorActor('operator:ops@example.com'), true);
  assert.equal(isOperatorActor('operator'), false);
  assert.equal(isOperatorActor('3fa85f64'), false);
});

it('an enrolment token is 256 random bits in the link\u2019s fragment, kept as a keyed hash', () => {
  const token = newEnrolmentToken(() => Buffer.alloc(32, 7));
  assert.equal(token, Buffer.alloc(32, 7).toString('base64url'));
  assert.equal(isEnrolmentTokenShape(token), true);
  assert.equal(isEnrolmentTokenShape(`${token}x`), false);
  assert.equal(isEnrolmentTokenShape(42), false);
  assert.equal(enrolmentLink('https://mfa.example.com/', token), `https://mfa.example.com/console/enrol#${token}`);
  const key = Buffer.alloc(32, 1);
  assert.notEqual(enrolmentHash(key, token), token);
  assert.equal(enrolmentHash(key, token), enrolmentHash(key, token));
  assert.notEqual(enrolmentHash(Buffer.alloc(32, 2), token), enrolmentHash(key, token));
});

// Defends the RSA SecurID decisions (src/core/rsa.ts): a push is SUCCESS only on RSA's SUCCESS, a
// step-up RSA asks for is never taken as success, and failures do not say whether the person exists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RSA_ERROR_FAILED,
  RSA_ERROR_STEP_UP,
  decodePushState,
  encodePushState,
  rsaInitializeOutcome,
  rsaMethodOffered,
  rsaPushStatus,
  rsaReferenceId,
  rsaSubjectName,
  rsaTokencodeStatus,
  type RsaAuthnResponse,
} from '../../src/core/rsa.js';

const answer = (code: string, extra: Partial<RsaAuthnResponse> = {}): RsaAuthnResponse => ({ context: {}, attemptResponseCode: code, ...extra });
const challenge = (methods: Array<{ methodId: string; notApplicable?: boolean; referenceId?: string }>): RsaAuthnResponse['challengeMethods'] => ({
  challenges: [
    {
      requiredMethods: methods.map((m) => ({
        methodId: m.methodId,
        versions: [{ ...(m.referenceId ? { referenceId: m.referenceId } : {}), methodAttributes: m.notApplicable ? [{ name: 'METHOD_NOT_APPLICABLE' }] : [] }],
      })),
    },
  ],
});

describe('rsa core', () => {
  it('maps push answers as NOTES §3 suggests', () => {
    assert.deepEqual(rsaPushStatus(answer('IN_PROCESS')), { status: 'PENDING', error: null });
    assert.deepEqual(rsaPushStatus(answer('CHALLENGE')), { status: 'PENDING', error: null });
    assert.deepEqual(rsaPushStatus(answer('SUCCESS')), { status: 'SUCCESS', error: null });
    assert.deepEqual(rsaPushStatus(answer('FAIL')), { status: 'FAILED', error: RSA_ERROR_FAILED });
    const error = rsaPushStatus(answer('ERROR', { attemptReasonCode: 'AUTHN_ATTEMPT_EXPIRED' }));
    assert.equal(error.status, 'FAILED');
    assert.match(error.error ?? '', /AUTHN_ATTEMPT_EXPIRED/);
    assert.equal(rsaPushStatus(answer('SOMETHING_NEW')).status, 'FAILED');
  });

  it('never takes a step-up challenge after an approved push as success', () => {
    const stepUp = answer('CHALLENGE', { credentialValidationResults: [{ methodId: 'APPROVE', methodResponseCode: 'SUCCESS' }] });
    assert.deepEqual(rsaPushStatus(stepUp), { status: 'FAILED', error: RSA_ERROR_STEP_UP });
  });

  it('decides a tokencode at once: only SUCCESS succeeds', () => {
    assert.equal(rsaTokencodeStatus(answer('SUCCESS')).status, 'SUCCESS');
    for (const code of ['FAIL', 'CHALLENGE', 'IN_PROCESS', 'ERROR']) assert.equal(rsaTokencodeStatus(answer(code)).status, 'FAILED', code);
  });

  it('goes on after an initialize CHALLENGE and stops on FAIL or ERROR', () => {
    assert.equal(rsaInitializeOutcome(answer('CHALLENGE')), undefined);
    assert.deepEqual(rsaInitializeOutcome(answer('FAIL', { attemptReasonCode: 'USER_NOT_FOUND' })), { status: 'FAILED', error: RSA_ERROR_FAILED });
    assert.equal(rsaInitializeOutcome(answer('ERROR'))?.status, 'FAILED');
  });

  it('reads which methods are offered and the push referenceId', () => {
    const offered = answer('CHALLENGE', { challengeMethods: challenge([{ methodId: 'SECURID' }, { methodId: 'APPROVE', notApplicable: true }]) });
    assert.equal(rsaMethodOffered(offered, 'SECURID'), true);
    assert.equal(rsaMethodOffered(offered, 'APPROVE'), false);
    assert.equal(rsaMethodOffered(answer('CHALLENGE'), 'APPROVE'), true, 'no list: let verify decide');
    const pending = answer('IN_PROCESS', { challengeMethods: challenge([{ methodId: 'APPROVE', referenceId: 'ref-1' }]) });
    assert.equal(rsaReferenceId(pending), 'ref-1');
    assert.equal(rsaReferenceId(answer('IN_PROCESS')), null);
  });

  it('takes the subject from the configured attribute, or the alias', () => {
    assert.equal(rsaSubjectName('ann', { rsaUser: 'ann@corp' }, null), 'ann');
    assert.equal(rsaSubjectName('ann', { rsaUser: 'ann@corp' }, 'rsaUser'), 'ann@corp');
    assert.equal(rsaSubjectName('ann', {}, 'rsaUser'), undefined);
  });

  it('round-trips the push state and refuses anything else', () => {
    const state = { authnAttemptId: 'a', messageId: 'm', referenceId: null };
    assert.deepEqual(decodePushState(encodePushState(state)), state);
    assert.equal(decodePushState('not json'), undefined);
    assert.equal(decodePushState('{"authnAttemptId":1}'), undefined);
    assert.equal(decodePushState(undefined), undefined);
  });
});
